"""The time left for this invocation, so retries and reads stop in time rather than being killed."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from shared.clock import SYSTEM_CLOCK, Clock


class Deadline:
    """Seconds left, from a Lambda context or an absolute monotonic deadline; ``none()`` never expires."""

    def __init__(self, remaining: Callable[[], float]) -> None:
        self._remaining = remaining

    @classmethod
    def none(cls) -> Deadline:
        return cls(lambda: math.inf)

    @classmethod
    def in_seconds(cls, seconds: float, clock: Clock = SYSTEM_CLOCK) -> Deadline:
        end = clock.monotonic() + seconds
        return cls(lambda: end - clock.monotonic())

    @classmethod
    def from_lambda_context(cls, context: Any, margin_s: float = 0.0) -> Deadline:
        """Use ``context.get_remaining_time_in_millis()`` when present (a real or emulated Lambda)."""
        getter = getattr(context, "get_remaining_time_in_millis", None)
        if getter is None:
            return cls.none()
        return cls(lambda: getter() / 1000.0 - margin_s)

    def remaining(self) -> float:
        return self._remaining()

    def expired(self) -> bool:
        return self._remaining() <= 0

    def later(self, seconds: float) -> Deadline:
        """This deadline moved ``seconds`` later (for a callee that keeps its own reserve of that size)."""
        return Deadline(lambda: self.remaining() + seconds)

    def within(self, seconds: float) -> Deadline:
        """A deadline that ends ``seconds`` from now or at this one, whichever is sooner."""
        other = Deadline.in_seconds(seconds)
        return Deadline(lambda: min(self.remaining(), other.remaining()))
