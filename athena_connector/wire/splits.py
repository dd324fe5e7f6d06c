"""Splits and where their data may be spilled: S3SpillLocation, EncryptionKey, Split.

A split's properties are opaque to Athena and come back verbatim in ReadRecordsRequest; its spill location
is unique per split and its key (if any) encrypts every spilled block of that split.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from athena_connector.wire._fields import (
    bool_to_wire,
    decode_b64,
    encode_b64,
    expect_object,
    fail,
    get_bool,
    get_opt_str,
    get_str,
    get_str_map,
    str_map_to_wire,
    str_to_wire,
)

SPILL_LOCATION_TYPE = "S3SpillLocation"  # the only SpillLocation subtype


@dataclass(frozen=True)
class S3SpillLocation:
    """``bucket`` may be None (sent as null when no spill bucket is configured)."""

    bucket: str | None
    key: str
    directory: bool

    def block(self, index: int) -> S3SpillLocation:
        """Location of the ``index``-th spilled block of a split: ``<key>.<index>``, not a directory."""
        if index < 0:
            raise ValueError("block index must be >= 0")
        return S3SpillLocation(self.bucket, f"{self.key}.{index}", False)


@dataclass(frozen=True)
class EncryptionKey:
    """AES-GCM key material. Real keys are 16/32 bytes with a 12-byte nonce; the wire does not check."""

    key: bytes
    nonce: bytes

    def __repr__(self) -> str:  # never print key material into logs
        return f"EncryptionKey(key=<{len(self.key)} bytes>, nonce=<{len(self.nonce)} bytes>)"


@dataclass(frozen=True)
class Split:
    spill_location: S3SpillLocation
    encryption_key: EncryptionKey | None
    properties: Mapping[str, str] = field(default_factory=dict)


def spill_location_from_wire(value: Any, path: str) -> S3SpillLocation:
    obj = expect_object(value, path)
    kind = obj.get("@type", SPILL_LOCATION_TYPE)
    if kind != SPILL_LOCATION_TYPE:
        fail(f"{path}.@type", f"unknown SpillLocation @type {kind!r}")
    return S3SpillLocation(
        bucket=get_opt_str(obj, "bucket", path),
        key=get_str(obj, "key", path),
        directory=get_bool(obj, "directory", path),
    )


def spill_location_to_wire(location: S3SpillLocation, path: str) -> dict[str, Any]:
    if not isinstance(location, S3SpillLocation):
        fail(path, f"expected an S3SpillLocation, got {type(location).__name__}")
    return {
        "@type": SPILL_LOCATION_TYPE,
        "bucket": str_to_wire(location.bucket, f"{path}.bucket", nullable=True),
        "key": str_to_wire(location.key, f"{path}.key"),
        "directory": bool_to_wire(location.directory, f"{path}.directory"),
    }


def encryption_key_from_wire(value: Any, path: str) -> EncryptionKey | None:
    if value is None:
        return None
    obj = expect_object(value, path)
    if "key" not in obj:
        fail(path, "missing required key 'key'")
    if "nonce" not in obj:
        fail(path, "missing required key 'nonce'")
    return EncryptionKey(decode_b64(obj["key"], f"{path}.key"), decode_b64(obj["nonce"], f"{path}.nonce"))


def encryption_key_to_wire(key: EncryptionKey | None, path: str) -> dict[str, str] | None:
    """Written as ``null`` when spill encryption is disabled."""
    if key is None:
        return None
    if not isinstance(key, EncryptionKey):
        fail(path, f"expected an EncryptionKey or None, got {type(key).__name__}")
    for name in ("key", "nonce"):
        if not isinstance(getattr(key, name), bytes | bytearray):
            fail(f"{path}.{name}", "expected bytes")
    return {"key": encode_b64(bytes(key.key)), "nonce": encode_b64(bytes(key.nonce))}


def split_from_wire(value: Any, path: str) -> Split:
    obj = expect_object(value, path)
    if "spillLocation" not in obj:
        fail(path, "missing required key 'spillLocation'")
    return Split(
        spill_location=spill_location_from_wire(obj["spillLocation"], f"{path}.spillLocation"),
        encryption_key=encryption_key_from_wire(obj.get("encryptionKey"), f"{path}.encryptionKey"),
        properties=get_str_map(obj, "properties", path, {}),
    )


def split_to_wire(split: Split, path: str) -> dict[str, Any]:
    if not isinstance(split, Split):
        fail(path, f"expected a Split, got {type(split).__name__}")
    return {
        "spillLocation": spill_location_to_wire(split.spill_location, f"{path}.spillLocation"),
        "encryptionKey": encryption_key_to_wire(split.encryption_key, f"{path}.encryptionKey"),
        "properties": str_map_to_wire(split.properties, f"{path}.properties"),
    }
