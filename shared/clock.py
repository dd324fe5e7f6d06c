"""Time as a dependency, so retries, rate limits and deadlines are tested with a fake clock."""

from __future__ import annotations

import random
import time
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def time(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...

    def random(self) -> float: ...


class SystemClock:
    """The real clock; jitter from an unseeded PRNG (not for secrets)."""

    def __init__(self) -> None:
        self._rng = random.Random()

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def random(self) -> float:
        return self._rng.random()


SYSTEM_CLOCK = SystemClock()
