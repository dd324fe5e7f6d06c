"""Windows sized from the data: the hint's windows cut until the API counts at most a target of records in each.

The static windows of a ``time_window`` / ``id_range`` hint are the starting point. With a count
declaration, the remaining range is counted first (one probe: when it is under the target, the static
windows stand); otherwise each window over the target is cut in two at its midpoint, the left half counted
(the right half's count is the difference), until every piece is under the target or one field value wide.
The open-ended ends are cut too: ``(None, b)`` at ``b - w`` and ``[a, None)`` at ``a + w``, the width ``w``
doubling at each cut, so the search reaches the present data's min or max in a few probes and keeps an
open-ended piece beyond it (records that appear later are still read, by exactly one split).

Cutting only ever inserts edges between consecutive half-open windows, so the pieces partition the field's
values exactly whatever the counts say: counts decide the sizes, never which records a split reads. A count
that is stale by the time a split reads (records inserted meanwhile) only makes that split larger.

Pieces come out in ascending order, so a GetSplits page that stops early (its response is full or its
deadline near) continues from the last piece's upper edge.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from shared.splits import WindowPlan

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
SECOND = dt.timedelta(seconds=1)
DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Piece:
    """One window ``[low, high)`` (None = open-ended) and the records the API counted in it (None = unknown)."""

    low: Any
    high: Any
    count: int | None


def remaining_bounds(plan: WindowPlan, start: Any) -> list[tuple[Any, Any]]:
    """The plan's windows from ``start`` on (the part of the range a continued GetSplits still has to cover)."""
    if start is None:
        return list(plan.bounds)
    out = []
    for a, b in plan.bounds:
        if b is not None and b <= start:
            continue
        out.append((start if a is None or a < start else a, b))
    return out


