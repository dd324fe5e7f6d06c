"""The ``not_in`` operator: SQL's NOT IN locally (nulls fail it), pushed as the spec declares, exact only when the
API drops nulls too."""

from __future__ import annotations

import pyarrow as pa

from athena_connector.filtering import predicate_mask
from shared.predicates import Op, Predicate
from shared.pushdown import plan_query
from shared.spec import load_spec

DEALS = load_spec("demo").entity("deals")


def test_not_in_is_sql_not_in() -> None:
    p = Predicate("stage", Op.NOT_IN, ["a", "b"])
    assert p.value == ("a", "b")
    assert [p.test(v) for v in ("a", "c", None)] == [False, True, False]
    column = pa.array(["a", "c", None, "b", "d"])
    assert predicate_mask(column, p).to_pylist() == [False, True, False, False, True]
    assert predicate_mask(column, Predicate("stage", Op.NOT_IN, ())).to_pylist() == [True, True, False, True, True]


def test_not_in_pushes_one_joined_parameter_and_stays_local_when_the_api_keeps_nulls() -> None:
    plan = plan_query(DEALS, [Predicate("stage", Op.NOT_IN, ("proposal", "closed_won"))])
    assert ("stage_not_in", "closed_won,proposal") in plan.params
    assert plan.residual == plan.pushed  # demo: deals without a stage come back too, so it is checked locally


def test_a_value_with_the_separator_keeps_the_whole_predicate_local() -> None:
    plan = plan_query(DEALS, [Predicate("stage", Op.NOT_IN, ("proposal", "won,lost"))])
    assert not any(name == "stage_not_in" for name, _ in plan.params)
    assert plan.pushed == () and len(plan.residual) == 1
