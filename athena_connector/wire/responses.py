"""Response messages and ``to_wire``: strict, exact key order, nothing extra.

The engine is assumed to parse responses with the SDK's streaming deserializers, which demand every key in
a fixed order and reject extra keys inside nested objects, so each dict is built from RESPONSE_KEY_ORDER.
Return the dict itself from the handler (the Lambda runtime serializes it keeping insertion order).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pyarrow as pa

from athena_connector.wire._fields import (
    expect_object,
    fail,
    int_to_wire,
    json_kind,
    str_list_to_wire,
    str_to_wire,
)
from athena_connector.wire.arrow_types import unsupported_type_problem
from athena_connector.wire.blocks import Block, block_to_wire, schema_to_wire
from athena_connector.wire.common import TableName, table_name_to_wire
from athena_connector.wire.errors import WireError
from athena_connector.wire.requests import REQUEST_KEY_ORDER, request_to_wire
from athena_connector.wire.splits import (
    EncryptionKey,
    S3SpillLocation,
    Split,
    encryption_key_to_wire,
    spill_location_to_wire,
    split_to_wire,
)
from athena_connector.wire.versions import CAPABILITIES, SERDE_VERSION, check_emit_version

RESPONSE_KEY_ORDER: dict[str, tuple[str, ...]] = {
    "PingResponse": ("@type", "catalogName", "queryId", "sourceType", "capabilities", "serDeVersion"),
    "ListSchemasResponse": ("@type", "catalogName", "schemas"),
    "ListTablesResponse": ("@type", "tables", "catalogName", "nextToken"),  # tables BEFORE catalogName
    "GetTableResponse": ("@type", "catalogName", "tableName", "schema", "partitionColumns"),
    "GetTableLayoutResponse": ("@type", "catalogName", "tableName", "partitions"),
    "GetSplitsResponse": ("@type", "catalogName", "splits", "continuationToken"),
    "ReadRecordsResponse": ("@type", "catalogName", "records"),
    "RemoteReadRecordsResponse": ("@type", "catalogName", "schema", "remoteBlocks", "encryptionKey"),
    "GetDataSourceCapabilitiesResponse": ("@type", "catalogName", "capabilities"),
    "UserDefinedFunctionResponse": ("@type", "records", "methodName"),
}

# Capability keys and subtypes of GetDataSourceCapabilitiesResponse (exact SDK spellings).
FILTER_PUSHDOWN = "supports_filter_pushdown"  # sorted_range_set, equatable_range_set (sic), ...
COMPLEX_EXPRESSION_PUSHDOWN = "supports_complex_expression_pushdown"  # supported_function_expression_types
LIMIT_PUSHDOWN = "supports_limit_pushdown"  # integer_constant
TOP_N_PUSHDOWN = "supports_top_n_pushdown"  # SUPPORTS_ORDER_BY
DATA_SOURCE_HINTS = "data_source_hints"  # non_default_collate
FILTER_SUBTYPES = ("sorted_range_set", "equatable_range_set", "all_or_none_value_set", "nullable_comparison")
SUPPORTED_FUNCTION_EXPRESSION_TYPES = "supported_function_expression_types"
INTEGER_CONSTANT = "integer_constant"
SUPPORTS_ORDER_BY = "SUPPORTS_ORDER_BY"
NON_DEFAULT_COLLATE = "non_default_collate"
QUERY_PASSTHROUGH_SUBTYPES = (
    "query_passthrough_schema",
    "query_passthrough_name",
    "query_passthrough_arguments",
)


@dataclass(frozen=True)
class PingResponse:
    WIRE_TYPE: ClassVar[str] = "PingResponse"
    catalog_name: str
    query_id: str
    source_type: str
    capabilities: int = CAPABILITIES
    serde_version: int = SERDE_VERSION


@dataclass(frozen=True)
class ListSchemasResponse:
    WIRE_TYPE: ClassVar[str] = "ListSchemasResponse"
    catalog_name: str
    schemas: Sequence[str]


@dataclass(frozen=True)
class ListTablesResponse:
    """``next_token`` None means no more pages (the key is always written)."""

    WIRE_TYPE: ClassVar[str] = "ListTablesResponse"
    catalog_name: str
    tables: Sequence[TableName]
    next_token: str | None = None


@dataclass(frozen=True)
class GetTableResponse:
    WIRE_TYPE: ClassVar[str] = "GetTableResponse"
    catalog_name: str
    table_name: TableName
    schema: pa.Schema
    partition_columns: Sequence[str] = ()


@dataclass(frozen=True)
class GetTableLayoutResponse:
    """One row per partition (one row for an unpartitioned table: zero rows means "nothing to read")."""

    WIRE_TYPE: ClassVar[str] = "GetTableLayoutResponse"
    catalog_name: str
    table_name: TableName
    partitions: Block


@dataclass(frozen=True)
class GetSplitsResponse:
    """A non-None ``continuation_token`` makes Athena call again with it."""

    WIRE_TYPE: ClassVar[str] = "GetSplitsResponse"
    catalog_name: str
    splits: Sequence[Split]
    continuation_token: str | None = None


@dataclass(frozen=True)
class ReadRecordsResponse:
    WIRE_TYPE: ClassVar[str] = "ReadRecordsResponse"
    catalog_name: str
    records: Block


@dataclass(frozen=True)
class RemoteReadRecordsResponse:
    """Rows spilled to S3: one location per block (``<split key>.<n>``), one key for all of them."""

    WIRE_TYPE: ClassVar[str] = "RemoteReadRecordsResponse"
    catalog_name: str
    schema: pa.Schema
    remote_blocks: Sequence[S3SpillLocation]
    encryption_key: EncryptionKey | None


@dataclass(frozen=True)
class OptimizationSubType:
    sub_type: str
    properties: Sequence[str] = ()


@dataclass(frozen=True)
class GetDataSourceCapabilitiesResponse:
    """Capability key -> subtypes; empty means no pushdown."""

    WIRE_TYPE: ClassVar[str] = "GetDataSourceCapabilitiesResponse"
    catalog_name: str
    capabilities: Mapping[str, Sequence[OptimizationSubType]] = field(default_factory=dict)


@dataclass(frozen=True)
class UserDefinedFunctionResponse:
    WIRE_TYPE: ClassVar[str] = "UserDefinedFunctionResponse"
    records: Block
    method_name: str


Response = (
    PingResponse
    | ListSchemasResponse
    | ListTablesResponse
    | GetTableResponse
    | GetTableLayoutResponse
    | GetSplitsResponse
    | ReadRecordsResponse
    | RemoteReadRecordsResponse
    | GetDataSourceCapabilitiesResponse
    | UserDefinedFunctionResponse
)


@dataclass(frozen=True)
class LambdaError:
    """The Lambda error payload (engine side reads errorType, errorMessage, stackTrace, cause).

    A Python Lambda produces this itself for an uncaught exception (``errorType`` = the class ``__name__``);
    the dataclass exists to parse it and to simulate it in tests.
    """

    error_type: str
    error_message: str
    stack_trace: tuple[str, ...] = ()
    cause: LambdaError | None = None

    @classmethod
    def from_exception(cls, exc: BaseException) -> LambdaError:
        import traceback

        trace = tuple(line.rstrip("\n") for line in traceback.format_tb(exc.__traceback__))
        cause = exc.__cause__
        return cls(
            type(exc).__name__,
            str(exc),
            trace,
            cls.from_exception(cause) if cause is not None else None,
        )


def lambda_error_from_wire(value: Any, path: str = "LambdaFunctionException") -> LambdaError:
    """Lenient, like the SDK: stackTrace may be strings or arrays of strings; ``cause`` is recursive."""
    obj = expect_object(value, path)
    trace: list[str] = []
    for i, item in enumerate(obj.get("stackTrace") or []):
        if isinstance(item, list):
            trace.extend(str(x) for x in item)
        elif isinstance(item, str):
            trace.append(item)
        else:
            fail(f"{path}.stackTrace[{i}]", f"expected a string or array, got {json_kind(item)}")
    cause = obj.get("cause")
    return LambdaError(
        error_type=str(obj.get("errorType")),
        error_message=str(obj.get("errorMessage")),
        stack_trace=tuple(trace),
        cause=lambda_error_from_wire(cause, f"{path}.cause") if cause is not None else None,
    )


def _lambda_error_to_wire(err: LambdaError, path: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "errorMessage": str_to_wire(err.error_message, f"{path}.errorMessage"),
        "errorType": str_to_wire(err.error_type, f"{path}.errorType"),
        "stackTrace": str_list_to_wire(err.stack_trace, f"{path}.stackTrace"),
    }
    if err.cause is not None:
        out["cause"] = _lambda_error_to_wire(err.cause, f"{path}.cause")
    return out


def _check_table_schema(schema: pa.Schema, partition_columns: Sequence[str], path: str) -> None:
    """The SDK refuses GetTableResponses with types outside its whitelist; partitions must be columns."""
    if not isinstance(schema, pa.Schema):
        fail(f"{path}.schema", f"expected a pyarrow Schema, got {type(schema).__name__}")
    for fld in schema:
        problem = unsupported_type_problem(fld)
        if problem:
            fail(f"{path}.schema", problem)
    for i, name in enumerate(partition_columns):
        if name not in schema.names:
            fail(f"{path}.partitionColumns[{i}]", f"partition column {name!r} is not in the schema")


def _capabilities_to_wire(capabilities: Any, path: str) -> dict[str, Any]:
    if not isinstance(capabilities, Mapping):
        fail(path, f"expected a mapping, got {json_kind(capabilities)}")
    out: dict[str, Any] = {}
    for key, subtypes in capabilities.items():
        where = f"{path}.{key}"
        items = []
        for i, sub in enumerate(subtypes):
            if not isinstance(sub, OptimizationSubType):
                fail(f"{where}[{i}]", f"expected an OptimizationSubType, got {type(sub).__name__}")
            items.append(
                {
                    "subType": str_to_wire(sub.sub_type, f"{where}[{i}].subType"),
                    "properties": str_list_to_wire(sub.properties, f"{where}[{i}].properties"),
                }
            )
        out[str_to_wire(key, path)] = items  # type: ignore[index]
    return out


def response_to_wire(response: Response, serde_version: int = SERDE_VERSION) -> dict[str, Any]:
    """Emit a response; ``serde_version`` only selects the Arrow framing (V2 legacy, V3+ modern)."""
    version = check_emit_version(serde_version)
    kind = getattr(response, "WIRE_TYPE", None)
    if kind not in RESPONSE_KEY_ORDER:
        fail("response", f"not a response message: {type(response).__name__}")
    p = kind
    r: Any = response
    values: dict[str, Any] = {"@type": kind}
    if hasattr(r, "catalog_name"):
        values["catalogName"] = str_to_wire(r.catalog_name, f"{p}.catalogName")
    if hasattr(r, "table_name"):
        values["tableName"] = table_name_to_wire(r.table_name, f"{p}.tableName")
    if isinstance(r, PingResponse):
        values["queryId"] = str_to_wire(r.query_id, f"{p}.queryId")
        values["sourceType"] = str_to_wire(r.source_type, f"{p}.sourceType")
        values["capabilities"] = int_to_wire(r.capabilities, f"{p}.capabilities")
        values["serDeVersion"] = int_to_wire(r.serde_version, f"{p}.serDeVersion")
    elif isinstance(r, ListSchemasResponse):
        values["schemas"] = str_list_to_wire(r.schemas, f"{p}.schemas")
    elif isinstance(r, ListTablesResponse):
        values["tables"] = [table_name_to_wire(t, f"{p}.tables[{i}]") for i, t in enumerate(r.tables)]
        values["nextToken"] = str_to_wire(r.next_token, f"{p}.nextToken", nullable=True)
    elif isinstance(r, GetTableResponse):
        partition_columns = str_list_to_wire(r.partition_columns, f"{p}.partitionColumns")
        _check_table_schema(r.schema, partition_columns, p)
        values["schema"] = schema_to_wire(r.schema, version, f"{p}.schema")
        values["partitionColumns"] = partition_columns
    elif isinstance(r, GetTableLayoutResponse):
        values["partitions"] = block_to_wire(r.partitions, version, f"{p}.partitions")
    elif isinstance(r, GetSplitsResponse):
        values["splits"] = [split_to_wire(s, f"{p}.splits[{i}]") for i, s in enumerate(r.splits)]
        values["continuationToken"] = str_to_wire(r.continuation_token, f"{p}.continuationToken", nullable=True)
    elif isinstance(r, ReadRecordsResponse):
        values["records"] = block_to_wire(r.records, version, f"{p}.records")
    elif isinstance(r, RemoteReadRecordsResponse):
        values["schema"] = schema_to_wire(r.schema, version, f"{p}.schema")
        values["remoteBlocks"] = [
            spill_location_to_wire(loc, f"{p}.remoteBlocks[{i}]") for i, loc in enumerate(r.remote_blocks)
        ]
        values["encryptionKey"] = encryption_key_to_wire(r.encryption_key, f"{p}.encryptionKey")
    elif isinstance(r, GetDataSourceCapabilitiesResponse):
        values["capabilities"] = _capabilities_to_wire(r.capabilities, f"{p}.capabilities")
    elif isinstance(r, UserDefinedFunctionResponse):
        values["records"] = block_to_wire(r.records, version, f"{p}.records")
        values["methodName"] = str_to_wire(r.method_name, f"{p}.methodName")
    return {k: values[k] for k in RESPONSE_KEY_ORDER[kind]}


def to_wire(message: Any, serde_version: int = SERDE_VERSION) -> dict[str, Any]:
    """Emit any message (response, request or LambdaError) as an ordered, ``json.dumps``-able dict."""
    if isinstance(message, LambdaError):
        return _lambda_error_to_wire(message, "LambdaFunctionException")
    kind = getattr(message, "WIRE_TYPE", None)
    if kind in RESPONSE_KEY_ORDER:
        return response_to_wire(message, serde_version)
    if kind in REQUEST_KEY_ORDER:
        return request_to_wire(message, serde_version)
    raise WireError("message", f"not a wire message: {type(message).__name__}")
