"""Opaque, URL-safe resume tokens: where a read stands, so the next Lambda continues exactly there.

A token is base64url of compact JSON. It carries a fingerprint of the query (entity and pushed
parameters), so a token replayed against another query is refused instead of silently misreading.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import zlib
from json.encoder import encode_basestring_ascii
from typing import Any

from shared.errors import InvalidTokenError
from shared.token_checks import check_payload

VERSION = 1
PREFIX = "sc1."
MAX_TOKEN_CHARS = 16_384


def fingerprint(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def state_hash(state: Any) -> str:
    return fingerprint(state)[:8]


_KEY_ENCODER = json.JSONEncoder(separators=(",", ":"), default=str, sort_keys=True)


def key_hash(values: Any) -> str:
    """A short (40-bit) hash of a record's primary key values, for overlap guards.

    Hashes ``json.dumps(values, separators=(",", ":"), default=str, sort_keys=True)``; it runs for every record
    read, so the usual one-integer or one-string key is written directly (the same text) and the encoder is built
    once instead of per call."""
    if type(values) is list and len(values) == 1:
        value = values[0]
        if type(value) is int:
            text = f"[{value}]"
        elif type(value) is str:
            text = f"[{encode_basestring_ascii(value)}]"
        else:
            text = _KEY_ENCODER.encode(values)
    else:
        text = _KEY_ENCODER.encode(values)
    return hashlib.blake2b(text.encode(), digest_size=5).hexdigest()


def encode_token(payload: dict[str, Any]) -> str:
    raw = json.dumps({"v": VERSION, **payload}, separators=(",", ":"), sort_keys=True).encode()
    if len(raw) > 512:
        raw = b"z" + zlib.compress(raw, 6)
    text = PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")
    if len(text) > MAX_TOKEN_CHARS:
        raise InvalidTokenError(f"resume token would be {len(text)} characters (limit {MAX_TOKEN_CHARS})")
    return text


def decode_token(token: str, expected_fingerprint: str) -> dict[str, Any]:
    if not isinstance(token, str) or not token.startswith(PREFIX) or len(token) > MAX_TOKEN_CHARS:
        raise InvalidTokenError("the next token is not one this connector issued")
    body = token[len(PREFIX) :]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        if raw.startswith(b"z"):
            raw = zlib.decompress(raw[1:])
        payload = json.loads(raw)
    except (binascii.Error, ValueError, zlib.error, RecursionError):  # RecursionError: absurdly nested JSON
        raise InvalidTokenError("the next token is corrupt (not decodable)") from None
    if not isinstance(payload, dict) or payload.get("v") != VERSION:
        raise InvalidTokenError("the next token is from an incompatible connector version")
    if payload.get("f") != expected_fingerprint:
        raise InvalidTokenError(
            "the next token belongs to a different query (entity, filters or fields "
            "changed); start the read again without a token"
        )
    check_payload(payload)  # the fingerprint is no secret: forged internals are refused here, by key
    return payload
