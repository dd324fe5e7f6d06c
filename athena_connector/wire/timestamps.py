"""Athena's time encodings inside Arrow data.

* ``timestamp`` is Arrow Date(MILLISECOND) (date64): int64 milliseconds since the epoch, wall clock, no
  zone. pyarrow's ``to_pylist`` truncates date64 to a date, so read the raw int64.
* ``timestamp with time zone`` is Arrow Timestamp(MILLISECOND, tz) whose int64 values are Presto-packed:
  ``(epochMillisUtc << 12) | zoneKey`` with the key from the fixed zone-index table (0 = UTC).
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cache

from athena_connector.wire._zone_index import ZONE_INDEX_TEXT

UTC_KEY = 0
MILLIS_SHIFT = 12
ZONE_MASK = 0xFFF
_MAX_OFFSET_MINUTES = 14 * 60
_EPOCH = dt.datetime(1970, 1, 1)
_EPOCH_UTC = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_UTC_NAMES = frozenset({"utc", "z", "zulu", "ut", "uct", "gmt", "gmt0", "gmt+0", "gmt-0", "greenwich", "universal"})
_OFFSET = re.compile(r"([+-])(\d{1,2})(?::?(\d{2}))?")


@cache
def _named_zones() -> tuple[dict[int, str], dict[str, int]]:
    by_key: dict[int, str] = {}
    for item in ZONE_INDEX_TEXT.split():
        key, zone = item.split("=", 1)
        by_key[int(key)] = zone
    return by_key, {zone.lower(): key for key, zone in by_key.items()}


def offset_key(offset_minutes: int) -> int:
    """Key of a fixed-offset zone: -14:00 is 1, +14:00 is 1680, 00:00 is UTC (0)."""
    if offset_minutes == 0:
        return UTC_KEY
    if not -_MAX_OFFSET_MINUTES <= offset_minutes <= _MAX_OFFSET_MINUTES:
        raise ValueError(f"time zone offset {offset_minutes} minutes is outside -14:00..+14:00")
    return offset_minutes + _MAX_OFFSET_MINUTES + (1 if offset_minutes < 0 else 0)


def _offset_of_key(key: int) -> int | None:
    if 1 <= key <= 2 * _MAX_OFFSET_MINUTES:
        minutes = key - _MAX_OFFSET_MINUTES
        return minutes - 1 if minutes <= 0 else minutes
    return None


def zone_key(zone_id: str) -> int:
    """Zone-index key of a zone id (case-insensitive; UTC aliases, ``+05:30``, ``UTC+5``, ``Etc/GMT-3``)."""
    name = zone_id.strip().lower()
    etc = name.startswith("etc/")
    if etc:
        name = name[4:]
    if name in _UTC_NAMES:
        return UTC_KEY
    named = _named_zones()[1].get(name)
    if named is not None:
        return named
    prefix = next((p for p in ("utc", "gmt", "ut") if name.startswith(p) and len(name) > len(p)), "")
    match = _OFFSET.fullmatch(name[len(prefix) :])
    if match:
        minutes = int(match[2]) * 60 + int(match[3] or 0)
        negative = match[1] == "-"
        if etc and prefix == "gmt":  # POSIX style: Etc/GMT+5 is five hours *behind* UTC
            negative = not negative
        return offset_key(-minutes if negative else minutes)
    raise ValueError(f"time zone {zone_id!r} has no Athena zone key")


def zone_id(key: int) -> str:
    """Canonical zone id of a key: ``UTC``, ``+05:30`` style offsets, or a tz database name."""
    if key == UTC_KEY:
        return "UTC"
    minutes = _offset_of_key(key)
    if minutes is not None:
        sign = "-" if minutes < 0 else "+"
        return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    try:
        return _named_zones()[0][key]
    except KeyError:
        raise ValueError(f"unknown Athena time zone key {key}") from None


def pack(millis_utc: int, key: int) -> int:
    return (millis_utc << MILLIS_SHIFT) | (key & ZONE_MASK)


def unpack(packed: int) -> tuple[int, int]:
    """``(epochMillisUtc, zoneKey)`` of a packed value (arithmetic shift keeps pre-1970 values right)."""
    return packed >> MILLIS_SHIFT, packed & ZONE_MASK


def _tzinfo(key: int) -> dt.tzinfo:
    if key == UTC_KEY:
        return dt.UTC
    minutes = _offset_of_key(key)
    if minutes is not None:
        return dt.timezone(dt.timedelta(minutes=minutes))
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(zone_id(key))
    except (ImportError, KeyError, ValueError, OSError):
        return dt.UTC  # no tz database here: the instant is still right, only the display zone is lost


def packed_to_datetime(packed: int) -> dt.datetime:
    """Aware datetime of a packed TIMESTAMP WITH TIME ZONE value, in its own zone."""
    millis, key = unpack(packed)
    return (_EPOCH_UTC + dt.timedelta(milliseconds=millis)).astimezone(_tzinfo(key))


def datetime_to_packed(value: dt.datetime) -> int:
    """Pack an aware datetime; its zone (ZoneInfo key or fixed offset) becomes the zone key."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("TIMESTAMP WITH TIME ZONE needs an aware datetime")
    millis = (value - _EPOCH_UTC) // dt.timedelta(milliseconds=1)
    name = getattr(value.tzinfo, "key", None)
    if isinstance(name, str):
        return pack(millis, zone_key(name))
    offset = value.utcoffset()
    assert offset is not None
    return pack(millis, offset_key(offset // dt.timedelta(minutes=1)))


def date64_to_datetime(millis: int) -> dt.datetime:
    """Naive datetime (wall clock) of an Athena ``timestamp`` value."""
    return _EPOCH + dt.timedelta(milliseconds=millis)


def datetime_to_date64(value: dt.datetime | dt.date) -> int:
    """Milliseconds since the epoch of a wall-clock value; aware datetimes are taken in UTC."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return (value - _EPOCH) // dt.timedelta(milliseconds=1)
    return (value - _EPOCH.date()).days * 86_400_000
