"""A per-process token bucket: smooths this process's request rate before the API has to answer 429.

The rate may change while it runs (the adaptive limiter in ``shared.quota.adaptive`` lowers and raises it);
the quota shared by every process is kept by ``shared.quota`` (see docs/spec.md).
"""

from __future__ import annotations

import threading

from shared.clock import Clock


class TokenBucket:
    def __init__(self, rate_per_s: float, burst: int, clock: Clock) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate_per_s
        self.capacity = float(burst)
        self.clock = clock
        self._tokens = float(burst)
        self._last = clock.monotonic()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self.clock.monotonic()
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now

    def set_rate(self, rate_per_s: float, capacity: float) -> None:
        """Change the rate and capacity from now on (tokens already earned at the old rate are kept)."""
        with self._lock:
            self._refill()
            self.rate = rate_per_s
            self.capacity = max(1.0, capacity)
            self._tokens = min(self._tokens, self.capacity)

    def reserve(self) -> float:
        """Take one token; return how long the caller must wait before sending (0 when one was free)."""
        with self._lock:
            self._refill()
            self._tokens -= 1.0
            if self._tokens >= 0:
                return 0.0
            return -self._tokens / self.rate

    def acquire(self) -> float:
        """Take one token, sleeping as needed; return the time slept."""
        wait = self.reserve()
        if wait > 0:
            self.clock.sleep(wait)
        return wait
