"""A global token bucket: ``rate`` requests per second with a burst of one second's worth."""

from __future__ import annotations

import threading
import time


class TokenBucket:
    def __init__(self, rate: float | None = None) -> None:
        self._lock = threading.Lock()
        self.rate: float | None = None
        self._tokens = 0.0
        self._stamp = time.monotonic()
        self.configure(rate)

    def configure(self, rate: float | None) -> None:
        """``None`` or ``0`` disables limiting."""
        with self._lock:
            self.rate = rate if rate else None
            self._tokens = max(1.0, rate or 0.0)
            self._stamp = time.monotonic()

    def acquire(self) -> bool:
        """Take one token; False when the caller must be answered 429."""
        with self._lock:
            if self.rate is None:
                return True
            now = time.monotonic()
            capacity = max(1.0, self.rate)
            self._tokens = min(capacity, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False