class Sizer:
    """Cuts a plan's windows (from ``start`` on) into pieces of at most ``target`` counted records.

    ``count(low, high)`` asks the API (None = open end); ``may_probe()`` says whether there is time for
    another probe. When time runs out the pieces stop; ``stopped_at`` is then the edge the next page starts
    from (None when every piece was given). The first piece of a call is always given, unsized if need be,
    so a paged plan always moves forward.
    """

    def __init__(
        self,
        plan: WindowPlan,
        count: Callable[[Any, Any], int] | None,
        target: int,
        may_probe: Callable[[], bool] = lambda: True,
    ) -> None:
        self.plan = plan
        self.count = count
        self.target = max(1, target)
        self.may_probe = may_probe
        self.stopped_at: Any = None
        self.probes = 0

    def pieces(self, start: Any = None) -> Iterator[Piece]:
        bounds = remaining_bounds(self.plan, start)
        if not bounds:
            return
        if self.count is None:
            yield from (Piece(a, b, None) for a, b in bounds)
            return
        given = 0
        whole = self._probe(bounds[0][0], bounds[-1][1]) if self.may_probe() else None
        if whole is not None and whole <= self.target:
            yield from (Piece(a, b, whole if len(bounds) == 1 else None) for a, b in bounds)
            return
        stack: list[tuple[Any, Any, Any, int | None]] = [
            (a, b, self._first_width(a, b), whole if len(bounds) == 1 else None) for a, b in reversed(bounds)
        ]
        while stack:
            a, b, width, known = stack.pop()
            if known is None:
                if given and not self.may_probe():
                    self.stopped_at = a
                    return
                known = self._probe(a, b) if self.may_probe() else None
            if known is None or known <= self.target:
                given += 1
                yield Piece(a, b, known)
                continue
            cut = self._cut(a, b, width)
            if cut is None:  # one value wide (or at the type's limit): an over-target piece, said by its count
                given += 1
                yield Piece(a, b, known)
                continue
            mid, left_width, right_width = cut
            if given and not self.may_probe():
                self.stopped_at = a
                return
            left = self._probe(a, mid) if self.may_probe() else None
            right = None if left is None else max(0, known - left)
            stack.append((mid, b, right_width, right))
            stack.append((a, mid, left_width, left))

    def _first_width(self, a: Any, b: Any) -> Any:
        """The width of the first cut in a window. The open-ended tail is cut with doubling widths; a GetSplits
        page that resumes inside it goes on doubling from what the pages before it covered (the distance from
        the plan's last edge, or its anchor), so a tail far beyond the data takes a logarithmic number of pages."""
        step = self.plan.step
        last_edge = self.plan.bounds[-1][0] if self.plan.bounds else None
        if last_edge is None:  # one window over everything: the first cut was at the anchor
            last_edge = self.plan.anchor
        if b is None and a is not None and last_edge is not None and a > last_edge:
            try:
                return max(step, a - last_edge)
            except TypeError:  # a date bound against a datetime edge: keep the plan's step
                return step
        return step

    def _probe(self, low: Any, high: Any) -> int:
        assert self.count is not None
        self.probes += 1
        return self.count(low, high)

    # -- where to cut ------------------------------------------------------------------------------
    def _cut(self, a: Any, b: Any, width: Any) -> tuple[Any, Any, Any] | None:
        """(cut point, width for the left piece, width for the right piece), or None when it cannot be cut."""
        lo = a if a is not None else self._query_low()
        hi = b if b is not None else self._query_high()
        try:
            if lo is not None and hi is not None:
                mid, left, right = self._midpoint(lo, hi), width, width
            elif lo is None and hi is None:
                mid = self.plan.anchor if self.plan.anchor is not None else self._zero()
                left = right = width
            elif lo is None:  # (None, hi): the lowest records are further down
                mid, left, right = self._clamp(hi - width), width * 2, width
            else:  # [lo, None): the newest records are further up
                mid, left, right = self._clamp(lo + width), width, width * 2
        except (OverflowError, ValueError):
            return None
        if mid is None or (a is not None and mid <= a) or (b is not None and mid >= b):
            return None
        return mid, left, right

    def _query_low(self) -> Any:
        return _as_kind(self.plan.low, self.plan.field_kind)

    def _query_high(self) -> Any:
        high = _as_kind(self.plan.high, self.plan.field_kind)
        if high is None:
            return None
        return high + (1 if isinstance(high, int) else SECOND if isinstance(high, dt.datetime) else DAY)

    def _midpoint(self, lo: Any, hi: Any) -> Any:
        if isinstance(lo, int):
            mid = lo + (hi - lo) // 2
        elif isinstance(lo, dt.datetime):
            mid = lo + (hi - lo) / 2
            mid = mid.replace(microsecond=0)  # whole seconds: APIs filter timestamps to the second
        else:
            mid = lo + dt.timedelta(days=(hi - lo).days // 2)
        return mid if lo < mid < hi else None

    def _zero(self) -> Any:
        kind = self.plan.field_kind
        if kind == "timestamp":
            return dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        if kind == "date":
            return dt.date(1970, 1, 1)
        return 0

    def _clamp(self, value: Any) -> Any:
        if isinstance(value, int):
            return min(max(value, INT64_MIN), INT64_MAX)
        return value


def _as_kind(value: Any, kind: str) -> Any:
    """A query bound in the field's own type (a date bound on a timestamp field becomes its midnight)."""
    if value is None:
        return None
    if kind == "timestamp" and isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, dt.time(), tzinfo=dt.UTC)
    if kind == "date" and isinstance(value, dt.datetime):
        return value.date()
    if kind in ("int32", "int64") and not isinstance(value, int):
        return None
    return value


# ------------------------------------------------------------------------------------------ the target


LAMBDA_MAX_TIMEOUT_S = 900.0
DEFAULT_PAGE_SECONDS = 0.3
DEFAULT_TIME_SHARE = 0.5


def default_target(
    page_size: int,
    requests_per_second: float | None,
    timeout_s: float = LAMBDA_MAX_TIMEOUT_S,
    page_seconds: float = DEFAULT_PAGE_SECONDS,
    share: float = DEFAULT_TIME_SHARE,
) -> int:
    """Rows one split reads in ``share`` of the function's time: records/page x pages/s x seconds.

    Pages/s is one page per ``page_seconds`` (a typical SaaS page time), or the spec's rate limit when that is
    slower. E.g. 100 records a page at 0.3 s a page: 333 rows/s; over half of a 900 s Lambda: 150,000 rows.
    """
    pages_per_second = 1.0 / max(page_seconds, 1e-3)
    if requests_per_second:
        pages_per_second = min(pages_per_second, requests_per_second)
    return max(1, int(page_size * pages_per_second * timeout_s * share))
