"""Filter-to-parameter translation: exact pushes leave no residual, approximate pushes keep the predicate,
and the parameters sent are what the spec declares."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from shared.errors import SpecError, UnknownFieldError
from shared.predicates import Op, Predicate, matches
from shared.pushdown import plan_query
from shared.spec import load_spec
from shared.spec.model import SourceSpec

SPEC = load_spec("demo")
UTC = dt.UTC


def P(field: str, op: str, value: object = None) -> Predicate:
    return Predicate(field, Op(op), value)


def test_exact_pushes_leave_no_residual() -> None:
    plan = plan_query(SPEC.entity("accounts"), [P("id", "ge", 10), P("id", "le", 20), P("industry", "in", ("b", "a"))])
    assert ("id_min", "10") in plan.params
    assert ("id_max", "20") in plan.params
    assert ("industry", "a,b") in plan.params
    assert plan.residual == ()


def test_strict_integer_bounds_become_inclusive_exactly() -> None:
    plan = plan_query(SPEC.entity("accounts"), [P("id", "gt", 10), P("id", "lt", 20)])
    assert ("id_min", "11") in plan.params
    assert ("id_max", "19") in plan.params
    assert plan.residual == ()


def test_strict_timestamp_bound_is_pushed_loosely_and_kept_in_the_residual() -> None:
    t = dt.datetime(2024, 5, 1, 12, tzinfo=UTC)
    plan = plan_query(SPEC.entity("accounts"), [P("updated_at", "gt", t)])
    assert ("updated_since", "2024-05-01T12:00:00Z") in plan.params
    assert plan.residual == (P("updated_at", "gt", t),)


def test_unpushable_predicates_are_the_residual() -> None:
    preds = [P("name", "eq", "Acme"), P("rating", "is_null"), P("employees", "ne", 5)]
    plan = plan_query(SPEC.entity("accounts"), preds)
    assert plan.params == ()
    assert plan.residual == tuple(preds)


def test_between_and_eq_use_range_parameters() -> None:
    plan = plan_query(SPEC.entity("accounts"), [P("id", "between", (5, 9))])
    assert dict(plan.params) == {"id_min": "5", "id_max": "9"}
    assert plan.residual == ()
    plan = plan_query(SPEC.entity("accounts"), [P("id", "eq", 7)])
    assert dict(plan.params) == {"id_min": "7", "id_max": "7"}
    assert plan.residual == ()


def test_in_on_a_range_only_field_pushes_the_hull_and_keeps_the_predicate() -> None:
    plan = plan_query(SPEC.entity("accounts"), [P("id", "in", (3, 9, 5))])
    assert dict(plan.params) == {"id_min": "3", "id_max": "9"}
    assert plan.residual == (P("id", "in", (3, 9, 5)),)


def test_a_second_predicate_on_the_same_parameter_stays_local() -> None:
    plan = plan_query(SPEC.entity("accounts"), [P("id", "ge", 10), P("id", "ge", 15)])
    assert dict(plan.params) == {"id_min": "15"}
    assert plan.residual == (P("id", "ge", 10),)


def test_dates_and_decimals_are_formatted_for_the_api() -> None:
    preds = [P("close_date", "ge", dt.date(2024, 1, 2)), P("amount", "ge", Decimal("10.50"))]
    plan = plan_query(SPEC.entity("deals"), preds)
    assert dict(plan.params) == {"close_date_from": "2024-01-02", "amount_min": "10.50"}
    # a strict date bound steps to the next day exactly
    plan = plan_query(SPEC.entity("deals"), [P("close_date", "lt", dt.date(2024, 1, 2))])
    assert dict(plan.params) == {"close_date_to": "2024-01-01"}
    assert plan.residual == ()


def test_child_key_equality_becomes_parent_keys() -> None:
    plan = plan_query(SPEC.entity("activities"), [P("contact_id", "in", (3, 1))])
    assert plan.parent_keys == ({"id": 1}, {"id": 3})
    assert plan.residual == ()


def test_unknown_fields_are_named() -> None:
    with pytest.raises(UnknownFieldError, match="no field 'nope'"):
        plan_query(SPEC.entity("accounts"), [P("nope", "eq", 1)])
    with pytest.raises(UnknownFieldError, match="no field 'nope'"):
        plan_query(SPEC.entity("accounts"), [], ["id", "nope"])


def test_null_semantics_match_sql() -> None:
    row = {"a": None, "b": 3}
    assert not matches(row, [P("a", "ne", 1)])
    assert not matches(row, [P("a", "in", (None, 1))])
    assert matches(row, [P("a", "is_null")])
    assert matches(row, [P("b", "between", (3, 3)), P("b", "not_null")])
    assert not matches(row, [P("missing", "eq", 1)])


def test_the_tightest_bound_per_field_is_the_one_pushed() -> None:
    low, mid, high = (dt.datetime(2024, m, 1, tzinfo=UTC) for m in (1, 3, 9))
    split = [P("updated_at", "ge", mid), P("updated_at", "lt", high)]
    query = [P("updated_at", "gt", low), P("updated_at", "le", high), P("status", "eq", "lead")]
    plan = plan_query(SPEC.entity("contacts"), split + query)
    params = dict(plan.params)
    assert params["updated_since"] == "2024-03-01T00:00:00Z"
    assert params["updated_before"] == "2024-09-01T00:00:00Z"
    assert set(plan.predicates) == set(split + query)  # nothing dropped: the looser bounds stay local
    plan = plan_query(SPEC.entity("accounts"), [P("id", "ge", 5), P("id", "gt", 5)])
    assert dict(plan.params) == {"id_min": "6"}
    assert plan.residual == (P("id", "ge", 5),)


# -- values the API could misread (issue 17, item 3) ------------------------------------------------------------
@pytest.mark.parametrize(
    "value",
    ["customer,lead", " lead", "lead ", "", "le*", "lead%", "le?d", "a;b", "a\\b", "lead\u00a0", "le\tad", "e\u0301"],
)
def test_values_the_api_could_misread_are_not_pushed(value: str) -> None:
    entity = SPEC.entity("contacts")
    for predicate in (P("status", "eq", value), P("status", "in", ("lead", value))):
        plan = plan_query(entity, [predicate])
        assert not any(name == "status" for name, _ in plan.params), (value, plan.params)
        assert plan.residual == (predicate,)


@pytest.mark.parametrize("value", ["lead", "closed won", "it's", 'say "hi"', "Zürich", "😀"])
def test_plain_values_are_pushed_exactly(value: str) -> None:
    plan = plan_query(SPEC.entity("contacts"), [P("status", "eq", value)])
    assert ("status", value) in plan.params and plan.residual == ()


def _escaping_spec(tmp_path: Path, param: str) -> SourceSpec:
    text = (
        "version: 1\napi: {name: esc, base_url: 'http://127.0.0.1:1', auth: {type: none}, pagination: {type: none}}\n"
        "entities:\n  - name: items\n    path: /items\n    primary_key: [id]\n"
        "    fields: {id: int64, tag: string}\n"
        f"    filters: {{tag: {param}}}\n"
    )
    path = tmp_path / "esc.yaml"
    path.write_text(text)
    return load_spec(str(path))


def test_a_declared_escape_pushes_reserved_characters_escaped(tmp_path: Path) -> None:
    spec = _escaping_spec(tmp_path, '{eq: {param: tag, reserved: ",*", escape: "\\\\"}, in: {param: tag, join: ","}}')
    entity = spec.entity("items")
    plan = plan_query(entity, [P("tag", "eq", "a,b*c\\d%")])
    assert ("tag", "a\\,b\\*c\\\\d%") in plan.params and plan.residual == ()  # % is not reserved here
    plan = plan_query(entity, [P("tag", "in", ("a,b", "c"))])  # the join has no escape: not pushed
    assert plan.params == () and len(plan.residual) == 1


def test_escape_must_be_one_character(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="escape"):
        _escaping_spec(tmp_path, '{eq: {param: tag, escape: "//"}}')
