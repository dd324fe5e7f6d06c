"""Exactness: for generated constraints on every column type, the rows of all splits together are exactly the
rows of the demo API's full data (``/_admin/dump``) that satisfy the constraints — none lost, none duplicated.

The expected side is computed here independently of the connector: the dump's raw JSON read with the shared
per-value rules (``shared.values.coerce``) and the ValueSets evaluated in plain Python with Presto semantics.
Constraints mix values seen in the data (so they match rows) with arbitrary ones (including values the API
refuses, which must fall back to local filtering).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from athena_connector.wire import (
    AllOrNoneValueSet,
    Constraints,
    EquatableValueSet,
    Marker,
    Range,
    SortedRangeSet,
    ValueSet,
)
from athena_connector.wire.arrow_types import ArrowType
from shared.paths import compile_path
from shared.values import coerce
from tests.athena.connector.harness import DEMO_SPEC, Connector, typed_value

UTC = dt.UTC

# (entity, column) pairs covering every scalar type, pushed and unpushed filters, split fields, nullable ones.
COLUMNS: dict[str, tuple[str, ...]] = {
    "accounts": (
        "id",
        "employees",
        "annual_revenue",
        "is_active",
        "founded_on",
        "rating",
        "updated_at",
        "industry",
        "city",
    ),
    "contacts": ("id", "updated_at", "created_at", "status", "score", "lifetime_value", "birthday", "opt_in", "phone"),
    "deals": ("amount", "close_date", "stage", "probability", "contact_id", "created_at", "currency"),
    "activities": ("contact_id", "occurred_at", "duration_minutes", "type"),
}
ARROW = {
    "int32": pa.int32(),
    "int64": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.date64(),
    "string": pa.string(),
}

_dumps: dict[str, list[dict[str, Any]]] = {}


@pytest.fixture
def exact_connector(connector: Connector, unthrottled_spec: Path) -> Connector:
    connector.setenv("SAAS_SPEC", str(unthrottled_spec))
    return connector


def dump(connector: Connector, entity: str) -> list[dict[str, Any]]:
    if entity not in _dumps:
        _dumps[entity] = connector.dump(entity)
    return _dumps[entity]


def arrow_type(entity: str, column: str) -> pa.DataType:
    ftype = DEMO_SPEC.entity(entity).field(column).type
    if ftype.kind == "decimal":
        return pa.decimal128(ftype.precision, ftype.scale)
    return ARROW[ftype.kind]


def typed_column(records: list[dict[str, Any]], entity: str, column: str) -> list[Any]:
    """The column's values as Python values (timestamps as datetimes, for building markers)."""
    f = DEMO_SPEC.entity(entity).field(column)
    get = compile_path(f.path)
    return [coerce(get(r), f.type) for r in records]


# ------------------------------------------------------------------------------------------ oracle


def comparable(value: Any, kind: str) -> Any:
    return typed_value(value, kind)


def marker_value(marker: Marker, kind: str) -> Any:
    return marker.raw_value if kind == "timestamp" else marker.value


def oracle(vs: ValueSet, value: Any, kind: str) -> bool:
    """Presto TupleDomain membership of one typed value (NULL only when allowed)."""
    if value is None:
        return vs.null_allowed
    v = comparable(value, kind)
    if isinstance(vs, AllOrNoneValueSet):
        return vs.all
    if isinstance(vs, EquatableValueSet):
        members = vs.raw_values if kind == "timestamp" else vs.values
        return (v in members) == vs.white_list
    for r in vs.ranges:
        low_ok = r.low.null_value or (
            v > marker_value(r.low, kind) if r.low.bound.value == "ABOVE" else v >= marker_value(r.low, kind)
        )
        high_ok = r.high.null_value or (
            v < marker_value(r.high, kind) if r.high.bound.value == "BELOW" else v <= marker_value(r.high, kind)
        )
        if low_ok and high_ok:
            return True
    return False


# -------------------------------------------------------------------------------------- strategies


def arbitrary_values(kind: str, data_type: pa.DataType) -> st.SearchStrategy[Any]:
    if kind in ("int32", "int64"):
        return st.integers(min_value=-20, max_value=3_000)
    if kind == "number":
        return st.floats(min_value=-10, max_value=150, allow_nan=False, allow_infinity=False)
    if kind == "decimal":
        scale = data_type.scale
        return st.decimals(min_value=-1000, max_value=10**6, places=scale, allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "date":
        return st.dates(min_value=dt.date(1940, 1, 1), max_value=dt.date(2030, 12, 31))
    if kind == "timestamp":
        return st.datetimes(
            min_value=dt.datetime(2019, 1, 1), max_value=dt.datetime(2027, 1, 1), timezones=st.just(UTC)
        ).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))
    return st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEF ", max_size=6)


