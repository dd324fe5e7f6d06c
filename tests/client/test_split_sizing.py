"""Properties of window sizing (``shared.split_sizing``) over generated data, window edges and query bounds.

Whatever the data (duplicates, values far outside the hint's range, records inserted after the counts were
taken) and however the planning is cut into pages (the probe budget running out), every value the query
admits falls in exactly one piece, and every piece the API counted over the target is one value wide.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.split_sizing import Piece, Sizer, default_target
from shared.splits import WindowPlan, _window_bounds

EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def contains(piece: Piece, value: Any) -> bool:
    return (piece.low is None or value >= piece.low) and (piece.high is None or value < piece.high)


def plan_all(plan: WindowPlan, count: Any, target: int, budget: int) -> tuple[list[Piece], int]:
    """Every piece, planned in pages of at most ``budget`` probes each (as GetSplits pages do)."""
    pieces: list[Piece] = []
    start: Any = None
    pages = 0
    while True:
        pages += 1
        left = [budget]

        def may_probe(left: list[int] = left) -> bool:
            left[0] -= 1
            return left[0] >= 0

        sizer = Sizer(plan, count, target, may_probe)
        got = list(sizer.pieces(start))
        assert got, "every page moves forward"
        pieces += got
        if sizer.stopped_at is None:
            return pieces, pages
        assert sizer.stopped_at == got[-1].high  # the next page starts where this one ended
        start = sizer.stopped_at
        assert pages < 10_000


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["int64", "timestamp"]))
    raw = draw(st.lists(st.integers(-5_000, 50_000), max_size=400))
    dupes = draw(st.lists(st.sampled_from(raw), max_size=40)) if raw else []
    inserted = draw(st.lists(st.integers(-10_000, 100_000), max_size=30))
    start = draw(st.integers(-1000, 20_000))
    count = draw(st.integers(1, 12))
    step = draw(st.integers(1, 5000))
    low = draw(st.none() | st.integers(-6000, 60_000))
    high = draw(st.none() | st.integers(-6000, 60_000))
    return {
        "kind": kind,
        "values": raw + dupes,
        "inserted": inserted,
        "edges": [start + i * step for i in range(count)],
        "step": step,
        "low": low,
        "high": high,
        "target": draw(st.integers(1, 120)),
        "budget": draw(st.integers(1, 40)),
    }


def typed(kind: str, n: int | None) -> Any:
    if n is None:
        return None
    return n if kind == "int64" else EPOCH + dt.timedelta(seconds=n)


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_pieces_partition_the_data_and_stay_under_the_target(s: dict[str, Any]) -> None:
    kind = s["kind"]
    values = sorted(typed(kind, v) for v in s["values"])
    edges = [typed(kind, e) for e in s["edges"]]
    low, high = typed(kind, s["low"]), typed(kind, s["high"])
    step = s["step"] if kind == "int64" else dt.timedelta(seconds=s["step"])
    plan = WindowPlan(
        "id_range" if kind == "int64" else "time_window",
        "f",
        kind,
        _window_bounds(edges, low, high, 64),
        low,
        high,
        step,
        edges[0],
    )

    def admitted(v: Any) -> bool:
        return (low is None or v >= low) and (high is None or v <= high)

    def count(a: Any, b: Any) -> int:  # the API counts the query's records in [a, b)
        lo = 0 if a is None else bisect.bisect_left(values, a)
        hi = len(values) if b is None else bisect.bisect_left(values, b)
        return sum(1 for v in values[lo:hi] if admitted(v))

    if not plan.bounds:  # the query admits nothing on the field: no window at all
        assert list(Sizer(plan, count, s["target"]).pieces()) == []
        return
    pieces, _ = plan_all(plan, count, s["target"], s["budget"])
    for a, b in itertools.pairwise(pieces):
        assert a.high is not None and a.high == b.low, "pieces are consecutive"
    everything = values + [typed(kind, v) for v in s["inserted"]]  # inserted after the counts were taken
    for v in everything:
        if admitted(v):
            assert sum(contains(p, v) for p in pieces) == 1, f"{v} is in {sum(contains(p, v) for p in pieces)}"
    one = 1 if kind == "int64" else dt.timedelta(seconds=1)
    for p in pieces:
        if p.count is not None and p.count > s["target"]:  # one value wide, within the query's own bounds
            p_low = p.low if p.low is not None else low
            p_high = p.high if p.high is not None else (None if high is None else high + one)
            assert p_low is not None and p_high is not None and p_high - p_low <= one, p


def test_unsized_plans_are_the_static_windows() -> None:
    plan = WindowPlan("id_range", "id", "int64", _window_bounds([1, 11, 21], None, None, 64), None, None, 10, 1)
    pieces = list(Sizer(plan, None, 5).pieces())
    assert [(p.low, p.high) for p in pieces] == [(None, 11), (11, 21), (21, None)]


def test_the_default_target_is_half_a_lambda_at_the_api_pace() -> None:
    assert default_target(100, None) == 150_000  # 100 rows / 0.3 s x 450 s
    assert default_target(100, 1.0) == 45_000  # a 1 request/s quota is slower than 0.3 s a page
    assert default_target(500, None, timeout_s=60) == 50_000
