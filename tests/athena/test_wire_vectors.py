"""The wire layer against the Java SDK's serde vectors (tests/fixtures/athena-vectors)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from athena_connector.wire import (
    AllOrNoneValueSet,
    Block,
    Bound,
    ConstantExpression,
    EncryptionKey,
    EquatableValueSet,
    FunctionCallExpression,
    GetDataSourceCapabilitiesResponse,
    GetSplitsRequest,
    GetSplitsResponse,
    GetTableLayoutRequest,
    GetTableLayoutResponse,
    GetTableRequest,
    GetTableResponse,
    LambdaError,
    ListSchemasRequest,
    ListSchemasResponse,
    ListTablesRequest,
    ListTablesResponse,
    OptimizationSubType,
    PingRequest,
    PingResponse,
    ReadRecordsRequest,
    ReadRecordsResponse,
    RemoteReadRecordsResponse,
    S3SpillLocation,
    SortDirection,
    SortedRangeSet,
    Split,
    TableName,
    UserDefinedFunctionRequest,
    UserDefinedFunctionResponse,
    VariableExpression,
    parse_request,
    to_wire,
)
from athena_connector.wire.responses import RESPONSE_KEY_ORDER, lambda_error_from_wire
from tests.athena.conftest import VECTORS_DIR


def _names(pattern: str) -> list[str]:
    """Vector names; an empty list fails collection's sanity test rather than skipping silently."""
    return sorted(p.name for p in VECTORS_DIR.glob(pattern))


REQUEST_VECTORS = _names("*Request*.json")
INT32 = pa.int32()
ALLOC = "test-allocator-id"
TABLE = TableName("test-schema", "test-table")
SEVEN_COLUMNS = pa.schema(
    [("year", INT32), ("month", INT32), ("day", INT32), ("col2", pa.string())]
    + [(c, pa.float64()) for c in ("col3", "col4", "col5")]
)


def _version_of(name: str) -> int:
    """Serde version a vector was written with (the ``common_`` ones used the V2 mapper)."""
    prefix = name.split("_")[1] if name.startswith("hist_") else name.split("_", maxsplit=1)[0]
    return int(prefix[1:]) if prefix.startswith("v") else 2


def _int_block(**columns: list[int | None]) -> Block:
    schema = pa.schema([(name, INT32) for name in columns])
    return Block.from_pydict(columns, schema, ALLOC)


# ------------------------------------------------------------------------------------------------ requests


def test_vector_directory_lists_every_request_type(vectors_dir: Path) -> None:
    kinds = {json.loads(p.read_text()).get("@type") for p in vectors_dir.glob("*Request*.json")}
    assert kinds >= {
        "PingRequest",
        "ListSchemasRequest",
        "ListTablesRequest",
        "GetTableRequest",
        "GetTableLayoutRequest",
        "GetSplitsRequest",
        "ReadRecordsRequest",
        "UserDefinedFunctionRequest",
    }


@pytest.mark.parametrize("name", REQUEST_VECTORS)
def test_every_request_vector_parses_to_its_type(name: str, load_vector) -> None:
    event = load_vector(name)
    request = parse_request(event)
    assert type(request).__name__ == event["@type"]
    assert event["@type"] == type(request).WIRE_TYPE


@pytest.mark.parametrize("name", REQUEST_VECTORS)
def test_request_survives_emit_and_reparse(name: str, load_vector) -> None:
    request = parse_request(load_vector(name))
    emitted = to_wire(request, serde_version=_version_of(name))
    assert json.loads(json.dumps(emitted)) == emitted
    assert parse_request(emitted) == request


@pytest.mark.parametrize(
    "name",
    [n for n in REQUEST_VECTORS if n.startswith(("v", "common_PingRequest.json"))],
)
def test_request_emits_exactly_the_vector(name: str, load_vector, same_wire) -> None:
    """Current-SDK vectors: parse -> emit with the vector's serde version reproduces keys, order and data."""
    vector = load_vector(name)
    same_wire(to_wire(parse_request(vector), serde_version=_version_of(name)), vector)