@st.composite
def value_sets(draw: st.DrawFn, entity: str, column: str, seen: list[Any]) -> ValueSet:
    kind = DEMO_SPEC.entity(entity).field(column).type.kind
    data_type = arrow_type(entity, column)
    present = [v for v in seen if v is not None]
    values = (
        st.one_of(st.sampled_from(present), arbitrary_values(kind, data_type))
        if present
        else arbitrary_values(kind, data_type)
    )
    shape = draw(st.sampled_from(["ranges", "ranges", "ranges", "in", "in", "is_null", "not_null", "all_or_none"]))
    null_allowed = draw(st.booleans())
    wire_type = ArrowType.from_pyarrow(data_type)
    if shape == "is_null":
        return SortedRangeSet(wire_type, (), True)
    if shape == "not_null":
        all_range = Range(Marker.lower_unbounded(data_type), Marker.upper_unbounded(data_type))
        return SortedRangeSet(wire_type, (all_range,), null_allowed)
    if shape == "all_or_none":
        return AllOrNoneValueSet(wire_type, draw(st.booleans()), null_allowed)
    if shape == "in":
        members = draw(st.lists(values, max_size=4, unique_by=lambda v: comparable(v, kind)))
        return EquatableValueSet.of(members, data_type, white_list=draw(st.booleans()), null_allowed=null_allowed)
    points = sorted(set(draw(st.lists(values, min_size=1, max_size=6))), key=lambda v: comparable(v, kind))
    points = [p for i, p in enumerate(points) if i == 0 or comparable(p, kind) != comparable(points[i - 1], kind)]
    ranges: list[Range] = []
    i = 0
    while i < len(points):
        single = i + 1 == len(points) or draw(st.booleans())
        if single and draw(st.booleans()):
            ranges.append(Range.equal(points[i], data_type))
            i += 1
            continue
        if i + 1 < len(points):
            low, high = points[i], points[i + 1]
            i += 2
        else:
            low = high = points[i]
            i += 1
        if comparable(low, kind) == comparable(high, kind):
            ranges.append(Range.equal(low, data_type))
            continue
        first, last = not ranges, i >= len(points)
        ranges.append(
            Range.between(
                data_type,
                low=None if first and draw(st.booleans()) else low,
                high=None if last and draw(st.booleans()) else high,
                low_inclusive=draw(st.booleans()),
                high_inclusive=draw(st.booleans()),
            )
        )
    return SortedRangeSet(wire_type, tuple(ranges), null_allowed)


@st.composite
def queries(draw: st.DrawFn, entity: str, seen: dict[str, list[Any]]) -> dict[str, ValueSet]:
    columns = draw(st.lists(st.sampled_from(COLUMNS[entity]), min_size=1, max_size=2, unique=True))
    return {c: draw(value_sets(entity, c, seen[c])) for c in columns}


# ---------------------------------------------------------------------------------------------- test


def check_exact(connector: Connector, entity: str, summary: dict[str, ValueSet]) -> None:
    records = dump(connector, entity)
    spec = DEMO_SPEC.entity(entity)
    kinds = {c: spec.field(c).type.kind for c in summary}
    typed = {c: typed_column(records, entity, c) for c in summary}
    want = sorted(
        r["id"] for i, r in enumerate(records) if all(oracle(vs, typed[c][i], kinds[c]) for c, vs in summary.items())
    )
    columns = ["id", *[c for c in summary if c != "id"]]
    result = connector.query(entity, columns, Constraints(summary=summary))
    got = result.table.column("id").to_pylist()
    assert len(got) == len(set(got)), f"duplicated rows {sorted(got)}"
    assert sorted(got) == want, f"constraints {summary}"


@pytest.mark.parametrize("entity", list(COLUMNS))
def test_union_of_splits_equals_the_constraint_on_the_full_data(exact_connector: Connector, entity: str) -> None:
    records = dump(exact_connector, entity)
    seen = {c: typed_column(records, entity, c) for c in COLUMNS[entity]}
    examples = 8 if entity == "activities" else 25

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(summary=queries(entity, seen))
    def run(summary: dict[str, ValueSet]) -> None:
        check_exact(exact_connector, entity, summary)

    run()


@pytest.mark.parametrize(
    ("entity", "column", "value_set"),
    [
        ("contacts", "updated_at", SortedRangeSet(ArrowType.of("Date", unit="MILLISECOND"), (), True)),
        ("contacts", "phone", SortedRangeSet(ArrowType.of("Utf8"), (), True)),
        ("deals", "close_date", EquatableValueSet.of([dt.date(2024, 5, 1)], pa.date32(), null_allowed=True)),
        ("accounts", "id", EquatableValueSet.of([1, 2, 99], pa.int64(), white_list=False)),
        ("accounts", "annual_revenue", EquatableValueSet.of([], pa.decimal128(14, 2), null_allowed=True)),
        (
            "accounts",
            "annual_revenue",
            SortedRangeSet(
                ArrowType.of("Decimal", precision=14, scale=2),
                (
                    Range.between(pa.decimal128(14, 2), high=Decimal("1000000.00"), high_inclusive=False),
                    Range.between(pa.decimal128(14, 2), low=Decimal("50000000.00")),
                ),
                False,
            ),
        ),
        ("contacts", "opt_in", SortedRangeSet(ArrowType.of("Bool"), (Range.equal(True, pa.bool_()),), False)),
        ("activities", "contact_id", EquatableValueSet.of([1, 7, 119, 5000], pa.int64())),
        ("accounts", "id", SortedRangeSet(ArrowType.of("Int", bitWidth=64, isSigned=True), (), False)),
    ],
)
def test_specific_shapes_are_exact(exact_connector: Connector, entity: str, column: str, value_set: ValueSet) -> None:
    check_exact(exact_connector, entity, {column: value_set})
