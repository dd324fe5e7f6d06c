"""``partitions: {field, values}`` in a spec: what loads (typed, unique values), every problem reported at once
with its location, the JSON Schema agreeing, and the shared split properties turning back into predicates."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from importlib import resources
from typing import Any

import jsonschema
import pytest
import yaml

from shared.errors import SpecError
from shared.predicates import Op, Predicate
from shared.spec import load_spec, load_spec_text
from shared.splits import PARTITION_OTHER, partition_properties, partition_scope

SCHEMA = json.loads((resources.files("shared.specs") / "spec.schema.json").read_text())

HEAD = """
version: 1
api: {name: acme, base_url: "https://api.acme.example"}
entities:
  - name: tickets
    path: /tickets
    fields:
      id: {type: int64, nullable: false}
      status: string
      priority: int32
      urgent: boolean
      due: date
      price: "decimal(8,2)"
      score: number
      opened_at: {type: timestamp, nullable: false}
      tags: list<string>
      extra: json
    filters:
      id: {ge: {param: id_min}, le: {param: id_max}}
      status: {in: {param: status, join: ","}}
      priority: {eq: {param: priority}}
      urgent: {eq: {param: urgent}}
      due: {eq: {param: due}}
      price: {eq: {param: price}}
      score: {eq: {param: score}}
      opened_at: {ge: {param: since}, lt: {param: until}}
"""


def spec_with(partitions: str, extra: str = "") -> str:
    return HEAD + f"    partitions: {partitions}\n" + extra


def problems(text: str) -> str:
    with pytest.raises(SpecError) as err:
        load_spec_text(text, source="p.yaml")
    assert "Traceback" not in str(err.value)
    return str(err.value)


def test_the_demo_spec_partitions_deals_by_stage() -> None:
    deals = load_spec("demo").entity("deals")
    assert deals.partitions is not None and deals.partitions.field == "stage"
    assert deals.partitions.values == (
        "prospecting", "qualification", "proposal", "negotiation", "closed_won", "closed_lost"
    )  # fmt: skip
    assert deals.partitions.exhaustive and not deals.field("stage").nullable
    assert deals.splits is not None and deals.splits.by == "id_range"  # one id window per stage, sized by counts


@pytest.mark.parametrize(
    ("declaration", "values"),
    [
        ("{field: status, values: [open, closed]}", ("open", "closed")),
        ("{field: priority, values: [1, 2, '3']}", (1, 2, 3)),
        ("{field: urgent, values: [true, false]}", (True, False)),
        ("{field: due, values: ['2024-01-01', 2024-02-01]}", (dt.date(2024, 1, 1), dt.date(2024, 2, 1))),
        ("{field: price, values: ['9.99', 10]}", (Decimal("9.99"), Decimal("10.00"))),
    ],
)
def test_values_load_typed_in_declared_order(declaration: str, values: tuple[Any, ...]) -> None:
    entity = load_spec_text(spec_with(declaration)).entity("tickets")
    assert entity.partitions is not None
    assert entity.partitions.values == values
    assert all(type(a) is type(b) for a, b in zip(entity.partitions.values, values, strict=True))


def test_partitions_combine_with_a_window_split_on_another_field() -> None:
    text = spec_with(
        "{field: status, values: [open, closed]}",
        "    splits: {by: time_window, field: opened_at, start: '2024-01-01T00:00:00Z', step: P30D}\n",
    )
    entity = load_spec_text(text).entity("tickets")
    assert entity.partitions is not None and entity.splits is not None
    jsonschema.validate(yaml.safe_load(text), SCHEMA)


@pytest.mark.parametrize(
    ("declaration", "fragment"),
    [
        ("{field: ghost, values: [a]}", "partitions.field: partition field 'ghost' is not declared in fields"),
        ("{field: status}", "partitions: missing required key 'values'"),
        ("{values: [a]}", "partitions: missing required key 'field'"),
        ("{field: status, values: [a], by: x}", "partitions.by: unknown key 'by'"),
        ("[status]", "partitions: must be a mapping"),
        ("{field: status, values: []}", "partitions.values: must be a non-empty list"),
        ("{field: status, values: open}", "partitions.values: must be a non-empty list"),
        ("{field: tags, values: [a]}", "partition field 'tags' is list<string>; partitions need a string, integer"),
        ("{field: extra, values: [a]}", "partition field 'extra' is json; partitions need"),
        ("{field: score, values: [1.5]}", "partition field 'score' is number; partitions need"),
        ("{field: opened_at, values: ['2024-01-01T00:00:00Z']}", "partition field 'opened_at' is timestamp"),
        ("{field: id, values: [1]}", "partition field 'id' needs a server-side eq or in filter"),
        ("{field: status, values: [open, null]}", "partitions.values[1]: null is not a partition value"),
        (
            "{field: status, values: [open, open]}",
            "partitions.values[1]: duplicate partition value 'open' (also values[0])",
        ),
        ("{field: priority, values: [1, '1']}", "partitions.values[1]: duplicate partition value '1' (also values[0])"),
        ("{field: price, values: ['1.5', 1.50]}", "duplicate partition value 1.5"),
        (
            "{field: priority, values: [high]}",
            "partitions.values[0]: value 'high' does not fit the partition field 'priority'",
        ),
        ("{field: priority, values: [3000000000]}", "out of range for int32"),
        ("{field: price, values: ['1.234']}", "more than 2 decimal places"),
        ("{field: urgent, values: [maybe]}", "expected a boolean"),
        ("{field: due, values: [soon]}", "expected a date"),
        ("{field: status, values: [yes, 1]}", "partitions.values[0]: value True must be a string (quote it)"),
        ("{field: status, values: [[a]]}", "partitions.values[0]: must be a single value"),
    ],
)
def test_each_problem_has_a_located_message(declaration: str, fragment: str) -> None:
    text = problems(spec_with(declaration))
    assert "entities[0] (tickets)." in text
    assert fragment in text, text


def test_too_many_values_are_refused() -> None:
    values = ", ".join(f"v{i}" for i in range(1001))
    assert "1001 values; at most 1000 partitions" in problems(spec_with(f"{{field: status, values: [{values}]}}"))


@pytest.mark.parametrize(
    "splits",
    [
        "{by: id_range, field: id, start: 1, end: 100, count: 4}",
        "{by: time_window, field: opened_at, start: '2024-01-01T00:00:00Z'}",
    ],
)
def test_window_hints_on_other_fields_are_accepted(splits: str) -> None:
    entity = load_spec_text(spec_with("{field: status, values: [open]}", f"    splits: {splits}\n")).entity("tickets")
    assert entity.partitions is not None and entity.splits is not None


def test_partitions_and_the_split_field_must_differ_and_parent_hints_do_not_combine() -> None:
    same_field = spec_with(
        "{field: id, values: [1, 2]}", "    splits: {by: id_range, field: id, start: 1, end: 100, count: 4}\n"
    ).replace(
        "id: {ge: {param: id_min}, le: {param: id_max}}",
        "id: {ge: {param: id_min}, le: {param: id_max}, eq: {param: id}}",
    )
    assert "the partition field 'id' is also the split field" in problems(same_field)
    parent = """
