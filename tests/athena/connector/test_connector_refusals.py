"""Issue 17 items 7 and 8 on the Athena side, through ``lambda_handler`` with JSON events: input that used to end in
an opaque "unexpected ..." error gets a typed one naming the field, and input that used to be answered wrongly
(an unknown split kind reading the whole table, a token past the end answered as "no more splits", a requested
type Athena cannot read, a timestamp cast as a plain number, an oversized zero-row answer) is refused."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pyarrow as pa
import pytest

from athena_connector.wire import (
    ArrowType,
    Constraints,
    EquatableValueSet,
    GetSplitsRequest,
    GetTableLayoutRequest,
    Range,
    ReadRecordsRequest,
    SortedRangeSet,
    Split,
    to_wire,
)
from athena_connector.wire.constraints import constraints_to_wire
from athena_connector.wire.timestamps import unpack
from tests.athena.connector.harness import CATALOG, IDENTITY, Connector, table_name
from tests.athena.connector.test_connector_bad_input import fails, read_event

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _with_split(connector: Connector, entity: str, properties: dict[str, str]) -> dict[str, Any]:
    splits, _ = connector.splits(entity)
    split = Split(splits[0].spill_location, splits[0].encryption_key, properties)
    request = ReadRecordsRequest(
        IDENTITY, "q", CATALOG, table_name(entity), connector.table_schema(entity), split, Constraints(), 16_000_000,
        3_465_000,
    )  # fmt: skip
    return json.loads(json.dumps(to_wire(request)))


# ------------------------------------------------------------------------------------------------- splits


@pytest.mark.parametrize(
    ("properties", "fragment"),
    [
        ({"split.kind": "bogus"}, "unknown split.kind 'bogus'"),
        ({"split.kind": "everything", "split.field": "id"}, "unknown split.kind 'everything'"),
        ({"split.kind": "parent"}, "a parent split needs split.parents"),
        ({"split.kind": "id_range", "split.low": "1"}, "a id_range split needs split.field"),
    ],
)
def test_a_split_of_an_unknown_kind_is_refused_not_read_whole(
    connector: Connector, properties: dict[str, str], fragment: str
) -> None:
    fails(_with_split(connector, "accounts", properties), "InvalidInputException", "split properties", fragment)


def test_deeply_nested_split_parents_is_a_typed_error(connector: Connector) -> None:
    deep = {"split.kind": "parent", "split.parents": "[" * 5000 + "]" * 5000}
    message = fails(_with_split(connector, "activities", deep), "InvalidInputException", "split properties")
    assert "unexpected" not in message


def _splits_token(connector: Connector, entity: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A real GetSplits event and the state inside the continuation token it gets back (one split per page)."""
    connector.setenv("max_splits_per_response", "1")
    partitions = connector.layout(entity)
    request = GetSplitsRequest(IDENTITY, "q", CATALOG, table_name(entity), partitions, (), Constraints(), None)
    out = connector.invoke(request)
    token = out["continuationToken"]
    assert token is not None and len(out["splits"]) == 1
    state = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    return json.loads(json.dumps(to_wire(request))), state


