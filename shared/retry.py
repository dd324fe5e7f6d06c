"""Which failures are retried and how long to wait: exponential backoff with full jitter, Retry-After
honoured, capped and jittered. Hand-written because the wait must also fit the Lambda's remaining time.

``Retry-After`` is a minimum, not an appointment: every process told "1" waiting exactly 1 s would come back at
the same instant and be throttled together again. So the wait is the hint plus a random part of up to half of it
(at least 0.1 s, at most 5 s).
"""

from __future__ import annotations

import datetime as dt
import math
from email.utils import parsedate_to_datetime

from shared.clock import Clock
from shared.spec.model import RetrySpec

JITTER_FRACTION = 0.5
JITTER_FLOOR_S = 0.1
JITTER_CEILING_S = 5.0


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

    def wait(self, attempt: int, retry_after: str | None = None, *, throttled: bool = False) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based).

        ``throttled`` (a 429 without a usable ``Retry-After``): half the ceiling plus a random half, so a storm of
        429s is always backed off from (full jitter may draw ~0 again and again, hammering a throttling API)."""
        hinted = parse_retry_after(retry_after, self.clock.time())
        if hinted is not None:
            hinted = min(hinted, self.spec.retry_after_cap_s)
            return hinted + self.clock.random() * retry_after_jitter(hinted)
        ceiling = min(self.spec.max_delay_s, self.spec.base_delay_s * (2 ** (attempt - 1)))
        if throttled:
            return ceiling * (0.5 + 0.5 * self.clock.random())
        return self.clock.random() * ceiling

    def should_retry_status(self, status: int) -> bool:
        return status in self.spec.on_status


def retry_after_jitter(hinted: float) -> float:
    """The span of the random part added to a ``Retry-After`` of ``hinted`` seconds."""
    return min(JITTER_CEILING_S, max(JITTER_FLOOR_S, hinted * JITTER_FRACTION))
