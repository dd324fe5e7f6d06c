"""Window sizes estimated from probe pages (``shared.density``) for APIs that cannot count, over generated data.

The fetch is an in-memory API answering one filtered page, with records in the field's order or shuffled (the
two shapes real APIs have). Whatever the data, the order, the inserts after planning and an API that ignores the
filter, the Sizer's pieces partition the values exactly; a window that fits in one page is counted exactly;
planning needs a bounded number of requests.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.density import DensityEstimator, Probe
from shared.split_sizing import Sizer
from shared.splits import WindowPlan, _window_bounds

EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


class MemoryAPI:
    """Pages of the records in ``[low, high)``; ``ordered``: by the field, else in a fixed shuffled order."""

    def __init__(self, values: list[Any], ordered: bool, ignores_filter: bool = False, seed: int = 0) -> None:
        self.values = sorted(values)
        if not ordered:
            random.Random(seed).shuffle(self.values)
        self.ignores_filter = ignores_filter
        self.requests = 0

    def fetch(self, low: Any, high: Any, size: int) -> Probe:
        self.requests += 1
        rows = [
            v for v in self.values if self.ignores_filter or ((low is None or v >= low) and (high is None or v < high))
        ]
        return Probe(rows[:size], len(rows) > size)

    def count(self, low: Any, high: Any) -> int:
        return sum(1 for v in self.values if (low is None or v >= low) and (high is None or v < high))


def typed(kind: str, n: int) -> Any:
    return n if kind == "int64" else EPOCH + dt.timedelta(seconds=n)


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["int64", "timestamp"]))
    dense = draw(st.booleans())  # ids one after another, or values spread with duplicates
    n = draw(st.integers(0, 3000))
    if dense:
        start = draw(st.integers(-100, 5000))
        raw = list(range(start, start + n))
    else:
        raw = draw(st.lists(st.integers(-5000, 200_000), min_size=0, max_size=n if n < 600 else 600))
        raw += draw(st.lists(st.sampled_from(raw), max_size=50)) if raw else []
    return {
        "kind": kind,
        "values": raw,
        "ordered": draw(st.booleans()),
        "ignores": draw(st.integers(0, 9)) == 0,
        "edges": sorted({draw(st.integers(-1000, 5000)) + i * 400 for i in range(draw(st.integers(1, 4)))}),
        "page": draw(st.sampled_from([10, 50, 100])),
        "target": draw(st.integers(20, 2000)),
        "inserted": draw(st.lists(st.integers(-20_000, 400_000), max_size=20)),
    }


@settings(max_examples=120, deadline=None)
@given(scenarios())
def test_estimated_pieces_partition_the_data(s: dict[str, Any]) -> None:
    kind = s["kind"]
    values = [typed(kind, v) for v in s["values"]]
    api = MemoryAPI(values, s["ordered"], s["ignores"])
    edges = [typed(kind, e) for e in s["edges"]]
    step = 400 if kind == "int64" else dt.timedelta(seconds=400)
    bounds = _window_bounds(edges, None, None, 64)
    plan = WindowPlan("id_range" if kind == "int64" else "time_window", "f", kind, bounds, None, None, step, edges[0])
    estimator = DensityEstimator(api.fetch, s["page"], s["target"])
    sizer = Sizer(plan, estimator.count, s["target"], exact=False)
    pieces = list(sizer.pieces())
    assert pieces and pieces[0].low is None and pieces[-1].high is None
    for a, b in itertools.pairwise(pieces):
        assert a.high is not None and a.high == b.low, "pieces are consecutive"
    for v in values + [typed(kind, x) for x in s["inserted"]]:  # inserted after planning: still one piece each
        assert sum((p.low is None or v >= p.low) and (p.high is None or v < p.high) for p in pieces) == 1
    if s["ignores"]:
        assert len(pieces) == len(bounds)  # nothing can be estimated: the static windows stand
    assert api.requests <= 40 * len(pieces) + 80, "planning needs a bounded number of requests"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 10_000), max_size=99), st.booleans(), st.integers(0, 10_000), st.integers(1, 10_000))
def test_a_window_that_fits_one_page_is_counted_exactly(values: list[int], ordered: bool, low: int, width: int) -> None:
    api = MemoryAPI(values, ordered)
    estimator = DensityEstimator(api.fetch, 100, 1000)
    assert estimator.count(low, low + width) == api.count(low, low + width)
    assert estimator.count(None, None) == len(values) and api.requests == 2


def test_estimates_track_the_data_in_either_order() -> None:
    values = list(range(1, 50_001))  # 50k ids, dense
    for ordered in (True, False):
        api = MemoryAPI(values, ordered)
        estimator = DensityEstimator(api.fetch, 500, 5000)
        for low, high in ((1, 10_001), (None, 20_001), (30_001, None), (None, None)):
            estimate = estimator.count(low, high)
            assert estimate is not None
            real = api.count(low, high)
            assert 0.5 * real <= estimate <= 2 * real, (ordered, low, high, estimate, real)


def test_sized_from_estimates_every_piece_stays_near_the_target() -> None:
    values = [i * 3 for i in range(1, 60_001)]
    for ordered in (True, False):
        api = MemoryAPI(values, ordered)
        plan = WindowPlan("id_range", "id", "int64", _window_bounds([1, 1001], None, None, 64), None, None, 1000, 1)
        estimator = DensityEstimator(api.fetch, 500, 3000)
        pieces = list(Sizer(plan, estimator.count, 3000, exact=False).pieces())
        sizes = [api.count(p.low, p.high) for p in pieces]
        assert sum(sizes) == len(values)
        assert max(sizes) <= 1.5 * 3000, (ordered, max(sizes))
        assert len(pieces) <= 4 * len(values) / 3000, (ordered, len(pieces))
