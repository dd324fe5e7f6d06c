"""Split plans partition the data exactly: every value falls in exactly one split, whatever the query."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.predicates import Op, Predicate, matches
from shared.spec import load_spec
from shared.splits import plan_splits

SPEC = load_spec("demo")
UTC = dt.UTC
NOW = dt.datetime(2025, 7, 1, tzinfo=UTC)


def owners(entity_name: str, field: str, value: object, splits: list) -> int:
    entity = SPEC.entity(entity_name)
    return sum(1 for s in splits if matches({field: value}, s.predicates(entity)))


@given(st.integers(min_value=-10, max_value=5000))
def test_every_id_falls_in_exactly_one_id_range_split(value: int) -> None:
    splits = plan_splits(SPEC.entity("accounts"))
    assert len(splits) == 4
    assert owners("accounts", "id", value, splits) == 1


@given(st.datetimes(min_value=dt.datetime(2015, 1, 1), max_value=dt.datetime(2030, 1, 1), timezones=st.just(UTC)))
def test_every_timestamp_falls_in_exactly_one_time_window(value: dt.datetime) -> None:
    splits = plan_splits(SPEC.entity("contacts"), now=NOW)
    assert owners("contacts", "updated_at", value, splits) == 1


@settings(max_examples=200)
@given(
    st.datetimes(min_value=dt.datetime(2019, 1, 1), max_value=dt.datetime(2027, 1, 1), timezones=st.just(UTC)),
    st.datetimes(min_value=dt.datetime(2019, 1, 1), max_value=dt.datetime(2027, 1, 1), timezones=st.just(UTC)),
    st.datetimes(min_value=dt.datetime(2019, 1, 1), max_value=dt.datetime(2027, 1, 1), timezones=st.just(UTC)),
)
def test_clipping_to_the_query_keeps_every_matching_value(
    low: dt.datetime, high: dt.datetime, value: dt.datetime
) -> None:
    query = [Predicate("updated_at", Op.GE, low), Predicate("updated_at", Op.LT, high)]
    splits = plan_splits(SPEC.entity("contacts"), query, now=NOW)
    if matches({"updated_at": value}, query):
        assert owners("contacts", "updated_at", value, splits) == 1
    assert len(splits) >= 1


def test_max_splits_merges_windows_without_gaps() -> None:
    splits = plan_splits(SPEC.entity("contacts"), now=NOW, max_splits=3)
    assert len(splits) <= 3
    for day in range(0, 4000, 7):
        value = dt.datetime(2020, 1, 1, tzinfo=UTC) + dt.timedelta(days=day)
        assert owners("contacts", "updated_at", value, splits) == 1


def test_parent_splits_chunk_the_parent_keys() -> None:
    keys = [{"id": i} for i in range(1, 5001)]
    splits = plan_splits(SPEC.entity("activities"), parent_keys=lambda: keys)
    assert 1 < len(splits) <= 16
    seen = [k["id"] for s in splits for k in s.parent_keys()]
    assert seen == list(range(1, 5001))


def test_an_entity_without_hints_is_one_split() -> None:
    from dataclasses import replace

    assert [s.properties for s in plan_splits(replace(SPEC.entity("deals"), splits=None))] == [{}]
