"""The arithmetic of the shared bucket, kept pure so it is tested without a table.

The shared state of one quota is a single number, the *theoretical arrival time* (TAT) of the generic cell rate
algorithm: the wall-clock time at which the bucket would be full again. Taking ``n`` tokens moves it forward by
``n / rate``; the tokens may be spent once the TAT is at most ``capacity / rate`` ahead of now. This is exactly a
token bucket of ``capacity`` tokens refilled at ``rate`` per second, but stored as one number that DynamoDB can
advance atomically (``SET tat = tat + :d``) without reading it first.

Reserving ahead: when the bucket is empty, a lease still advances the TAT (so the caller holds a place in line)
and says when its tokens become usable; callers queue in the order their leases land, not in a thundering herd.
A reservation is refused when its tokens would only be usable beyond the caller's horizon (its deadline).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Grant:
    """``tokens`` that may be spent from ``usable_at`` (wall-clock seconds) on."""

    tokens: int
    usable_at: float


@dataclass(frozen=True)
class Refusal:
    """No tokens: the earliest a lease of this size could be usable is ``wait_s`` from now, past the horizon."""

    wait_s: float


def advance(tat: float | None, now: float, tokens: int, rate: float) -> float:
    """The TAT after taking ``tokens``: an idle bucket (TAT in the past or absent) starts from now."""
    start = now if tat is None or tat < now else tat
    return start + tokens / rate


def usable_at(new_tat: float, now: float, rate: float, capacity: float) -> float:
    """When tokens that moved the TAT to ``new_tat`` may be spent: once it is within ``capacity / rate`` of now."""
    return max(now, new_tat - capacity / rate)


def latest_tat(now: float, tokens: int, rate: float, capacity: float, horizon_s: float) -> float:
    """The largest current TAT for which a lease of ``tokens`` is usable within ``horizon_s``."""
    return now + capacity / rate + max(0.0, horizon_s) - tokens / rate


def reserve(
    tat: float | None, now: float, tokens: int, rate: float, capacity: float, horizon_s: float
) -> tuple[float, Grant] | Refusal:
    """Take ``tokens`` from the bucket whose TAT is ``tat``: the new TAT and the grant, or why not."""
    new_tat = advance(tat, now, tokens, rate)
    when = usable_at(new_tat, now, rate, capacity)
    if when - now > max(0.0, horizon_s):
        return Refusal(when - now)
    return new_tat, Grant(tokens, when)


def lease_size(rate: float, burst: int) -> int:
    """Tokens per lease: a quarter second of the quota, at most a quarter of the burst, at least one.

    Larger leases cost fewer table calls; smaller ones keep a process from holding tokens it spends late
    (a held token spent late is a burst the API sees). At 10 requests/s and a burst of 10 that is 2 tokens,
    half a table call per request; at 100/s and 100, 25 tokens (one call per 25 requests)."""
    return max(1, min(int(rate / 4 + 0.999), burst // 4))