def test_forward_compatible_ping_request_ignores_trailing_field(load_vector) -> None:
    plain = parse_request(load_vector("common_PingRequest.json"))
    assert parse_request(load_vector("common_PingRequestForwardsCompatible.json")) == plain
    assert plain == PingRequest(plain.identity, "test-catalog", "test-query-id")


@pytest.mark.parametrize(
    "name",
    [
        "common_PingRequest.json",
        "hist_common_PingRequest_identity_without_configOptions.json",
        "v2_ListSchemasRequest.json",
        "v5_GetTableRequest.json",
        "hist_v5_GetTableRequest_identity_without_configOptions.json",
    ],
)
def test_test_identity_is_decoded(name: str, load_vector) -> None:
    identity = parse_request(load_vector(name)).identity
    assert identity is not None
    assert (identity.account, identity.arn, dict(identity.tags), identity.groups) == (
        "0123456789",
        "testArn",
        {},
        (),
    )
    assert dict(identity.config_options) == {}


def test_list_schemas_request_fields(load_vector) -> None:
    request = parse_request(load_vector("v2_ListSchemasRequest.json"))
    assert isinstance(request, ListSchemasRequest)
    assert (request.query_id, request.catalog_name) == ("test-query-id", "test-catalog")


@pytest.mark.parametrize(
    ("name", "token", "page_size", "paged"),
    [
        ("v2_ListTablesRequest.json", "table4", 25, True),
        ("hist_v2_ListTablesRequest_unpaginated_null_token.json", None, -1, False),
        ("hist_v2_ListTablesRequest_without_pagination_fields.json", None, -1, False),
        ("javatest_v2_ListTablesRequest_no_configOptions.json", "testTable", 5, True),
    ],
)
def test_list_tables_paging_shapes(name: str, token: str | None, page_size: int, paged: bool, load_vector) -> None:
    request = parse_request(load_vector(name))
    assert isinstance(request, ListTablesRequest)
    assert (request.next_token, request.page_size, request.is_paged) == (token, page_size, paged)


def test_java_entry_point_request_without_config_options(load_vector) -> None:
    request = parse_request(load_vector("javatest_v2_ListTablesRequest_no_configOptions.json"))
    assert isinstance(request, ListTablesRequest)
    assert request.identity is not None
    assert request.identity.arn == "arn:aws:iam::12345678910:user/test@test.com"
    assert dict(request.identity.config_options) == {}
    assert (request.catalog_name, request.schema_name) == ("testCatalog", "testSchema")


@pytest.mark.parametrize(
    ("name", "arguments"),
    [
        ("v2_GetTableRequest.json", {}),
        ("v5_GetTableRequest.json", {"query": "SELECT * FROM DUMMY_TABLE;"}),
        (
            "hist_v5_GetTableRequest_identity_without_configOptions.json",
            {"query": "SELECT * FROM DUMMY_TABLE;"},
        ),
    ],
)
def test_get_table_request_passthrough_arguments(name: str, arguments: dict[str, str], load_vector) -> None:
    request = parse_request(load_vector(name))
    assert isinstance(request, GetTableRequest)
    assert request.table_name == TABLE
    assert dict(request.query_passthrough_arguments) == arguments


def _assert_standard_summary(summary) -> None:
    assert list(summary) == ["col4", "col5", "col3"]  # kept in wire order
    col3, col4, col5 = summary["col3"], summary["col4"], summary["col5"]
    assert isinstance(col3, SortedRangeSet)
    assert col3.type.to_pyarrow() == pa.float64() and col3.null_allowed is False
    (only,) = col3.ranges
    assert (only.low.value, only.low.bound, only.low.is_unbounded) == (-10000.0, Bound.ABOVE, False)
    assert not only.low_inclusive
    assert (only.high.value, only.high.bound, only.high.is_unbounded) == (None, Bound.BELOW, True)
    assert only.high.arrow_type == pa.float64()
    assert isinstance(col4, EquatableValueSet)
    assert (col4.values, col4.white_list, col4.null_allowed) == ([1.1], False, True)
    assert isinstance(col5, AllOrNoneValueSet)
    assert (col5.type.to_pyarrow(), col5.all, col5.null_allowed) == (pa.float64(), False, True)


