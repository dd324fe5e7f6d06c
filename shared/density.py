"""Window sizes estimated from small pages, for APIs that cannot count (an entity without ``count``).

Split sizing (``shared.split_sizing.Sizer``) asks "how many records in ``[low, high)``?". Without a count
declaration this module answers from ordinary list pages filtered to the window, at the read's page size:

1. One page of the window. When the API says it is the last (no next page), its length *is* the count.
2. Otherwise the page's split-field values are a sample of the window: sorted, they propose sub-windows
   ``[low, v_k)`` for k = half, a sixteenth, ... of the page, down to the smallest value. The first sub-window
   whose page is the last one gives an exact count ``c`` over a known width, and the window's estimate is that
   density times the window's width. Records sorted by the field (ids in id order) answer at the first
   sub-window; records in another order (a time field read in id order) a few sub-windows later.
3. An open end (``low`` or ``high`` None) has no width: the data's extent there (the most extreme value
   found) is searched with pages of one record, ``field >= m + w`` (or ``field < m - w``) from the sample's
   extreme ``m``, ``w`` starting at the sample's spread and doubling, then a few halvings. The extent is kept
   for the estimator's later windows (one partition of one query).

When every sub-window is still more than a page, the density is at least a page over the smallest one: that
lower bound is returned, but never under ``target + 1`` (the window is cut and its halves estimated again).
A page holding values outside the window it asked for means the API does not apply the filter: the estimator
then answers None for good (unknown: the Sizer keeps the window as it is, the static hints stand).

Estimates decide sizes only. The Sizer's pieces partition the field's values whatever the numbers, so a wrong
estimate makes a split larger or smaller, never loses or repeats a record.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SUB_WINDOW_SHARES = (2, 16, 128)  # sub-windows at 1/2, 1/16, 1/128 of the sample, then at its smallest value
EXTENT_HALVINGS = 3  # after the doubling search for an open end, narrow it to an eighth of the last step
MAX_EXTENT_STEPS = 64
UNIT = 1.0  # one id, one second, one day: the finest step of an extent search


@dataclass(frozen=True)
class Probe:
    """One page of a window: the split field's values on it (typed, nulls left out) and whether more follow."""

    values: list[Any]
    more: bool


Fetch = Callable[[Any, Any, int], Probe]
"""``fetch(low, high, size)``: the first page (of ``size`` records) of the window ``[low, high)``, None = open."""


def to_number(value: Any) -> float:
    """A split-field value on a line: integers as they are, timestamps in seconds, dates in days."""
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, dt.date):
        return float(value.toordinal())
    return float(value)


def from_number(x: float, like: Any) -> Any:
    """The value of ``like``'s type at ``x`` (rounded up to the type's unit), clamped to what it can hold."""
    if isinstance(like, dt.datetime):
        x = min(max(x, -62135596800.0), 253402300799.0)
        return dt.datetime.fromtimestamp(math.ceil(x), dt.UTC)
    if isinstance(like, dt.date):
        return dt.date.fromordinal(int(min(max(math.ceil(x), 1), dt.date.max.toordinal())))
    return int(min(max(math.ceil(x), -(2**63)), 2**63 - 1))


