"""Request counters for ``GET /_admin/stats`` (admin requests themselves are not counted)."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

MAX_PATHS = 10_000
OTHER_PATHS = "(other paths)"


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_path: Counter[str] = Counter()
        self.by_route: Counter[str] = Counter()
        self.by_status: Counter[str] = Counter()
        self.rate_limited = 0

    def record(self, method: str, path: str, route: str, status: int) -> None:
        with self._lock:
            if path not in self.by_path and len(self.by_path) >= MAX_PATHS:
                path = OTHER_PATHS  # e.g. a benchmark touching every /contacts/{id}: keep memory bounded
            self.by_path[path] += 1
            self.by_route[f"{method} {route}"] += 1
            self.by_status[str(status)] += 1

    def note_rate_limited(self) -> None:
        with self._lock:
            self.rate_limited += 1

    def reset(self) -> None:
        with self._lock:
            self.by_path.clear()
            self.by_route.clear()
            self.by_status.clear()
            self.rate_limited = 0

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests_total": sum(self.by_path.values()),
                "requests": dict(self.by_path),
                "routes": dict(self.by_route),
                "statuses": dict(self.by_status),
                "rate_limited": self.rate_limited,
            }
