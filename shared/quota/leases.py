"""This process's share of a shared quota: tokens leased from the store in small batches, handed out one by one.

One lease serves several requests, so coordination costs a fraction of a table call per request. A token is spent
some time after it becomes usable (the process is busy with the previous page), and a token spent late lands on
top of tokens granted to other processes since: a burst. So a held token is dropped once it is ``hold_s`` late,
and the shared bucket is ``rate x hold_s`` smaller than the burst the API allows. Then, in any window of T seconds,
the requests sent are at most (burst - rate x hold) + rate x (T + hold) = burst + rate x T: the API's own bound.
``hold_s`` is half the burst's worth of time (at most 2 s), so the shared bucket keeps at least half the burst.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

from shared.clock import Clock
from shared.quota.gcra import Grant, Refusal, lease_size

MAX_HOLD_S = 2.0
MAX_AHEAD_S = 30.0  # never reserve a place further ahead than this, whatever the deadline (or none) allows


class LeaseStore(Protocol):
    def connect(self) -> None: ...

    def lease(
        self, key: str, tokens: int, rate: float, capacity: float, now: float, horizon_s: float, hint: float | None
    ) -> tuple[Grant | Refusal, float]: ...


@dataclass(frozen=True)
class Slot:
    """One token: spend it ``wait_s`` from now (0 = now), or, when ``refused``, no token fits the horizon."""

    wait_s: float
    refused: bool = False


class LeasedTokens:
    """Hands out tokens of one quota, leasing a new batch from ``store`` when the held ones run out."""

    def __init__(self, store: LeaseStore, key: str, rate: float, burst: int, clock: Clock) -> None:
        self.store = store
        self.key = key
        self.rate = rate
        self.hold_s = min(MAX_HOLD_S, burst / (2 * rate))
        self.capacity = burst - rate * self.hold_s
        self.batch = lease_size(rate, burst)
        self.clock = clock
        self.leases = 0
        self._held = 0
        self._usable_at = 0.0
        self._tat: float | None = None
        self._lock = threading.Lock()

    def take(self, horizon_s: float) -> Slot:
        """One token usable within ``horizon_s``; a store failure propagates (the caller falls back)."""
        horizon_s = min(horizon_s, MAX_AHEAD_S)
        with self._lock:
            self.store.connect()  # before reading the clock: a slow first connection must not age "now"
            now = self.clock.time()
            if self._held and now > self._usable_at + self.hold_s:
                self._held = 0  # stale: spending it now could burst on top of newer grants
            if not self._held:
                outcome, self._tat = self.store.lease(
                    self.key, self.batch, self.rate, self.capacity, now, horizon_s, self._tat
                )
                self.leases += 1
                if isinstance(outcome, Refusal):
                    return Slot(outcome.wait_s, refused=True)
                self._held, self._usable_at = outcome.tokens, outcome.usable_at
            self._held -= 1
            return Slot(max(0.0, self._usable_at - now))