@pytest.mark.parametrize("name", [n for n in REQUEST_VECTORS if "ReadRecordsRequest" in n])
def test_read_records_request_fields(name: str, load_vector) -> None:
    request = parse_request(load_vector(name))
    assert isinstance(request, ReadRecordsRequest)
    # The Java test swapped the two values; the JSON is authoritative and is taken literally.
    assert (request.query_id, request.catalog_name) == ("test-catalog", "test-query-id")
    assert request.table_name == TABLE
    assert request.schema.equals(SEVEN_COLUMNS)
    assert request.split == Split(
        S3SpillLocation("athena-virtuoso-test", "lambda-spill/test-query-id/test-split-id", True),
        EncryptionKey(b"test-key", b"test-nonce"),
        {"month": "11", "year": "2017", "day": "1"},
    )
    assert (request.max_block_size, request.max_inline_block_size) == (100_000_000_000, 100_000_000_000)
    _assert_standard_summary(request.constraints.summary)


@pytest.mark.parametrize(
    ("name", "pushdown", "passthrough", "plan"),
    [
        ("v2_ReadRecordsRequest.json", False, False, False),
        ("hist_v2_ReadRecordsRequest_identity_without_configOptions.json", False, False, False),
        ("v4_ReadRecordsRequest.json", True, False, False),
        ("hist_v4_ReadRecordsRequest_identity_without_configOptions.json", True, False, False),
        ("v5_ReadRecordsRequest.json", True, True, False),
        ("hist_v5_ReadRecordsRequest_identity_without_configOptions.json", True, True, False),
        ("v6_ReadRecordsRequest.json", True, True, True),
    ],
)
def test_constraint_extras_per_dialect(name: str, pushdown: bool, passthrough: bool, plan: bool, load_vector) -> None:
    constraints = parse_request(load_vector(name)).constraints
    assert constraints.limit == -1 and not constraints.has_limit
    if pushdown:
        (root,) = constraints.expression
        assert isinstance(root, FunctionCallExpression)
        assert (root.function_name, root.type.name) == ("$greater_than", "Bool")
        add, col2 = root.arguments
        assert isinstance(add, FunctionCallExpression) and add.function_name == "$add"
        assert add.type.to_pyarrow() == pa.float64()
        col3, ten = add.arguments
        assert isinstance(col3, VariableExpression) and col3.column_name == "col3"
        assert isinstance(ten, ConstantExpression) and ten.values == [10]
        assert ten.type.to_pyarrow() == pa.int32()
        assert isinstance(col2, VariableExpression) and col2.column_name == "col2"
        assert [(o.column_name, o.direction) for o in constraints.order_by] == [
            ("col3", SortDirection.ASC_NULLS_FIRST),
            ("col2", SortDirection.DESC_NULLS_FIRST),
        ]
    else:
        assert constraints.expression == () and constraints.order_by == ()
    expected_args = {"query": "SELECT * FROM DUMMY_TABLE;"} if passthrough else {}
    assert dict(constraints.query_passthrough_arguments) == expected_args
    assert constraints.is_passthrough is passthrough
    if plan:
        assert constraints.query_plan is not None
        assert (constraints.query_plan.substrait_version, constraints.query_plan.substrait_plan) == (
            "1.0.0",
            "TestPlan",
        )
    else:
        assert constraints.query_plan is None


def test_get_table_layout_request_fields(load_vector) -> None:
    request = parse_request(load_vector("v2_GetTableLayoutRequest.json"))
    assert isinstance(request, GetTableLayoutRequest)
    assert request.schema.equals(SEVEN_COLUMNS)
    assert request.partition_columns == ("month", "year", "day")
    _assert_standard_summary(request.constraints.summary)


def test_get_splits_request_fields(load_vector) -> None:
    request = parse_request(load_vector("v2_GetSplitsRequest.json"))
    assert isinstance(request, GetSplitsRequest)
    assert request.partitions.schema.equals(SEVEN_COLUMNS)
    rows = request.partitions.batch.to_pydict()
    assert rows["year"] == list(range(2016, 2026))
    assert rows["month"] == rows["day"] == list(range(1, 11))
    assert rows["col2"] == rows["col3"] == [None] * 10
    assert request.partition_columns == ("year", "month", "day")
    assert request.continuation_token == "test-continuation-token"
    _assert_standard_summary(request.constraints.summary)