version: 1
api: {name: acme, base_url: "https://api.acme.example"}
entities:
  - name: boards
    path: /boards
    fields: {id: int64}
  - name: cards
    path: "/boards/{parent.id}/cards"
    parent: {entity: boards, fields: {board_id: id}}
    fields: {id: int64, board_id: int64, lane: string}
    filters: {lane: {eq: {param: lane}}}
    splits: {by: parent}
    partitions: {field: lane, values: [todo, done]}
"""
    assert "entities[1] (cards).partitions: partitions cannot be combined with splits by parent" in problems(parent)


def test_every_problem_is_reported_at_once() -> None:
    text = problems(spec_with("{field: priority, values: [high, 1, 1, null]}"))
    assert "values[0]: value 'high'" in text
    assert "values[2]: duplicate partition value 1" in text
    assert "values[3]: null is not a partition value" in text
    assert "3 problems" in text


@pytest.mark.parametrize(
    "declaration",
    [
        "{field: status}",
        "{field: status, values: []}",
        "{field: status, values: [a, a]}",
        "{field: status, values: [a], by: x}",
        "{field: 7, values: [a]}",
        "{field: status, values: [[a]]}",
    ],
)
def test_the_json_schema_refuses_what_the_shape_check_refuses(declaration: str) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(yaml.safe_load(spec_with(declaration)), SCHEMA)


def test_the_json_schema_accepts_valid_partitions() -> None:
    jsonschema.validate(yaml.safe_load(spec_with("{field: priority, values: [1, 2, 3]}")), SCHEMA)


# --------------------------------------------------------------------------------- split properties


@pytest.mark.parametrize(
    ("declaration", "field"),
    [
        ("{field: status, values: [open, closed]}", "status"),
        ("{field: priority, values: [1, 2]}", "priority"),
        ("{field: urgent, values: [true]}", "urgent"),
        ("{field: due, values: ['2024-01-01']}", "due"),
        ("{field: price, values: ['9.99', '10']}", "price"),
    ],
)
def test_partition_properties_round_trip_into_predicates(declaration: str, field: str) -> None:
    entity = load_spec_text(spec_with(declaration)).entity("tickets")
    assert entity.partitions is not None
    for value in entity.partitions.values:
        scope = partition_scope(entity, partition_properties(entity, value))
        assert scope.pushed == (Predicate(field, Op.EQ, value),)
        assert not scope.local and not scope.lenient_nulls
    other = partition_properties(entity, None)
    assert other[PARTITION_OTHER].startswith(f"{len(entity.partitions.values)}:")
    scope = partition_scope(entity, other)
    assert not scope.pushed
    assert scope.local == tuple(Predicate(field, Op.NE, v) for v in entity.partitions.values)
    assert scope.lenient_nulls == frozenset({field})


def test_no_partition_properties_mean_no_partition_predicates() -> None:
    entity = load_spec("demo").entity("deals")
    scope = partition_scope(entity, {"split.kind": "time_window"})
    assert scope.pushed == scope.local == () and not scope.lenient_nulls
    with pytest.raises(ValueError, match="partition.value or partition.other"):
        partition_scope(entity, {"partition.field": "stage"})
    with pytest.raises(KeyError):
        partition_scope(entity, {"partition.field": "ghost", "partition.value": "x"})


def test_a_catch_all_planned_for_other_declared_values_is_refused() -> None:
    first = load_spec_text(spec_with("{field: status, values: [open, closed]}")).entity("tickets")
    later = load_spec_text(spec_with("{field: status, values: [open, closed, pending]}")).entity("tickets")
    other = partition_properties(first, None)
    assert partition_properties(later, None) != other
    with pytest.raises(ValueError, match="the spec changed while the query ran"):
        partition_scope(later, other)
