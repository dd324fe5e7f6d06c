"""A quota in front of any WSGI API, as a SaaS provider enforces it: a token bucket per API (not per client),
429 when it is empty, and a log of when every request arrived so tests can count requests per second.

``retry_after`` picks how the 429 says when to come back: ``"seconds"`` (``Retry-After: 1``), ``"date"`` (an
HTTP date one second ahead) or ``None`` (no header at all).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any


@dataclass
class QuotaApi:
    app: Any
    rate: float
    burst: int
    latency_s: float = 0.0
    retry_after: str | None = "seconds"
    arrivals: list[float] = field(default_factory=list)
    throttled: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._tokens = float(self.burst)
        self._stamp = time.monotonic()

    def _admit(self) -> bool:
        with self.lock:
            now = time.monotonic()
            self.arrivals.append(time.time())
            self._tokens = min(float(self.burst), self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            self.throttled += 1
            return False

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        admitted = self._admit()
        if self.latency_s:
            time.sleep(self.latency_s)
        if admitted:
            return self.app(environ, start_response)
        headers = [("Content-Type", "application/json")]
        if self.retry_after == "seconds":
            headers.append(("Retry-After", "1"))
        elif self.retry_after == "date":
            headers.append(("Retry-After", formatdate(time.time() + 1, usegmt=True)))
        start_response("429 Too Many Requests", headers)
        return [json.dumps({"message": "rate limit exceeded"}).encode()]

    def per_second(self) -> Counter[int]:
        """Requests that arrived in each whole second of wall-clock time (429s included)."""
        with self.lock:
            return Counter(int(t) for t in self.arrivals)

    def busiest_window(self, window_s: float = 1.0) -> int:
        """The most requests that arrived in any sliding window of ``window_s`` seconds."""
        with self.lock:
            times = sorted(self.arrivals)
        best, start = 0, 0
        for end, t in enumerate(times):
            while t - times[start] >= window_s:
                start += 1
            best = max(best, end - start + 1)
        return best