def test_udf_request_fields(load_vector) -> None:
    request = parse_request(load_vector("v2_UserDefinedFunctionRequest.json"))
    assert isinstance(request, UserDefinedFunctionRequest)
    assert request.input_records.batch.to_pydict() == {"factor1": [2], "factor2": [3]}
    assert request.output_schema.equals(pa.schema([("product", INT32)]))
    assert (request.method_name, request.function_type) == ("test-method", "SCALAR")


# ----------------------------------------------------------------------------------------------- responses


def _ten_rows(extra_utf8: bool) -> Block:
    block = _int_block(year=list(range(2016, 2026)), month=list(range(1, 11)), day=list(range(1, 11)))
    if not extra_utf8:
        return block
    batch = block.batch.append_column("col3", pa.array([None] * 10, pa.string()))
    return Block(batch, ALLOC)


def _split(n: int, day: str) -> Split:
    return Split(
        S3SpillLocation("athena-virtuoso-test", f"lambda-spill/test-query-id/test-split-id-{n}", True),
        EncryptionKey(f"test-key-{n}".encode(), f"test-nonce-{n}".encode()),
        {"month": "11", "year": "2017", "day": day},
    )


def _spill(n: int) -> S3SpillLocation:
    return S3SpillLocation("athena-virtuoso-test", f"lambda-spill/test-query-id/test-split-id-{n}", True)


RESPONSES = {
    "common_PingResponse.json": PingResponse("test-catalog", "test-query-id", "test-source-type", 23, 2),
    "v2_ListSchemasResponse.json": ListSchemasResponse("test-catalog", ["schema1", "schema2"]),
    "v2_ListTablesResponse.json": ListTablesResponse(
        "test-catalog", [TableName("schema1", "table1"), TableName("schema1", "table2")], "table3"
    ),
    "hist_v2_ListTablesResponse_null_nextToken.json": ListTablesResponse(
        "test-catalog", [TableName("schema1", "table1"), TableName("schema1", "table2")], None
    ),
    "v2_GetTableResponse.json": GetTableResponse(
        "test-catalog",
        TABLE,
        pa.schema([("year", INT32), ("month", INT32), ("day", INT32), ("col3", pa.string())]),
        ["year", "month", "day"],
    ),
    "v2_GetTableLayoutResponse.json": GetTableLayoutResponse("test-catalog", TABLE, _ten_rows(extra_utf8=True)),
    "v2_GetSplitsResponse.json": GetSplitsResponse(
        "test-catalog", [_split(1, "1"), _split(2, "2")], "test-continuation-token"
    ),
    "v2_ReadRecordsResponse.json": ReadRecordsResponse("test-catalog", _ten_rows(extra_utf8=False)),
    "v2_RemoteReadRecordsResponse.json": RemoteReadRecordsResponse(
        "test-catalog",
        pa.schema([("year", INT32), ("month", INT32), ("day", INT32)]),
        [_spill(1), _spill(2)],
        EncryptionKey(b"test-key", b"test-nonce"),
    ),
    "v2_UserDefinedFunctionResponse.json": UserDefinedFunctionResponse(
        _int_block(product=list(range(0, 20, 2))), "test-method"
    ),
    "v4_GetDataSourceCapabilitiesResponse.json": GetDataSourceCapabilitiesResponse(
        "test-catalog",
        {
            "supports_complex_expression_pushdown": [
                OptimizationSubType("supported_function_expression_types", ["$add", "$subtract"])
            ]
        },
    ),
}


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_response_built_from_dataclasses_matches_vector(name: str, load_vector, same_wire) -> None:
    """Same keys, same order at every level, equal scalars, Arrow payloads that decode to equal data."""
    same_wire(to_wire(RESPONSES[name], serde_version=_version_of(name)), load_vector(name))


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_response_in_modern_framing_decodes_to_the_same_data(name: str, load_vector) -> None:
    """V3+ changes only the framing inside base64 strings; keys and decoded data stay the same."""
    ours, vector = to_wire(RESPONSES[name], serde_version=5), load_vector(name)
    assert json.loads(json.dumps(ours)) == ours
    assert _strip_arrow(ours) == _strip_arrow(vector)
    assert _decoded_arrow(ours) == _decoded_arrow(vector)


