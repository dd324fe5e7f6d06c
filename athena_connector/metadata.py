"""Metadata requests: ListSchemas, ListTables, GetTable, GetTableLayout.

One schema (the spec's ``api.name`` or ``schema_name``); one table per declared entity, with the Arrow
schema from ``schema.py``.

GetTableLayout answers one partition row: the spec format declares no partition columns, and the natural
candidates cannot be listed here (a parent entity's keys are unbounded, and this response can neither
page nor spill). The fan-out happens in GetSplits instead, which pages. The row's block carries the plan
state GetSplits needs in its schema metadata (the engine passes it back verbatim): which entity, and the
planning instant, so every GetSplits page (and every retry) computes the same time windows for a split hint
ending ``now``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import pyarrow as pa

from athena_connector import passthrough
from athena_connector.errors import InvalidInputException
from athena_connector.runtime import Runtime
from athena_connector.schema import TableSchema
from athena_connector.wire import (
    Block,
    Constraints,
    GetTableLayoutRequest,
    GetTableLayoutResponse,
    GetTableRequest,
    GetTableResponse,
    ListSchemasRequest,
    ListSchemasResponse,
    ListTablesRequest,
    ListTablesResponse,
    TableName,
)

PARTITION_ID = "partitionId"
META_ENTITY = "saas.entity"
META_PLANNED_AT = "saas.planned_at"
META_VERSION = "saas.layout_version"
LAYOUT_VERSION = "1"


def list_schemas(runtime: Runtime, request: ListSchemasRequest) -> ListSchemasResponse:
    return ListSchemasResponse(request.catalog_name, [runtime.schema_name])


def list_tables(runtime: Runtime, request: ListTablesRequest) -> ListTablesResponse:
    """All tables, or one page of ``page_size`` in name order; the token is the last name returned."""
    runtime.check_schema(request.schema_name)
    names = list(runtime.table_names)
    if request.next_token:
        names = [n for n in names if n > request.next_token]
    next_token = None
    if request.is_paged and len(names) > request.page_size:
        names = names[: request.page_size]
        next_token = names[-1]
    tables = [TableName(runtime.schema_name, n) for n in names]
    return ListTablesResponse(request.catalog_name, tables, next_token)


def get_table(runtime: Runtime, request: GetTableRequest) -> GetTableResponse:
    if request.query_passthrough_arguments:
        query = passthrough.parse_passthrough(request.query_passthrough_arguments, runtime)
        schema = runtime.table_of(query.entity).schema
        return GetTableResponse(request.catalog_name, request.table_name, schema, ())
    table = runtime.table(request.table_name)
    return GetTableResponse(request.catalog_name, request.table_name, table.schema, ())


def resolve_table(runtime: Runtime, table_name: TableName, constraints: Constraints) -> TableSchema:
    """The table a layout/splits/read request is about: the passthrough entity, or the named table."""
    if constraints.is_passthrough:
        query = passthrough.parse_passthrough(constraints.query_passthrough_arguments, runtime)
        return runtime.table_of(query.entity)
    return runtime.table(table_name)


def check_constraint_columns(table: TableSchema, constraints: Constraints, where: str = "constraints") -> None:
    unknown = [c for c in constraints.summary if c not in table.schema.names]
    if unknown:
        raise InvalidInputException(
            f"{where}.summary: unknown column(s) {', '.join(map(repr, unknown))} in table "
            f"'{table.entity.name}' (columns: {', '.join(table.schema.names)})"
        )


def partition_block(entity_name: str, planned_at: dt.datetime) -> Block:
    metadata = {
        META_ENTITY: entity_name,
        META_PLANNED_AT: planned_at.astimezone(dt.UTC).isoformat(timespec="milliseconds"),
        META_VERSION: LAYOUT_VERSION,
    }
    schema = pa.schema([pa.field(PARTITION_ID, pa.int32())], metadata=metadata)
    return Block(pa.RecordBatch.from_arrays([pa.array([1], type=pa.int32())], schema=schema))


def layout_state(partitions: Block) -> Mapping[str, str]:
    raw = partitions.schema.metadata or {}
    return {k.decode("utf-8", "replace"): v.decode("utf-8", "replace") for k, v in raw.items()}


def get_table_layout(runtime: Runtime, request: GetTableLayoutRequest) -> GetTableLayoutResponse:
    table = resolve_table(runtime, request.table_name, request.constraints)
    check_constraint_columns(table, request.constraints)
    block = partition_block(table.entity.name, dt.datetime.now(dt.UTC))
    return GetTableLayoutResponse(request.catalog_name, request.table_name, block)
