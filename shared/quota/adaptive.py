"""Each process's own pace under a quota: additive increase, multiplicative decrease (AIMD), like TCP.

The spec's rate is the ceiling. A 429 or 503 halves this process's rate (at most once per :data:`CALM_S`, so one
burst of 429s counts once); each success adds back a twentieth of the ceiling. With the shared bucket the API
should rarely throttle, and this only corrects for what the bucket cannot see (other clients of the same
credential, an API stricter than its documented quota). Without it (no table, or the table unreachable), this is
what keeps N processes near the quota: each backs off until together they stop being throttled.

A ``Retry-After`` pauses every request of this process to that API, not only the one that was answered 429.
"""

from __future__ import annotations

import threading

from shared.clock import Clock
from shared.ratelimit import TokenBucket

DECREASE = 0.5
INCREASE = 1 / 20  # of the ceiling, per successful request
CALM_S = 1.0
FLOOR_FRACTION = 1 / 64
MIN_RATE = 0.01


class AdaptiveLimiter:
    def __init__(self, rate_per_s: float, burst: int, clock: Clock) -> None:
        self.ceiling = rate_per_s
        self.burst = burst
        self.floor = min(rate_per_s, max(MIN_RATE, rate_per_s * FLOOR_FRACTION))
        self.rate = rate_per_s
        self.clock = clock
        self.bucket = TokenBucket(rate_per_s, burst, clock)
        self.decreases = 0
        self._paused_until = 0.0
        self._calm_until = -1.0
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take one token of this process's current rate; return the wait before sending (pauses included)."""
        wait = self.bucket.reserve()
        with self._lock:
            paused = self._paused_until - self.clock.monotonic()
        return max(wait, paused, 0.0)

    def on_success(self) -> None:
        with self._lock:
            if self.rate >= self.ceiling:
                return
            self._set(min(self.ceiling, self.rate + self.ceiling * INCREASE))

    def on_throttle(self, pause_s: float | None = None) -> None:
        """The API said slow down: lower the rate (once per calm period) and pause for ``pause_s`` if given."""
        with self._lock:
            now = self.clock.monotonic()
            if pause_s:
                self._paused_until = max(self._paused_until, now + pause_s)
            if now < self._calm_until:
                return
            self._calm_until = now + max(CALM_S, 1.0 / self.rate)
            self.decreases += 1
            self._set(max(self.floor, self.rate * DECREASE))

    def _set(self, rate: float) -> None:
        self.rate = rate
        self.bucket.set_rate(rate, self.burst * rate / self.ceiling)
