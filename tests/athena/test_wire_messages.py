"""Emitting messages built in Python: strictness, key orders, versions and constraint round trips."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from athena_connector.wire import (
    CAPABILITIES,
    SERDE_VERSION,
    AllOrNoneValueSet,
    ArrowType,
    Block,
    Bound,
    ConstantExpression,
    Constraints,
    EncryptionKey,
    EquatableValueSet,
    FederatedIdentity,
    FederationThrottleException,
    FunctionCallExpression,
    GetDataSourceCapabilitiesRequest,
    GetDataSourceCapabilitiesResponse,
    GetSplitsResponse,
    GetTableRequest,
    GetTableResponse,
    LambdaError,
    ListSchemasResponse,
    ListTablesResponse,
    Marker,
    OrderByField,
    PingRequest,
    PingResponse,
    QueryPlan,
    Range,
    ReadRecordsRequest,
    ReadRecordsResponse,
    RemoteReadRecordsResponse,
    S3SpillLocation,
    SortDirection,
    SortedRangeSet,
    Split,
    TableName,
    VariableExpression,
    WireError,
    parse_request,
    to_wire,
)
from athena_connector.wire.responses import lambda_error_from_wire

IDENTITY = FederatedIdentity("123456789012", "arn:aws:iam::123456789012:user/me", {"team": "x"}, ("g",), {"k": "v"})
TABLE = TableName("sales", "orders")
F64 = pa.float64()


def test_declared_versions() -> None:
    assert (SERDE_VERSION, CAPABILITIES) == (5, 24)
    ping = to_wire(PingResponse("lambda:fn", "q-1", "saas"))
    assert ping == {
        "@type": "PingResponse",
        "catalogName": "lambda:fn",
        "queryId": "q-1",
        "sourceType": "saas",
        "capabilities": 24,
        "serDeVersion": 5,
    }


def test_split_without_encryption_and_bucket_writes_nulls() -> None:
    split = Split(S3SpillLocation(None, "spill/q/1", True), None, {"shard": "7"})
    wire = to_wire(GetSplitsResponse("c", [split]))
    assert wire == {
        "@type": "GetSplitsResponse",
        "catalogName": "c",
        "splits": [
            {
                "spillLocation": {
                    "@type": "S3SpillLocation",
                    "bucket": None,
                    "key": "spill/q/1",
                    "directory": True,
                },
                "encryptionKey": None,
                "properties": {"shard": "7"},
            }
        ],
        "continuationToken": None,
    }
    assert list(wire["splits"][0]) == ["spillLocation", "encryptionKey", "properties"]
    assert json.loads(json.dumps(wire)) == wire


def test_remote_read_records_with_real_key() -> None:
    schema = pa.schema([("id", pa.int64())])
    key = EncryptionKey(bytes(range(32)), bytes(range(12)))
    base = S3SpillLocation("b", "spill/q/split", True)
    wire = to_wire(RemoteReadRecordsResponse("c", schema, [base.block(0), base.block(1)], key))
    assert list(wire) == ["@type", "catalogName", "schema", "remoteBlocks", "encryptionKey"]
    assert [b["key"] for b in wire["remoteBlocks"]] == ["spill/q/split.0", "spill/q/split.1"]
    assert all(b["directory"] is False for b in wire["remoteBlocks"])
    assert wire["encryptionKey"] == {
        "key": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        "nonce": "AAECAwQFBgcICQoL",
    }
    assert to_wire(RemoteReadRecordsResponse("c", schema, [], None))["encryptionKey"] is None


def test_inline_read_records_block() -> None:
    batch = pa.RecordBatch.from_pydict({"id": [1, 2]})
    wire = to_wire(ReadRecordsResponse("c", Block(batch, "alloc")))
    assert list(wire["records"]) == ["aId", "schema", "records"] and wire["records"]["aId"] == "alloc"


@pytest.mark.parametrize(
    ("response", "path"),
    [
        (ListSchemasResponse(None, ["a"]), "ListSchemasResponse.catalogName"),  # type: ignore[arg-type]
        (ListSchemasResponse("c", ["a", 3]), "ListSchemasResponse.schemas[1]"),  # type: ignore[list-item]
        (ListTablesResponse("c", [("s", "t")]), "ListTablesResponse.tables[0]"),  # type: ignore[list-item]
        (ListTablesResponse("c", [], 5), "ListTablesResponse.nextToken"),  # type: ignore[arg-type]
        (PingResponse("c", "q", "s", capabilities="24"), "PingResponse.capabilities"),  # type: ignore[arg-type]
        (GetSplitsResponse("c", [object()]), "GetSplitsResponse.splits[0]"),  # type: ignore[list-item]
        (
            GetSplitsResponse("c", [Split(S3SpillLocation("b", "k", True), None, {"n": 1})]),  # type: ignore[dict-item]
            "GetSplitsResponse.splits[0].properties.n",
        ),
        (
            GetSplitsResponse("c", [Split(S3SpillLocation("b", "k", True), EncryptionKey("k", b"n"), {})]),  # type: ignore[arg-type]
            "GetSplitsResponse.splits[0].encryptionKey.key",
        ),
        (ReadRecordsResponse("c", pa.RecordBatch.from_pydict({"a": [1]})), "ReadRecordsResponse.records"),  # type: ignore[arg-type]
        (
            GetTableResponse("c", TABLE, pa.schema([("ts", pa.timestamp("ms"))])),
            "GetTableResponse.schema",
        ),
        (
            GetTableResponse("c", TABLE, pa.schema([("id", pa.int64())]), ["day"]),
            "GetTableResponse.partitionColumns[0]",
        ),
    ],
)
def test_invalid_responses_are_refused_with_a_path(response, path: str) -> None:
    with pytest.raises(WireError) as info:
        to_wire(response)
    assert info.value.path == path


def test_to_wire_refuses_non_messages_and_bad_versions() -> None:
    with pytest.raises(WireError, match="not a wire message"):
        to_wire({"@type": "PingResponse"})
    for version in (1, 7, "5"):
        with pytest.raises(WireError, match="serde_version"):
            to_wire(PingResponse("c", "q", "s"), serde_version=version)  # type: ignore[arg-type]


def test_capabilities_response_shape() -> None:
    from athena_connector.wire.responses import (
        COMPLEX_EXPRESSION_PUSHDOWN,
        FILTER_PUSHDOWN,
        LIMIT_PUSHDOWN,
        OptimizationSubType,
    )

    caps = {
        FILTER_PUSHDOWN: [
            OptimizationSubType("sorted_range_set"),
            OptimizationSubType("equatable_range_set"),
        ],
        COMPLEX_EXPRESSION_PUSHDOWN: [OptimizationSubType("supported_function_expression_types", ["$and"])],
        LIMIT_PUSHDOWN: [OptimizationSubType("integer_constant")],
    }
    wire = to_wire(GetDataSourceCapabilitiesResponse("c", caps))
    assert list(wire["capabilities"]) == [FILTER_PUSHDOWN, COMPLEX_EXPRESSION_PUSHDOWN, LIMIT_PUSHDOWN]
    assert wire["capabilities"][FILTER_PUSHDOWN][0] == {"subType": "sorted_range_set", "properties": []}
    assert to_wire(GetDataSourceCapabilitiesResponse("c"))["capabilities"] == {}


def test_lambda_error_from_exception_and_nested_cause() -> None:
    try:
        try:
            raise KeyError("inner")
        except KeyError as inner:
            raise RuntimeError("outer") from inner
    except RuntimeError as exc:
        error = LambdaError.from_exception(exc)
    wire = to_wire(error)
    assert list(wire) == ["errorMessage", "errorType", "stackTrace", "cause"]
    assert (wire["errorType"], wire["errorMessage"]) == ("RuntimeError", "outer")
    assert wire["cause"]["errorType"] == "KeyError"
    assert lambda_error_from_wire({"errorType": "T", "errorMessage": "m", "stackTrace": [["a", "b"], "c"]}) == (
        LambdaError("T", "m", ("a", "b", "c"))
    )


def test_throttle_exception_reports_the_java_type_name() -> None:
    exc = FederationThrottleException("slow down")
    assert type(exc).__name__ == "com.amazonaws.athena.connector.lambda.exceptions.FederationThrottleException"
    assert isinstance(exc, RuntimeError)


# ----------------------------------------------------------------------------------- constraints by version


def _full_constraints() -> Constraints:
    return Constraints(
        summary={
            "price": SortedRangeSet(
                ArrowType.from_pyarrow(F64),
                (Range.between(F64, 1.5, 9.0, high_inclusive=False), Range.equal(42.0, F64)),
                True,
            ),
            "state": EquatableValueSet.of(["open", "closed"], pa.string()),
            "note": AllOrNoneValueSet(ArrowType.of("Utf8"), True, False),
        },
        expression=(
            FunctionCallExpression(
                ArrowType.of("Bool"),
                "$in",
                (
                    VariableExpression("id", ArrowType.from_pyarrow(pa.int64())),
                    ConstantExpression(
                        EquatableValueSet.of([1, 2, 3], pa.int64()).value_block,
                        ArrowType.from_pyarrow(pa.int64()),
                    ),
                ),
            ),
        ),
        order_by=(OrderByField("price", SortDirection.DESC_NULLS_LAST),),
        limit=100,
        query_passthrough_arguments={"QUERY": "select 1", "schemaFunctionName": "SYSTEM.QUERY"},
        query_plan=QueryPlan("0.1", "AAEC"),
    )


def _read_records(constraints: Constraints) -> ReadRecordsRequest:
    return ReadRecordsRequest(
        IDENTITY,
        "q",
        "c",
        TABLE,
        pa.schema([("id", pa.int64()), ("price", F64)]),
        Split(S3SpillLocation("b", "k", True), EncryptionKey(bytes(32), bytes(12)), {"p": "1"}),
        constraints,
        16_000_000,
        3_465_000,
    )


@pytest.mark.parametrize(
    ("version", "keys"),
    [
        (2, ["summary"]),
        (3, ["summary"]),
        (4, ["summary", "expression", "orderByClause", "limit"]),
        (5, ["summary", "expression", "orderByClause", "limit", "queryPassthroughArguments"]),
        (6, ["summary", "expression", "orderByClause", "limit", "queryPassthroughArguments", "queryPlan"]),
    ],
)
def test_constraints_keys_per_version(version: int, keys: list[str]) -> None:
    full = _full_constraints()
    wire = to_wire(_read_records(full), serde_version=version)
    assert list(wire["constraints"]) == keys
    assert wire["maxBlockSize"] == "16000000" and wire["maxInlineBlockSize"] == "3465000"
    back = parse_request(json.loads(json.dumps(wire))).constraints
    assert back.summary == full.summary
    if version >= 4:
        assert (back.expression, back.order_by, back.limit) == (full.expression, full.order_by, 100)
    if version >= 5:
        assert dict(back.query_passthrough_arguments) == dict(full.query_passthrough_arguments)
    assert back.query_plan == (full.query_plan if version >= 6 else None)


def test_null_query_plan_is_written_as_null() -> None:
    wire = to_wire(_read_records(Constraints()), serde_version=6)
    assert wire["constraints"]["queryPlan"] is None
    assert parse_request(wire).constraints == Constraints()


def test_get_table_request_passthrough_only_from_v5() -> None:
    request = GetTableRequest(IDENTITY, "q", "c", TABLE, {"QUERY": "select 1"})
    assert "queryPassthroughArguments" not in to_wire(request, serde_version=4)
    assert to_wire(request, serde_version=5)["queryPassthroughArguments"] == {"QUERY": "select 1"}


def test_identity_is_written_in_sdk_order() -> None:
    wire = to_wire(PingRequest(IDENTITY, "c", "q"))
    assert list(wire) == ["@type", "identity", "catalogName", "queryId"]
    assert list(wire["identity"]) == ["id", "principal", "account", "arn", "tags", "groups", "configOptions"]
    assert (wire["identity"]["id"], wire["identity"]["principal"]) == ("UNKNOWN", "UNKNOWN")
    assert parse_request(wire) == PingRequest(IDENTITY, "c", "q")


def test_null_identity_and_v1_identity_keys() -> None:
    assert parse_request(to_wire(GetDataSourceCapabilitiesRequest(None, "q", "c"))).identity is None
    event = {
        "@type": "ListSchemasRequest",
        "identity": {"arn": "a", "account": "1", "principalTags": {"t": "v"}, "iamGroups": ["g"]},
        "queryId": "q",
        "catalogName": "c",
    }
    identity = parse_request(event).identity
    assert identity == FederatedIdentity("1", "a", {"t": "v"}, ("g",), {})


def test_range_semantics() -> None:
    r = Range.between(F64, 1.0, None, low_inclusive=False)
    assert (r.low.bound, r.low.value, r.low_inclusive) == (Bound.ABOVE, 1.0, False)
    assert (r.high.bound, r.high.is_unbounded, r.high.value, r.high_inclusive) == (
        Bound.BELOW,
        True,
        None,
        False,
    )
    assert Range.equal(3.0, F64).is_single_value and not r.is_single_value
    assert Range(Marker.lower_unbounded(F64), Marker.upper_unbounded(F64)).is_all


def test_timestamp_marker_values_decode_to_datetimes() -> None:
    moment = dt.datetime(2023, 1, 2, 3, 4, 5, 6000)
    vs = SortedRangeSet(ArrowType.of("Date", unit="MILLISECOND"), (Range.equal(moment, pa.date64()),), False)
    request = _read_records(Constraints(summary={"ts": vs}))
    back = parse_request(to_wire(request)).constraints.summary["ts"]
    assert isinstance(back, SortedRangeSet) and back.ranges[0].low.value == moment


@given(
    st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=30),
    st.booleans(),
    st.booleans(),
    st.sampled_from([2, 3, 4, 5, 6]),
)
def test_equatable_value_set_round_trip_property(values: list[int], white: bool, nulls: bool, version: int) -> None:
    vs = EquatableValueSet.of(values, pa.int64(), white_list=white, null_allowed=nulls)
    wire = to_wire(_read_records(Constraints(summary={"c": vs})), serde_version=version)
    back = parse_request(wire).constraints.summary["c"]
    assert isinstance(back, EquatableValueSet)
    assert (back.values, back.white_list, back.null_allowed) == (values, white, nulls)


@given(st.text(), st.text(), st.integers(min_value=-1, max_value=10_000))
def test_list_tables_round_trip_property(schema_name: str, token: str, page_size: int) -> None:
    from athena_connector.wire import ListTablesRequest

    request = ListTablesRequest(IDENTITY, "q", "c", schema_name, token or None, page_size)
    assert parse_request(json.dumps(to_wire(request))) == request


def test_out_of_range_timestamp_marker_fails_only_on_access() -> None:
    """Engine defect (issues #831/#1018): a timestamp literal sent in microseconds is beyond datetime's
    range. The request still parses; the raw value is available and `.value` raises a located WireError."""
    micros = 1_700_000_000_000_000  # 2023-11-14 in microseconds, read as milliseconds: year ~55840
    marker = Marker.of(micros, pa.date64(), Bound.EXACTLY)
    vs = SortedRangeSet(ArrowType.of("Date", unit="MILLISECOND"), (Range(marker, marker),), False)
    parsed = parse_request(to_wire(_read_records(Constraints(summary={"ts": vs})))).constraints.summary["ts"]
    assert isinstance(parsed, SortedRangeSet)
    low = parsed.ranges[0].low
    assert low.raw_value == micros and parsed.ranges[0].is_single_value
    with pytest.raises(WireError, match="cannot decode date64"):
        _ = low.value
