"""Exactly once, whatever the paging, splitting, filtering and faults (hypothesis, through both entry points).

For random page sizes, split plans (spec split hints and GetSplits page sizes), constraints, incremental windows
and schedules of transient faults that the retries outlast (429s with and without Retry-After, 5xx, resets, cut
bodies, malformed JSON), the rows delivered equal the source's rows under the same filter, each exactly once.

``RELIABILITY_EXAMPLES`` sets the examples per property (CI default 12; the counts of the last long run are in
docs/reliability.md).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from athena_connector.wire import Constraints, EquatableValueSet, Range, SortedRangeSet
from athena_connector.wire.arrow_types import ArrowType
from demo_api.server import DemoServer
from tests.reliability import drivers

EXAMPLES = int(os.environ.get("RELIABILITY_EXAMPLES", "12"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
STAGES = ["prospecting", "qualification", "proposal", "negotiation", "closed_won", "closed_lost"]
STATUSES = ["lead", "prospect", "customer", "churned"]
TRANSIENT = [
    {"kind": "rate_limit", "retry_after": 1},
    {"kind": "rate_limit", "retry_after": None},
    {"kind": "rate_limit", "retry_after": 1, "retry_after_date": True},
    {"kind": "status", "code": 503},
    {"kind": "status", "code": 500},
    {"kind": "status", "code": 502, "retry_after": 1},
    {"kind": "reset"},
    {"kind": "truncate"},
    {"kind": "malformed"},
]


@st.composite
def fault_schedules(draw: st.DrawFn, entity: str) -> list[dict[str, Any]]:
    """Up to three single faults anywhere in the read: at most three failures in a row, below max_attempts=4."""
    rules = draw(st.lists(st.sampled_from(TRANSIENT), max_size=3))
    return [{**rule, "entity": entity, "after": draw(st.integers(0, 8)), "count": 1} for rule in rules]


def _ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


# -------------------------------------------------------------------------------------------------------- AppFlow


@st.composite
def appflow_queries(draw: st.DrawFn, source: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    entity = draw(st.sampled_from(["accounts", "contacts", "deals"]))
    records = source[entity]
    stamps = sorted({r["updated_at"] for r in records})
    clauses: list[str] = []
    keep = lambda r: True  # noqa: E731
    window = draw(st.sampled_from(["none", "since", "between"]))
    if window != "none":
        lo = draw(st.sampled_from(stamps))
        if window == "since":
            clauses.append(f"updated_at > {lo}")
            keep = lambda r, lo=lo: _ts(r["updated_at"]) > _ts(lo)  # noqa: E731
        else:
            hi = draw(st.sampled_from([s for s in stamps if s >= lo]))
            clauses.append(f"updated_at between {lo} and {hi}")  # inclusive at both ends, as in SQL
            keep = lambda r, lo=lo, hi=hi: _ts(lo) <= _ts(r["updated_at"]) <= _ts(hi)  # noqa: E731
    if entity == "contacts" and draw(st.booleans()):
        status = draw(st.sampled_from(STATUSES))
        clauses.append(f"status = '{status}'")
        keep = lambda r, k=keep, s=status: k(r) and r["status"] == s  # noqa: E731
    if entity == "deals" and draw(st.booleans()):
        stage = draw(st.sampled_from(STAGES))
        clauses.append(f"stage = '{stage}'")
        keep = lambda r, k=keep, s=stage: k(r) and r["stage"] == s  # noqa: E731
    return {
        "entity": entity,
        "filter": " and ".join(clauses) or None,
        "expected": [r for r in records if keep(r)],
        "page_size": draw(st.sampled_from([None, 1, 3, 7, 16, 50])),
        "max_results": draw(st.sampled_from([1, 4, 9, 25, 1000])),
        "faults": draw(fault_schedules(entity)),
    }


@pytest.fixture(scope="module")
def source(server: DemoServer) -> dict[str, list[dict[str, Any]]]:
    return {e: server.store.all_records(e) for e in ("accounts", "contacts", "deals")}


@SETTINGS
@given(data=st.data())
def test_appflow_delivers_each_row_exactly_once(
    data: st.DataObject, appflow: drivers.AppFlowRun, server: DemoServer, source: dict[str, Any]
) -> None:
    q = data.draw(appflow_queries(source))
    appflow.settings = {"page_size": str(q["page_size"])} if q["page_size"] else {}
    server.set_faults(q["faults"])
    outcome = appflow.read(q["entity"], max_results=q["max_results"], filter_expression=q["filter"])
    server.clear_faults()
    assert outcome.ok, f"{outcome.error_type}: {outcome.message}"
    assert outcome.rows == appflow.expected(q["entity"], q["expected"]), q


# --------------------------------------------------------------------------------------------------------- Athena


@pytest.fixture(scope="module")
def split_specs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The fast spec with different split plans: id ranges of 1..9 pieces, time windows of 30 days to 2 years."""
    root = tmp_path_factory.mktemp("splits")
    out = []
    for i, (count, step) in enumerate([(1, "P730D"), (3, "P180D"), (9, "P30D")]):
        data = drivers.fast_spec_data()
        for entity in data["entities"]:
            if entity["name"] == "accounts":
                entity["splits"] = {"by": "id_range", "field": "id", "start": 1, "end": 45, "count": count}
            if entity["name"] == "contacts":
                entity["splits"]["step"] = step
        out.append(drivers.write_spec(root / f"splits{i}.yaml", data))
    return out


