"""Timestamp and date formatting/parsing. Internally instants are integer (or float) Unix seconds."""

from __future__ import annotations

from datetime import UTC, date, datetime
from email.utils import formatdate
from functools import lru_cache

DATA_START = 1_609_459_200  # 2021-01-01T00:00:00Z: earliest generated timestamp
DATA_END = 1_751_327_999  # 2025-06-30T23:59:59Z: latest generated timestamp
CLOCK_START = 1_751_328_000  # 2025-07-01T00:00:00Z: the server clock at start-up


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_DAY_PREFIX: dict[int, str] = {}  # day number -> "YYYY-MM-DDT" (a few thousand entries at most)
_HH_MM = [f"{h:02d}:{m:02d}:" for h in range(24) for m in range(60)]
_SS_Z = [f"{s:02d}Z" for s in range(60)]


def format_ts(epoch: int) -> str:
    """``1751328000`` -> ``'2025-07-01T00:00:00Z'`` (hot path: twice per generated record)."""
    day, secs = divmod(int(epoch), 86400)
    prefix = _DAY_PREFIX.get(day)
    if prefix is None:
        if len(_DAY_PREFIX) > 100_000:
            _DAY_PREFIX.clear()
        prefix = _DAY_PREFIX[day] = date.fromordinal(_EPOCH_ORDINAL + day).isoformat() + "T"
    minutes, secs = divmod(secs, 60)
    return prefix + _HH_MM[minutes] + _SS_Z[secs]


def format_ts_offset(epoch: int, offset_minutes: int) -> str:
    """The same instant rendered in a fixed UTC offset, e.g. ``'2024-03-01T14:00:00+02:00'``."""
    if offset_minutes == 0:
        return format_ts(epoch)
    sign = "+" if offset_minutes > 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    local = format_ts(epoch + offset_minutes * 60)[:-1]
    return f"{local}{sign}{hours:02d}:{minutes:02d}"


@lru_cache(maxsize=65536)
def parse_ts(text: str) -> float:
    """Parse an ISO-8601 timestamp (``Z``, ``±HH:MM`` or naive = UTC) or a bare date to Unix seconds.

    A ``+`` that arrived as a space (unencoded in a query string) is accepted too.
    Raises ValueError on anything else.
    """
    s = text.strip()
    if len(s) > 19 and s[-6] == " " and s[-3] == ":":
        s = s[:-6] + "+" + s[-5:]
    if not s or not s[0].isdigit():
        raise ValueError(f"not an ISO-8601 timestamp: {text!r}")
    dt = datetime.fromisoformat(s)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def parse_date(text: str) -> str:
    """Validate ``YYYY-MM-DD`` and return it normalised; raises ValueError otherwise."""
    s = text.strip()
    if len(s) != 10:
        raise ValueError(f"not a YYYY-MM-DD date: {text!r}")
    return date.fromisoformat(s).isoformat()


def date_from_ordinal(ordinal: int) -> str:
    return date.fromordinal(ordinal).isoformat()


def date_of(epoch: int) -> int:
    """The proleptic Gregorian ordinal of the UTC date containing ``epoch``."""
    return _EPOCH_ORDINAL + epoch // 86400


def http_date(epoch: float) -> str:
    """RFC 9110 IMF-fixdate, e.g. ``'Tue, 01 Jul 2025 00:00:00 GMT'``."""
    return formatdate(epoch, usegmt=True)
