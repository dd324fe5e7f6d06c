"""ISO-8601 durations limited to what split windows need: ``PnW``, ``PnD``, ``PTnH``, ``PTnM``, ``PTnS``."""

from __future__ import annotations

import datetime as dt
import re

_DURATION = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


class DurationError(ValueError):
    pass


def parse_duration(text: str) -> dt.timedelta:
    m = _DURATION.match(text.strip().upper())
    if not m or not any(m.groups()) or text.strip().upper().endswith("T"):
        raise DurationError(f"expected an ISO-8601 duration such as P30D or PT6H, got {text!r}")
    weeks, days, hours, minutes, seconds = (int(g) if g else 0 for g in m.groups())
    delta = dt.timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    if delta <= dt.timedelta(0):
        raise DurationError(f"duration must be positive, got {text!r}")
    return delta
