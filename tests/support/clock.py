"""A clock whose sleeps advance time instantly, so retry and rate-limit tests run in microseconds."""

from __future__ import annotations


class FakeClock:
    def __init__(self, start: float = 1_700_000_000.0, jitter: float = 1.0) -> None:
        self.now = start
        self.mono = 0.0
        self.sleeps: list[float] = []
        self.jitter = jitter

    def monotonic(self) -> float:
        return self.mono

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.mono += max(0.0, seconds)
        self.now += max(0.0, seconds)

    def random(self) -> float:
        return self.jitter
