"""The server clock: deterministic, advancing one second per write or mutation.

``live=True`` (the ``demo-api`` command's default) follows the real time instead, so records written now are
stamped now and an incremental flow whose window ends at the real time (``flow run``) finds them. Stamps have
whole-second resolution, so a live stamp is the real time rounded *up*: never before the moment of the write
(a window that ended just before it cannot contain it), at most one second after it; writes in the same second
share a stamp. Tests keep the deterministic clock; the generated data ends at ``CLOCK_START`` either way.
"""

from __future__ import annotations

import math
import threading
import time

from .timeutil import CLOCK_START, format_ts


class ServerClock:
    def __init__(self, start: int = CLOCK_START, *, live: bool = False) -> None:
        self._start = start
        self._now = start
        self._live = live
        self._lock = threading.Lock()

    def now(self) -> int:
        return max(self._now, math.ceil(time.time())) if self._live else self._now

    def now_iso(self) -> str:
        return format_ts(self._now)

    def tick(self) -> int:
        """The current time, for stamping one write; then advance the clock by one second."""
        with self._lock:
            t = self.now()
            self._now = t if self._live else t + 1
            return t

    def set(self, epoch: int) -> None:
        with self._lock:
            self._now = epoch

    def reset(self) -> None:
        self.set(self._start)
