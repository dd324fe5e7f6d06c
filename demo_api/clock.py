"""The server clock: deterministic, advancing one second per write or mutation."""

from __future__ import annotations

import threading

from .timeutil import CLOCK_START, format_ts


class ServerClock:
    def __init__(self, start: int = CLOCK_START) -> None:
        self._start = start
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> int:
        return self._now

    def now_iso(self) -> str:
        return format_ts(self._now)

    def tick(self) -> int:
        """The current time, for stamping one write; then advance the clock by one second."""
        with self._lock:
            t = self._now
            self._now += 1
            return t

    def set(self, epoch: int) -> None:
        with self._lock:
            self._now = epoch

    def reset(self) -> None:
        self.set(self._start)
