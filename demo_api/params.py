"""Query-string parameter parsing; every failure is a 400 naming the parameter."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Collection
from decimal import Decimal, InvalidOperation

from werkzeug.datastructures import MultiDict

from .errors import bad_request
from .timeutil import parse_date, parse_ts

Args = MultiDict[str, str]
_INT = re.compile(r"-?[0-9]{1,18}")


def _raw(args: Args, name: str) -> str | None:
    values = args.getlist(name)
    if not values:
        return None
    if len(values) > 1:
        raise bad_request(name, "given more than once")
    return values[0]


def int_param(args: Args, name: str, default: int | None, lo: int, hi: int | None = None) -> int | None:
    """An int in ``[lo, hi]``; ``default`` when absent."""
    raw = _raw(args, name)
    if raw is None:
        return default
    if not _INT.fullmatch(raw):
        raise bad_request(name, f"expected an integer, got {raw!r}")
    value = int(raw)
    if value < lo or (hi is not None and value > hi):
        bound = f"between {lo} and {hi}" if hi is not None else f">= {lo}"
        raise bad_request(name, f"must be {bound}, got {value}")
    return value


def required_int(args: Args, name: str, default: int, lo: int, hi: int | None = None) -> int:
    value = int_param(args, name, default, lo, hi)
    assert value is not None
    return value


def timestamp_param(args: Args, name: str) -> float | None:
    """ISO-8601 timestamp (``Z``/offset/naive UTC) or date, as Unix seconds."""
    raw = _raw(args, name)
    if raw is None:
        return None
    try:
        return parse_ts(raw)
    except ValueError:
        raise bad_request(name, f"expected an ISO-8601 timestamp, got {raw!r}") from None


def date_param(args: Args, name: str) -> str | None:
    raw = _raw(args, name)
    if raw is None:
        return None
    try:
        return parse_date(raw)
    except ValueError:
        raise bad_request(name, f"expected a YYYY-MM-DD date, got {raw!r}") from None


def decimal_param(args: Args, name: str) -> Decimal | None:
    raw = _raw(args, name)
    if raw is None:
        return None
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise bad_request(name, f"expected a decimal number, got {raw!r}") from None
    if not value.is_finite():
        raise bad_request(name, f"expected a finite decimal number, got {raw!r}")
    return value


def enum_list_param(args: Args, name: str, allowed: Collection[str]) -> frozenset[str] | None:
    """Comma-separated values (the parameter may also repeat).

    A value outside ``allowed`` simply matches nothing, as list filters of most real APIs behave (a SQL
    ``WHERE stage IN ('won', 'closed_won')`` pushed down must not fail because one literal is unknown).
    """
    values = args.getlist(name)
    if not values:
        return None
    chosen = {v.strip() for raw in values for v in raw.split(",")}
    if "" in chosen:
        raise bad_request(name, f"empty value in {name!r}; allowed: {', '.join(allowed)}")
    return frozenset(chosen)


def encode_token(prefix: str, last_id: int) -> str:
    """An opaque cursor / page token carrying the last id returned."""
    return base64.urlsafe_b64encode(f"{prefix}:{last_id}".encode()).decode().rstrip("=")


def token_param(args: Args, name: str, prefix: str) -> int:
    """Decode a token from :func:`encode_token`; absent means "from the start" (0)."""
    raw = _raw(args, name)
    if raw is None or raw == "":
        return 0
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        kind, _, number = text.partition(":")
        last_id = int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise bad_request(name, "malformed or foreign token") from None
    if kind != prefix or last_id < 0:
        raise bad_request(name, "malformed or foreign token")
    return last_id
