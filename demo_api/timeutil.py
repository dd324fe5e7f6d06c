"""Timestamp and date formatting/parsing. Internally instants are integer (or float) Unix seconds."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from email.utils import formatdate
from functools import lru_cache

DATA_START = 1_609_459_200  # 2021-01-01T00:00:00Z: earliest generated timestamp
DATA_END = 1_751_327_999  # 2025-06-30T23:59:59Z: latest generated timestamp
CLOCK_START = 1_751_328_000  # 2025-07-01T00:00:00Z: the server clock at start-up

_TS_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_LOCAL_FORMAT = "%Y-%m-%dT%H:%M:%S"


def format_ts(epoch: int) -> str:
    """``1751328000`` -> ``'2025-07-01T00:00:00Z'``."""
    return time.strftime(_TS_FORMAT, time.gmtime(epoch))


def format_ts_offset(epoch: int, offset_minutes: int) -> str:
    """The same instant rendered in a fixed UTC offset, e.g. ``'2024-03-01T14:00:00+02:00'``."""
    if offset_minutes == 0:
        return format_ts(epoch)
    sign = "+" if offset_minutes > 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    local = time.strftime(_LOCAL_FORMAT, time.gmtime(epoch + offset_minutes * 60))
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


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def http_date(epoch: float) -> str:
    """RFC 9110 IMF-fixdate, e.g. ``'Tue, 01 Jul 2025 00:00:00 GMT'``."""
    return formatdate(epoch, usegmt=True)
