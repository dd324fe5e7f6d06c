"""Request messages: frozen dataclasses, a lenient parser and an exact-order emitter.

Parsing is by key so every dialect is accepted (V1..V6, missing ``configOptions``, missing paging keys,
missing V4+/V5+/V6+ constraint keys, ``queryPlan`` null or absent) and unknown keys are ignored. Emitting
requests exists for tests and local simulation of the engine; it writes the SDK's key order for a version.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pyarrow as pa

from athena_connector.wire._fields import (
    as_int,
    expect_object,
    fail,
    get_long_string,
    get_opt_str,
    get_str,
    get_str_list,
    get_str_map,
    int_to_wire,
    json_kind,
    str_list_to_wire,
    str_map_to_wire,
    str_to_wire,
)
from athena_connector.wire._fields import (
    field as get_field,
)
from athena_connector.wire.blocks import (
    Block,
    block_from_wire,
    block_to_wire,
    schema_from_wire,
    schema_to_wire,
)
from athena_connector.wire.common import (
    FederatedIdentity,
    TableName,
    identity_from_wire,
    identity_to_wire,
    table_name_from_wire,
    table_name_to_wire,
)
from athena_connector.wire.constraints import Constraints, constraints_from_wire, constraints_to_wire
from athena_connector.wire.errors import WireError
from athena_connector.wire.splits import Split, split_from_wire, split_to_wire
from athena_connector.wire.versions import SERDE_VERSION, check_emit_version

UNLIMITED_PAGE_SIZE = -1

# Key order the SDK writes (and its V2+ streaming parsers demand) per request type. A key listed in
# REQUEST_KEY_SINCE is written only from that serde version on.
REQUEST_KEY_ORDER: dict[str, tuple[str, ...]] = {
    "PingRequest": ("@type", "identity", "catalogName", "queryId"),
    "ListSchemasRequest": ("@type", "identity", "queryId", "catalogName"),
    "ListTablesRequest": (
        "@type",
        "identity",
        "queryId",
        "catalogName",
        "schemaName",
        "nextToken",
        "pageSize",
    ),
    "GetTableRequest": (
        "@type",
        "identity",
        "queryId",
        "catalogName",
        "tableName",
        "queryPassthroughArguments",
    ),
    "GetTableLayoutRequest": (
        "@type",
        "identity",
        "queryId",
        "catalogName",
        "tableName",
        "constraints",
        "schema",
        "partitionColumns",
    ),
    "GetSplitsRequest": (
        "@type",
        "identity",
        "queryId",
        "catalogName",
        "tableName",
        "partitions",
        "partitionColumns",
        "constraints",
        "continuationToken",
    ),
    "ReadRecordsRequest": (
        "@type",
        "identity",
        "queryId",
        "catalogName",
        "tableName",
        "schema",
        "split",
        "constraints",
        "maxBlockSize",
        "maxInlineBlockSize",
    ),
    "GetDataSourceCapabilitiesRequest": ("@type", "identity", "queryId", "catalogName"),
    "UserDefinedFunctionRequest": (
        "@type",
        "identity",
        "inputRecords",
        "outputSchema",
        "methodName",
        "functionType",
    ),
}
REQUEST_KEY_SINCE: dict[tuple[str, str], int] = {("GetTableRequest", "queryPassthroughArguments"): 5}


@dataclass(frozen=True)
class PingRequest:
    WIRE_TYPE: ClassVar[str] = "PingRequest"
    identity: FederatedIdentity | None
    catalog_name: str
    query_id: str


@dataclass(frozen=True)
class ListSchemasRequest:
    WIRE_TYPE: ClassVar[str] = "ListSchemasRequest"
    identity: FederatedIdentity | None
    query_id: str
    catalog_name: str


@dataclass(frozen=True)
class ListTablesRequest:
    """``next_token`` None and/or ``page_size`` -1 mean "return everything"."""

    WIRE_TYPE: ClassVar[str] = "ListTablesRequest"
    identity: FederatedIdentity | None
    query_id: str
    catalog_name: str
    schema_name: str
    next_token: str | None = None
    page_size: int = UNLIMITED_PAGE_SIZE

    @property
    def is_paged(self) -> bool:
        return self.page_size > 0


@dataclass(frozen=True)
class GetTableRequest:
    """Non-empty ``query_passthrough_arguments`` (V5+) asks for the schema of a passthrough query."""

    WIRE_TYPE: ClassVar[str] = "GetTableRequest"
    identity: FederatedIdentity | None
    query_id: str
    catalog_name: str
    table_name: TableName
    query_passthrough_arguments: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GetTableLayoutRequest:
    WIRE_TYPE: ClassVar[str] = "GetTableLayoutRequest"
    identity: FederatedIdentity | None
    query_id: str
    catalog_name: str
    table_name: TableName
    constraints: Constraints
    schema: pa.Schema
    partition_columns: tuple[str, ...]


@dataclass(frozen=True)
class GetSplitsRequest:
    """``partitions``: (a batch of) the GetTableLayout rows, extra columns and schema metadata kept."""

    WIRE_TYPE: ClassVar[str] = "GetSplitsRequest"
    identity: FederatedIdentity | None
    query_id: str
    catalog_name: str
    table_name: TableName
    partitions: Block
    partition_columns: tuple[str, ...]
    constraints: Constraints
    continuation_token: str | None = None


@dataclass(frozen=True)
class ReadRecordsRequest:
    """``schema`` is the projection to return, in order; it may have no fields (e.g. ``count(*)``)."""

    WIRE_TYPE: ClassVar[str] = "ReadRecordsRequest"
    identity: FederatedIdentity | None
    query_id: str
    catalog_name: str
    table_name: TableName
    schema: pa.Schema
    split: Split
    constraints: Constraints
    max_block_size: int
    max_inline_block_size: int


@dataclass(frozen=True)
class GetDataSourceCapabilitiesRequest:
    WIRE_TYPE: ClassVar[str] = "GetDataSourceCapabilitiesRequest"
    identity: FederatedIdentity | None
    query_id: str
    catalog_name: str


@dataclass(frozen=True)
class UserDefinedFunctionRequest:
    """Scalar UDF call: input columns are positional arguments; ``output_schema`` has exactly one field."""

    WIRE_TYPE: ClassVar[str] = "UserDefinedFunctionRequest"
    identity: FederatedIdentity | None
    input_records: Block
    output_schema: pa.Schema
    method_name: str
    function_type: str = "SCALAR"


Request = (
    PingRequest
    | ListSchemasRequest
    | ListTablesRequest
    | GetTableRequest
    | GetTableLayoutRequest
    | GetSplitsRequest
    | ReadRecordsRequest
    | GetDataSourceCapabilitiesRequest
    | UserDefinedFunctionRequest
)

FUNCTION_TYPES = ("SCALAR",)


# ------------------------------------------------------------------------------------------------- parsing


def _identity(obj: Mapping[str, Any], path: str) -> FederatedIdentity | None:
    return identity_from_wire(obj.get("identity"), f"{path}.identity")


def _table(obj: Mapping[str, Any], path: str) -> TableName:
    return table_name_from_wire(get_field(obj, "tableName", path), f"{path}.tableName")


def _schema(obj: Mapping[str, Any], key: str, path: str) -> pa.Schema:
    return schema_from_wire(get_field(obj, key, path), f"{path}.{key}")


def _constraints(obj: Mapping[str, Any], path: str) -> Constraints:
    return constraints_from_wire(get_field(obj, "constraints", path), f"{path}.constraints")


def _partition_columns(obj: Mapping[str, Any], path: str) -> tuple[str, ...]:
    key = "partitionColumns" if "partitionColumns" in obj or "partitionCols" not in obj else "partitionCols"
    return get_str_list(obj, key, path)


def _ping(obj: Mapping[str, Any], path: str) -> PingRequest:
    return PingRequest(_identity(obj, path), get_str(obj, "catalogName", path), get_str(obj, "queryId", path))


def _list_schemas(obj: Mapping[str, Any], path: str) -> ListSchemasRequest:
    return ListSchemasRequest(_identity(obj, path), get_str(obj, "queryId", path), get_str(obj, "catalogName", path))


def _list_tables(obj: Mapping[str, Any], path: str) -> ListTablesRequest:
    page_size = obj.get("pageSize")
    if page_size is not None:
        as_int(page_size, f"{path}.pageSize")
    return ListTablesRequest(
        _identity(obj, path),
        get_str(obj, "queryId", path),
        get_str(obj, "catalogName", path),
        get_str(obj, "schemaName", path),
        get_opt_str(obj, "nextToken", path),
        UNLIMITED_PAGE_SIZE if page_size is None else page_size,
    )


def _get_table(obj: Mapping[str, Any], path: str) -> GetTableRequest:
    return GetTableRequest(
        _identity(obj, path),
        get_str(obj, "queryId", path),
        get_str(obj, "catalogName", path),
        _table(obj, path),
        get_str_map(obj, "queryPassthroughArguments", path, {}),
    )


def _get_table_layout(obj: Mapping[str, Any], path: str) -> GetTableLayoutRequest:
    return GetTableLayoutRequest(
        _identity(obj, path),
        get_str(obj, "queryId", path),
        get_str(obj, "catalogName", path),
        _table(obj, path),
        _constraints(obj, path),
        _schema(obj, "schema", path),
        _partition_columns(obj, path),
    )


def _get_splits(obj: Mapping[str, Any], path: str) -> GetSplitsRequest:
    return GetSplitsRequest(
        _identity(obj, path),
        get_str(obj, "queryId", path),
        get_str(obj, "catalogName", path),
        _table(obj, path),
        block_from_wire(get_field(obj, "partitions", path), f"{path}.partitions"),
        _partition_columns(obj, path),
        _constraints(obj, path),
        get_opt_str(obj, "continuationToken", path),
    )


def _read_records(obj: Mapping[str, Any], path: str) -> ReadRecordsRequest:
    return ReadRecordsRequest(
        _identity(obj, path),
        get_str(obj, "queryId", path),
        get_str(obj, "catalogName", path),
        _table(obj, path),
        _schema(obj, "schema", path),
        split_from_wire(get_field(obj, "split", path), f"{path}.split"),
        _constraints(obj, path),
        get_long_string(obj, "maxBlockSize", path),
        get_long_string(obj, "maxInlineBlockSize", path),
    )


def _capabilities(obj: Mapping[str, Any], path: str) -> GetDataSourceCapabilitiesRequest:
    return GetDataSourceCapabilitiesRequest(
        _identity(obj, path), get_str(obj, "queryId", path), get_str(obj, "catalogName", path)
    )


def _udf(obj: Mapping[str, Any], path: str) -> UserDefinedFunctionRequest:
    function_type = get_str(obj, "functionType", path)
    if function_type not in FUNCTION_TYPES:
        fail(f"{path}.functionType", f"unknown function type {function_type!r}")
    return UserDefinedFunctionRequest(
        _identity(obj, path),
        block_from_wire(get_field(obj, "inputRecords", path), f"{path}.inputRecords"),
        _schema(obj, "outputSchema", path),
        get_str(obj, "methodName", path),
        function_type,
    )


_PARSERS: dict[str, Callable[[Mapping[str, Any], str], Request]] = {
    "PingRequest": _ping,
    "ListSchemasRequest": _list_schemas,
    "ListTablesRequest": _list_tables,
    "GetTableRequest": _get_table,
    "GetTableLayoutRequest": _get_table_layout,
    "GetSplitsRequest": _get_splits,
    "ReadRecordsRequest": _read_records,
    "GetDataSourceCapabilitiesRequest": _capabilities,
    "UserDefinedFunctionRequest": _udf,
}


def parse_request(event: Mapping[str, Any] | str | bytes) -> Request:
    """Parse one Lambda invoke payload (a dict, or its JSON text) into a typed request.

    Raises WireError (a ValueError) naming the offending path for anything malformed.
    """
    if isinstance(event, str | bytes | bytearray):
        try:
            event = json.loads(event)
        except (ValueError, UnicodeDecodeError) as exc:
            raise WireError("request", f"invalid JSON: {exc}") from exc
    obj = expect_object(event, "request")
    kind = obj.get("@type")
    if kind is None:
        fail("request", "missing required key '@type'")
    if not isinstance(kind, str):
        fail("request.@type", f"expected a string, got {json_kind(kind)}")
    parser = _PARSERS.get(kind)
    if parser is None:
        fail("request.@type", f"unknown request @type {kind!r}")
    return parser(obj, kind)


# ------------------------------------------------------------------------------------------------ emitting


def request_to_wire(request: Request, serde_version: int = SERDE_VERSION) -> dict[str, Any]:
    """Emit a request in the SDK's key order for ``serde_version`` (2..6)."""
    version = check_emit_version(serde_version)
    kind = getattr(request, "WIRE_TYPE", None)
    if kind not in REQUEST_KEY_ORDER:
        fail("request", f"not a request message: {type(request).__name__}")
    p = kind
    r: Any = request
    values: dict[str, Any] = {"@type": kind, "identity": identity_to_wire(r.identity, f"{p}.identity")}
    if hasattr(r, "query_id"):
        values["queryId"] = str_to_wire(r.query_id, f"{p}.queryId")
    if hasattr(r, "catalog_name"):
        values["catalogName"] = str_to_wire(r.catalog_name, f"{p}.catalogName")
    if hasattr(r, "table_name"):
        values["tableName"] = table_name_to_wire(r.table_name, f"{p}.tableName")
    if hasattr(r, "constraints"):
        values["constraints"] = constraints_to_wire(r.constraints, version, f"{p}.constraints")
    if hasattr(r, "partition_columns"):
        values["partitionColumns"] = str_list_to_wire(r.partition_columns, f"{p}.partitionColumns")
    if isinstance(r, ListTablesRequest):
        values["schemaName"] = str_to_wire(r.schema_name, f"{p}.schemaName")
        values["nextToken"] = str_to_wire(r.next_token, f"{p}.nextToken", nullable=True)
        values["pageSize"] = int_to_wire(r.page_size, f"{p}.pageSize")
    elif isinstance(r, GetTableRequest):
        values["queryPassthroughArguments"] = str_map_to_wire(
            r.query_passthrough_arguments, f"{p}.queryPassthroughArguments"
        )
    elif isinstance(r, GetTableLayoutRequest):
        values["schema"] = schema_to_wire(r.schema, version, f"{p}.schema")
    elif isinstance(r, GetSplitsRequest):
        values["partitions"] = block_to_wire(r.partitions, version, f"{p}.partitions")
        values["continuationToken"] = str_to_wire(r.continuation_token, f"{p}.continuationToken", nullable=True)
    elif isinstance(r, ReadRecordsRequest):
        values["schema"] = schema_to_wire(r.schema, version, f"{p}.schema")
        values["split"] = split_to_wire(r.split, f"{p}.split")
        values["maxBlockSize"] = str(int_to_wire(r.max_block_size, f"{p}.maxBlockSize"))
        values["maxInlineBlockSize"] = str(int_to_wire(r.max_inline_block_size, f"{p}.maxInlineBlockSize"))
    elif isinstance(r, UserDefinedFunctionRequest):
        values["inputRecords"] = block_to_wire(r.input_records, version, f"{p}.inputRecords")
        values["outputSchema"] = schema_to_wire(r.output_schema, version, f"{p}.outputSchema")
        values["methodName"] = str_to_wire(r.method_name, f"{p}.methodName")
        values["functionType"] = str_to_wire(r.function_type, f"{p}.functionType")
    keys = [k for k in REQUEST_KEY_ORDER[kind] if version >= REQUEST_KEY_SINCE.get((kind, k), 0)]
    return {k: values[k] for k in keys}