def _range(data_type: pa.DataType, low: Any, high: Any, low_inc: bool, high_inc: bool) -> SortedRangeSet:
    rng = Range.between(data_type, low=low, high=high, low_inclusive=low_inc, high_inclusive=high_inc)
    return SortedRangeSet(ArrowType.from_pyarrow(data_type), (rng,), False)


def _between(value: Any, low: Any, high: Any, low_inc: bool, high_inc: bool) -> bool:
    if low is not None and (value < low or (value == low and not low_inc)):
        return False
    return not (high is not None and (value > high or (value == high and not high_inc)))


@st.composite
def athena_queries(draw: st.DrawFn, source: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    entity = draw(st.sampled_from(["accounts", "contacts", "deals"]))
    records = source[entity]
    summary: dict[str, Any] = {}
    keep = lambda r: True  # noqa: E731
    if draw(st.booleans()):
        low, high = sorted(draw(st.lists(st.integers(0, 50), min_size=2, max_size=2)))
        low = None if draw(st.booleans()) else low
        li, hi_inc = draw(st.booleans()), draw(st.booleans())
        summary["id"] = _range(pa.int64(), low, high, li, hi_inc)
        keep = lambda r, a=(low, high, li, hi_inc): _between(r["id"], *a)  # noqa: E731
    if entity == "contacts" and draw(st.booleans()):
        stamps = sorted({r["updated_at"] for r in records})
        lo, hi = sorted(draw(st.lists(st.sampled_from(stamps), min_size=2, max_size=2)))
        millis = [int(_ts(s).timestamp() * 1000) for s in (lo, hi)]
        summary["updated_at"] = _range(pa.date64(), millis[0], millis[1], True, False)
        keep = lambda r, k=keep, a=(lo, hi): k(r) and _ts(a[0]) <= _ts(r["updated_at"]) < _ts(a[1])  # noqa: E731
    if entity == "deals" and draw(st.booleans()):
        stages = draw(st.lists(st.sampled_from(STAGES), min_size=1, max_size=3, unique=True))
        summary["stage"] = EquatableValueSet.of(stages, pa.string())
        keep = lambda r, k=keep, s=frozenset(stages): k(r) and r["stage"] in s  # noqa: E731
    return {
        "entity": entity,
        "constraints": Constraints(summary=summary),
        "expected": [r for r in records if keep(r)],
        "plan": draw(st.integers(0, 2)),
        "splits_per_response": draw(st.sampled_from(["1", "2", "1000"])),
        "max_inline": draw(st.sampled_from([1, 3_465_000])),  # spill everything, or inline when it fits
        "faults": draw(fault_schedules(entity)),
    }


@SETTINGS
@given(data=st.data())
def test_athena_delivers_each_row_exactly_once(
    data: st.DataObject,
    athena: drivers.Athena,
    server: DemoServer,
    source: dict[str, Any],
    split_specs: list[Path],
    env: pytest.MonkeyPatch,
) -> None:
    from athena_connector.runtime import reset_runtime

    q = data.draw(athena_queries(source))
    env.setenv("SAAS_SPEC", str(split_specs[q["plan"]]))
    env.setenv("max_splits_per_response", q["splits_per_response"])
    reset_runtime()
    server.set_faults(q["faults"])
    outcome = athena.read(q["entity"], constraints=q["constraints"], max_inline=q["max_inline"])
    server.clear_faults()
    assert outcome.ok, f"{outcome.error_type}: {outcome.message}"
    assert outcome.rows == athena.expected(q["entity"], q["expected"]), q