def test_every_response_type_has_a_vector_or_a_key_order() -> None:
    kinds = {type(r).WIRE_TYPE for r in RESPONSES.values()}
    assert kinds == set(RESPONSE_KEY_ORDER)
    for response in RESPONSES.values():
        assert list(to_wire(response)) == list(RESPONSE_KEY_ORDER[type(response).WIRE_TYPE])


def test_forward_compatible_ping_response_is_our_output_plus_a_trailing_key(load_vector) -> None:
    vector = load_vector("common_PingResponseForwardsCompatible.json")
    ours = to_wire(RESPONSES["common_PingResponse.json"], serde_version=2)
    assert list(vector)[: len(ours)] == list(ours) and list(vector)[len(ours) :] == ["newField"]
    assert {k: vector[k] for k in ours} == ours


def test_pre_pagination_list_tables_response_lacks_only_next_token(load_vector) -> None:
    """The current SDK always writes nextToken; the historical form simply omitted it."""
    vector = load_vector("hist_v2_ListTablesResponse_without_nextToken.json")
    ours = to_wire(ListTablesResponse("test-catalog", RESPONSES["v2_ListTablesResponse.json"].tables))
    assert list(ours) == [*vector, "nextToken"] and ours["nextToken"] is None
    assert {k: ours[k] for k in vector} == vector


def test_java_entry_point_response_derived_in_vectors_md() -> None:
    ours = to_wire(ListTablesResponse("testCatalog", [TableName("testSchema", "testTable")]))
    expected = (
        '{"@type":"ListTablesResponse","tables":[{"schemaName":"testSchema","tableName":"testTable"}],'
        '"catalogName":"testCatalog","nextToken":null}'
    )
    assert json.dumps(ours, separators=(",", ":")) == expected


def test_lambda_function_exception_round_trip(load_vector, same_wire) -> None:
    vector = load_vector("v2_LambdaFunctionException.json")
    error = lambda_error_from_wire(vector)
    assert error.error_type == vector["errorType"] and error.error_message == vector["errorMessage"]
    assert list(error.stack_trace) == vector["stackTrace"] and error.cause is None
    same_wire(to_wire(error), vector)
    assert to_wire(LambdaError(error.error_type, error.error_message, error.stack_trace)) == vector


def test_arrow_type_fragment_round_trips(load_vector) -> None:
    from athena_connector.wire.arrow_types import arrow_type_from_wire

    fragment = load_vector("javatest_fragment_ArrowType_FloatingPoint_DOUBLE.json")
    parsed = arrow_type_from_wire(fragment, "type")
    assert parsed.to_pyarrow() == pa.float64()
    assert list(parsed.to_wire().items()) == list(fragment.items())


# ------------------------------------------------------------------------------------------------ helpers


def _strip_arrow(value):
    """The JSON with every base64 Arrow payload blanked (the framing differs between versions)."""
    if isinstance(value, dict):
        return {
            k: ("<arrow>" if k in ("schema", "records", "outputSchema") and isinstance(v, str) else _strip_arrow(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_strip_arrow(v) for v in value]
    return value


def _decoded_arrow(value, found=None):
    """Every schema (and its block's rows) in document order, decoded."""
    import base64

    found = [] if found is None else found
    if isinstance(value, dict):
        if "schema" in value and isinstance(value["schema"], str):
            schema = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(value["schema"])))
            found.append(str(schema.remove_metadata()))
            records = value.get("records")
            if isinstance(records, str) and records:
                batch = pa.ipc.read_record_batch(pa.py_buffer(base64.b64decode(records)), schema)
                found.append(batch.to_pydict())
        for v in value.values():
            _decoded_arrow(v, found)
    elif isinstance(value, list):
        for v in value:
            _decoded_arrow(v, found)
    return found
