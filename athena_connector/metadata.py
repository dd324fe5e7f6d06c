"""Metadata requests: ListSchemas, ListTables, GetTable, GetTableLayout.

One schema (the spec's ``api.name`` or ``schema_name``); one table per declared entity, with the Arrow
schema from ``schema.py``.

GetTableLayout answers:

* an entity without ``partitions`` (and any passthrough query): one partition row (``partitionId`` 1). The
  natural candidates cannot be listed here (a parent entity's keys are unbounded, and this response can
  neither page nor spill); the fan-out happens in GetSplits instead, which pages.
* an entity with ``partitions: {field, values}``: one row per declared value that the query's constraint on
  that field admits (evaluated with the same code as the read's filter, so pruning is exact), plus a catch-all
  row (value NULL: any other value, or null) unless the constraint provably admits only declared values. The
  block's column is the partition field itself (same name and Arrow type as the table column). Never zero rows:
  when nothing survives, the catch-all row stays and its read returns nothing.

GetTable declares no ``partitionColumns``. Athena filters the rows of declared partition columns against the
query itself, treating a row's value as the value of every row in that partition (the SDK: "it only understands
your partition columns and how to filter out partitions that do not meet the query's constraints"). The
catch-all row holds rows of many values under one NULL, so Athena would drop it for ``stage = 'on_hold'`` or
``stage <> 'proposal'`` and lose rows. Undeclared, the column is an extra partition column Athena passes to
GetSplits untouched (as the SDK's DynamoDB connector does with hash keys), and the pruning above is ours.

The block carries the plan state GetSplits needs in its schema metadata (the engine passes it back verbatim):
which entity, the partition field, and the planning instant, so every GetSplits page (and every retry) computes
the same time windows for a split hint ending ``now``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from athena_connector import passthrough
from athena_connector.constraints_to_predicates import summary_to_predicates
from athena_connector.errors import InvalidInputException
from athena_connector.filtering import value_set_mask
from athena_connector.requested_types import check_value_set_types
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
    ValueSet,
)
from shared.predicates import Op

PARTITION_ID = "partitionId"
META_ENTITY = "saas.entity"
META_PLANNED_AT = "saas.planned_at"
META_VERSION = "saas.layout_version"
META_PARTITION_FIELD = "saas.partition_field"
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
    check_value_set_types(constraints.summary, table.schema, where)


def _layout_metadata(entity_name: str, planned_at: dt.datetime) -> dict[str, str]:
    return {
        META_ENTITY: entity_name,
        META_PLANNED_AT: planned_at.astimezone(dt.UTC).isoformat(timespec="milliseconds"),
        META_VERSION: LAYOUT_VERSION,
    }


def partition_block(entity_name: str, planned_at: dt.datetime) -> Block:
    """The single partition of an unpartitioned table."""
    schema = pa.schema([pa.field(PARTITION_ID, pa.int32())], metadata=_layout_metadata(entity_name, planned_at))
    return Block(pa.RecordBatch.from_arrays([pa.array([1], type=pa.int32())], schema=schema))


def declared_partitions_block(table: TableSchema, values: list[Any], planned_at: dt.datetime) -> Block:
    """One row per partition: a declared value, or NULL for the catch-all."""
    spec = table.entity.partitions
    assert spec is not None
    metadata = {**_layout_metadata(table.entity.name, planned_at), META_PARTITION_FIELD: spec.field}
    column = table.schema.field(spec.field)
    schema = pa.schema([pa.field(spec.field, column.type)], metadata=metadata)
    return Block(pa.RecordBatch.from_arrays([pa.array(values, type=column.type)], schema=schema))


def _catch_all_needed(name: str, vs: ValueSet, table: TableSchema, declared: list[Any]) -> bool:
    """Whether ``vs`` may admit NULL or a value outside ``declared``: False only when it provably admits nothing
    but declared values (a value list, or a single value, all declared; NULL not allowed). Keeping the catch-all
    when unsure costs one split that reads nothing; dropping it wrongly would lose rows."""
    translation = summary_to_predicates({name: vs}, table.entity)
    if translation.unsatisfiable:
        return False
    predicates = translation.predicates
    if not translation.exact or len(predicates) != 1 or predicates[0].op not in (Op.EQ, Op.IN):
        return True
    wanted = (predicates[0].value,) if predicates[0].op is Op.EQ else predicates[0].value
    return not all(v in declared for v in wanted)


def surviving_partitions(table: TableSchema, summary: Mapping[str, ValueSet]) -> list[Any]:
    """The partitions a query needs, in declared order: declared values its constraint on the partition field
    admits, then None (the catch-all) when rows outside the declared values may match: never when the spec
    declares the values exhaustive, unless the query admits none of them. Never empty."""
    spec = table.entity.partitions
    assert spec is not None
    declared = list(spec.values)
    vs = summary.get(spec.field)
    if vs is None:
        return declared if spec.exhaustive else [*declared, None]
    column = pa.array(declared, type=table.schema.field(spec.field).type)
    mask = value_set_mask(column, vs, spec.field).to_pylist()
    kept: list[Any] = [v for v, ok in zip(declared, mask, strict=True) if ok]
    if (not spec.exhaustive and _catch_all_needed(spec.field, vs, table, declared)) or not kept:
        kept.append(None)
    return kept


def layout_state(partitions: Block) -> Mapping[str, str]:
    raw = partitions.schema.metadata or {}
    return {k.decode("utf-8", "replace"): v.decode("utf-8", "replace") for k, v in raw.items()}


def get_table_layout(runtime: Runtime, request: GetTableLayoutRequest) -> GetTableLayoutResponse:
    table = resolve_table(runtime, request.table_name, request.constraints)
    check_constraint_columns(table, request.constraints)
    now = dt.datetime.now(dt.UTC)
    if request.constraints.is_passthrough or table.entity.partitions is None:
        block = partition_block(table.entity.name, now)
    else:
        block = declared_partitions_block(table, surviving_partitions(table, request.constraints.summary), now)
    return GetTableLayoutResponse(request.catalog_name, request.table_name, block)
