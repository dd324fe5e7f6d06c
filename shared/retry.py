"""Which failures are retried and how long to wait: exponential backoff with full jitter, Retry-After
honoured and capped. Hand-written because the wait must also fit the Lambda's remaining time.
"""

from __future__ import annotations

import datetime as dt
import math
from email.utils import parsedate_to_datetime

from shared.clock import Clock
from shared.spec.model import RetrySpec


def parse_retry_after(value: str | None, now: float) -> float | None:
    """``Retry-After`` as delta-seconds or an HTTP-date -> seconds to wait (None when absent or garbage)."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = when.timestamp() - now
    if math.isnan(seconds):
        return None
    return max(0.0, seconds)


class Backoff:
    """Wait times for successive attempts under one :class:`RetrySpec`."""

    def __init__(self, spec: RetrySpec, clock: Clock) -> None:
        self.spec = spec
        self.clock = clock

    def wait(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        hinted = parse_retry_after(retry_after, self.clock.time())
        if hinted is not None:
            return min(hinted, self.spec.retry_after_cap_s)
        ceiling = min(self.spec.max_delay_s, self.spec.base_delay_s * (2 ** (attempt - 1)))
        return self.clock.random() * ceiling

    def should_retry_status(self, status: int) -> bool:
        return status in self.spec.on_status