def _token(state: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode().rstrip("=")


@pytest.mark.parametrize("index", [1e20, 10**20, -3, "x", 1, [1], None])
def test_a_continuation_token_out_of_range_is_refused(connector: Connector, index: Any) -> None:
    event, state = _splits_token(connector, "accounts")  # accounts: no partitions, so partition index 0 only
    event["continuationToken"] = _token({**state, "pi": index})
    fails(event, "InvalidInputException", "continuationToken", "resumes at partition")


@pytest.mark.parametrize("edge", ["not-an-id", 12.5, ["1"], {"a": 1}])
def test_a_continuation_token_edge_that_is_not_a_split_value_is_refused(connector: Connector, edge: Any) -> None:
    event, state = _splits_token(connector, "accounts")  # id ranges: the edge is an id
    event["continuationToken"] = _token({**state, "e": edge})
    fails(event, "InvalidInputException", "continuationToken", "resumes at")


def test_the_tokens_it_issues_still_answer_to_the_last_page(connector: Connector) -> None:
    event, state = _splits_token(connector, "accounts")
    pages = 1
    while True:
        event["continuationToken"] = _token(state)
        out = connector.invoke(event)
        pages += 1
        assert len(out["splits"]) == 1
        token = out["continuationToken"]
        if token is None:
            break
        state = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        assert pages < 100
    assert pages >= 4  # accounts: 4 id ranges at least, one split per page


@pytest.mark.parametrize(
    ("token", "fragment"),
    [
        (base64.urlsafe_b64encode(b"[" * 5000).decode(), "is not one this connector issued"),
        (None, "planning instant"),
    ],
)
def test_corrupt_continuation_tokens_are_typed_errors(connector: Connector, token: str | None, fragment: str) -> None:
    event, state = _splits_token(connector, "contacts")  # time windows: the token carries the planning instant
    event["continuationToken"] = token or _token({**state, "n": ["not", "a", "timestamp"]})
    fails(event, "InvalidInputException", "continuationToken", fragment)


# --------------------------------------------------------------------------------------- numbers and names


@pytest.mark.parametrize("value", [str(10**400), 10**400, "9" * 5000, "-" + "0" * 5000 + "1" * 20, 2**63])
def test_max_block_size_beyond_a_long_is_a_typed_error(connector: Connector, value: Any) -> None:
    event = read_event(connector)
    event["maxBlockSize"] = value
    fails(event, "InvalidInputException", "ReadRecordsRequest.maxBlockSize", "out of range")


def _bad_utf8(b64: str, name: str) -> str:
    raw = bytearray(base64.b64decode(b64))
    at = raw.find(name.encode())
    assert at >= 0
    raw[at + 1] = 0xFF
    return base64.b64encode(bytes(raw)).decode()


def test_a_field_name_that_is_not_utf8_is_a_typed_error(connector: Connector) -> None:
    event = read_event(connector, "accounts")
    event["schema"] = _bad_utf8(event["schema"], "name")
    fails(event, "InvalidInputException", "ReadRecordsRequest.schema.fields[", "not valid UTF-8")
    constraints = Constraints(summary={"industry": EquatableValueSet.of(["Retail"], pa.string())})
    event = read_event(connector, "accounts")
    event["constraints"] = constraints_to_wire(constraints, 5)
    block = event["constraints"]["summary"]["industry"]["valueBlock"]
    block["schema"] = _bad_utf8(block["schema"], "col1")
    fails(event, "InvalidInputException", "constraints.summary.industry.valueBlock.schema", "not valid UTF-8")


@pytest.mark.parametrize(
    ("column", "value_set", "holds"),
    [
        ("industry", EquatableValueSet.of([1, 2], pa.int64()), "int64"),
        ("employees", EquatableValueSet.of(["many"], pa.string()), "string"),
        ("id", EquatableValueSet.of([1.5], pa.float64()), "double"),
        ("name", SortedRangeSet(ArrowType.of("Utf8"), (Range.equal(5, pa.int64()),), False), "int64"),
        ("employees", SortedRangeSet(ArrowType.of("Utf8"), (Range.between(pa.string(), "a", "b"),), False), "string"),
    ],
)
def test_a_value_set_of_another_type_than_its_column_is_refused(
    connector: Connector, column: str, value_set: Any, holds: str
) -> None:
    constraints = Constraints(summary={column: value_set})
    event = read_event(connector, "accounts")
    event["constraints"] = constraints_to_wire(constraints, 5)
    fails(event, "InvalidInputException", f"constraints.summary.{column}", f"holds {holds} values")
    schema = connector.table_schema("accounts")
    layout = GetTableLayoutRequest(IDENTITY, "q", CATALOG, table_name("accounts"), constraints, schema, ())
    fails(to_wire(layout), "InvalidInputException", f"constraints.summary.{column}")
    partitions = connector.layout("accounts")
    splits = GetSplitsRequest(IDENTITY, "q", CATALOG, table_name("accounts"), partitions, (), constraints, None)
    fails(to_wire(splits), "InvalidInputException", f"constraints.summary.{column}")


def test_value_sets_of_compatible_types_still_filter(connector: Connector) -> None:
    """int32 values on an int64 column, and date64 bounds on the timestamp column: what the filter compares exactly."""
    schema = connector.table_schema("accounts")
    splits, _ = connector.splits("accounts")
    constraints = Constraints(summary={"id": EquatableValueSet.of([3, 5], pa.int32())})
    rows = [connector.read_split("accounts", s, schema, constraints)[0] for s in splits]
    assert sorted(i for t in rows for i in t.column("id").to_pylist()) == [3, 5]


# ----------------------------------------------------------------------------------------- requested types


@pytest.mark.parametrize(
    "wanted",
    [
        pa.uint64(),
        pa.large_string(),
        pa.float16(),
        pa.decimal256(40, 2),
        pa.timestamp("ns", tz="UTC"),
        pa.timestamp("ms"),
    ],
)
def test_a_requested_type_athena_cannot_read_is_refused(connector: Connector, wanted: pa.DataType) -> None:
    column = {pa.large_string(): "name"}.get(wanted, "employees" if not pa.types.is_timestamp(wanted) else "updated_at")
    schema = pa.schema([("id", pa.int64()), (column, wanted)])
    fails(
        read_event(connector, "accounts", schema=schema),
        "InvalidInputException",
        f"column '{column}' has type {wanted}",
        "the types Athena reads are",
        "Decimal128",
        "Timestamp MILLISECOND or MICROSECOND with a zone",
    )


def _instants(connector: Connector, wanted: pa.DataType) -> tuple[list[Any], list[Any]]:
    """(the table's own updated_at values as UTC milliseconds, the same rows read with ``wanted``)."""
    table_schema = connector.table_schema("accounts")
    own_type = table_schema.field("updated_at").type
    splits, _ = connector.splits("accounts")
    own, asked = [], []
    for split in splits:
        own_rows, _ = connector.read_split("accounts", split, pa.schema([("id", pa.int64()), ("updated_at", own_type)]))
        asked_rows, _ = connector.read_split("accounts", split, pa.schema([("id", pa.int64()), ("updated_at", wanted)]))
        assert asked_rows.schema.field("updated_at").type == wanted
        own += _millis(own_rows.column("updated_at").combine_chunks())
        asked += _millis(asked_rows.column("updated_at").combine_chunks())
    return own, asked


def _millis(column: pa.Array) -> list[Any]:
    """What Athena reads: date64 as milliseconds, Timestamp(ms, zone) unpacked, Timestamp(us, zone) divided."""
    raw = column.view(pa.int64()).to_pylist()
    if pa.types.is_date64(column.type):
        return raw
    if column.type.unit == "ms":
        return [None if v is None else unpack(v)[0] for v in raw]
    return [None if v is None else v // 1000 for v in raw]


@pytest.mark.parametrize(
    ("mode", "wanted"),
    [
        ("timestamp", pa.timestamp("ms", tz="UTC")),
        ("timestamp", pa.timestamp("ms", tz="Europe/Paris")),
        ("timestamp", pa.timestamp("us", tz="UTC")),
        ("timestamp_with_time_zone", pa.date64()),
        ("timestamp_with_time_zone", pa.timestamp("us", tz="UTC")),
    ],
)
def test_timestamps_are_returned_as_the_instant_athena_reads(
    connector: Connector, mode: str, wanted: pa.DataType
) -> None:
    connector.setenv("timestamp_type", mode)
    own, asked = _instants(connector, wanted)
    assert own and asked == own
    assert min(v for v in asked if v is not None) > (dt.datetime(2000, 1, 1, tzinfo=dt.UTC) - _EPOCH) // dt.timedelta(
        milliseconds=1
    )


def test_a_zone_athena_has_no_key_for_is_refused(connector: Connector) -> None:
    schema = pa.schema([("id", pa.int64()), ("updated_at", pa.timestamp("ms", tz="Mars/Olympus"))])
    fails(read_event(connector, "accounts", schema=schema), "InvalidInputException", "updated_at", "Mars/Olympus")


# ---------------------------------------------------------------------------------------------- answer size


def test_a_zero_row_answer_over_the_response_limit_is_refused(connector: Connector) -> None:
    """Nothing matches (an empty IN list), so the answer has no rows; its echoed catalog name is 7 MB."""
    event = read_event(connector, "accounts")
    event["constraints"] = constraints_to_wire(Constraints(summary={"id": EquatableValueSet.of([], pa.int64())}), 5)
    event["catalogName"] = "c" * 7_000_000
    fails(event, "InternalServiceException", "over Lambda's 6 MB limit")
    event["catalogName"] = CATALOG
    out = connector.invoke(event)
    assert out["@type"] == "ReadRecordsResponse" and out["records"]["records"] == ""