class DensityEstimator:
    """Estimated record counts of windows of one read (one partition, the query's pushed filters)."""

    def __init__(self, fetch: Fetch, page_size: int, target: int) -> None:
        self.fetch = fetch
        self.page = max(2, page_size)
        self.target = max(1, target)
        self.requests = 0
        self.blind = False  # the API ignores the window's filter: nothing can be estimated
        self._high: tuple[float, float] | None = None  # (largest value found, the window edge used for it)
        self._low: tuple[float, float] | None = None  # (smallest value found, the window edge used for it)

    def count(self, low: Any, high: Any) -> int | None:
        """The records in ``[low, high)``: exact when one page holds them, else an estimate; None if unknown."""
        if self.blind:
            return None
        first = self._fetch(low, high, self.page)
        if first is None:
            return None
        if not first.more:
            return len(first.values)
        values = sorted(first.values)
        if not values:  # a full page without a single value of the field: nothing to measure with
            return None
        spread = max(UNIT, to_number(values[-1]) - to_number(values[0]))  # the first step of an extent search
        lo = to_number(low) if low is not None else self._extent_low(values[0], spread)
        hi = to_number(high) if high is not None else self._extent_high(values[-1], spread)
        if lo is None or hi is None:
            return None
        width = max(hi - lo, 1e-9)
        floor = len(values) + 1  # the page was full and more follow
        tried: float | None = None
        for k in self._sub_window_ranks(len(values)):
            edge = values[k]
            if to_number(edge) <= lo or (tried is not None and to_number(edge) >= tried):
                continue
            tried = to_number(edge)
            probe = self._fetch(low, edge, self.page)
            if probe is None:
                return None
            if not probe.more and probe.values:
                estimate = len(probe.values) * width / max(tried - lo, 1e-9)
                return max(floor, math.ceil(estimate))
        if tried is None:
            return max(floor, self.target + 1)
        return max(floor, self.target + 1, math.ceil(self.page * width / max(tried - lo, 1e-9)))

    def _sub_window_ranks(self, n: int) -> list[int]:
        return sorted({n // share for share in SUB_WINDOW_SHARES} | {0}, reverse=True)

    # -- open ends -----------------------------------------------------------------------------------
    def _extent_high(self, seen: Any, step: float) -> float | None:
        """Just above the largest value found (from ``seen``, a value on the window's first page): the search
        proves nothing lies beyond ``bound``, and its halvings look for values between the two."""
        top = to_number(seen)
        if self._high is not None and self._high[0] >= top:
            return self._high[1]
        bound: float | None = None
        for _ in range(MAX_EXTENT_STEPS):
            probe = self._fetch(from_number(top + step, seen), None, 1)
            if probe is None:
                return None
            if not probe.values:
                bound = top + step
                break
            top = max(top + step, to_number(probe.values[0]))
            step *= 2
        if bound is None:
            return None
        for _ in range(EXTENT_HALVINGS):
            mid = top + (bound - top) / 2
            if mid - top < UNIT:
                break
            probe = self._fetch(from_number(mid, seen), None, 1)
            if probe is None:
                return None
            if probe.values:
                top = max(mid, to_number(probe.values[0]))
            else:
                bound = mid
        self._high = (top, top + UNIT)
        return top + UNIT

    def _extent_low(self, seen: Any, step: float) -> float | None:
        """The smallest value found (from ``seen``, a value on the window's first page); see ``_extent_high``."""
        bottom = to_number(seen)
        if self._low is not None and self._low[0] <= bottom:
            return self._low[1]
        bound: float | None = None
        for _ in range(MAX_EXTENT_STEPS):
            probe = self._fetch(None, from_number(bottom - step, seen), 1)
            if probe is None:
                return None
            if not probe.values:
                bound = bottom - step
                break
            bottom = min(bottom - step, to_number(probe.values[0]))
            step *= 2
        if bound is None:
            return None
        for _ in range(EXTENT_HALVINGS):
            mid = bound + (bottom - bound) / 2
            if bottom - mid < UNIT:
                break
            probe = self._fetch(None, from_number(mid, seen), 1)
            if probe is None:
                return None
            if probe.values:
                bottom = min(mid, to_number(probe.values[0]))
            else:
                bound = mid
        self._low = (bottom, bottom)
        return bottom

    # -- requests ------------------------------------------------------------------------------------
    def _fetch(self, low: Any, high: Any, size: int) -> Probe | None:
        self.requests += 1
        probe = self.fetch(low, high, size)
        lo = None if low is None else to_number(low)
        hi = None if high is None else to_number(high)
        for v in probe.values:
            x = to_number(v)
            if (lo is not None and x < lo) or (hi is not None and x >= hi):
                self.blind = True  # the API sent a record outside the window it was asked for
                return None
        return probe
