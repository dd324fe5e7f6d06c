"""Spec types -> the Arrow types Athena reads, and an entity's table schema.

| spec type      | Athena type                  | Arrow                                                        |
|----------------|------------------------------|--------------------------------------------------------------|
| string         | varchar                      | Utf8                                                         |
| int32 / int64  | integer / bigint             | Int(32/64, signed)                                           |
| number         | double                       | FloatingPoint(DOUBLE)                                        |
| decimal(p,s)   | decimal(p,s)                 | Decimal128(p,s)                                              |
| boolean        | boolean                      | Bool                                                         |
| date           | date                         | Date(DAY)                                                    |
| timestamp      | timestamp (default)          | Date(MILLISECOND): int64 ms since the epoch, UTC wall clock  |
|                | timestamp with time zone     | Timestamp(MILLISECOND, "UTC"), values Presto-packed          |
|                | (``timestamp_type`` setting) | ``(epochMillis << 12) | zoneKey`` with the UTC key 0         |
| json           | varchar                      | Utf8 (compact JSON text, keys sorted)                        |
| list<T>        | array(T)                     | List(T)                                                      |
| object{...}    | row(...)                     | Struct (child names lower-cased; Athena lower-cases names)   |

Why Date(MILLISECOND) by default: the spec reads every timestamp as a UTC instant, Athena's ``timestamp``
literals (``TIMESTAMP '2024-01-01 00:00:00'``) then compare with it directly and arrive as Date(MILLISECOND)
markers the connector can push to the API, while filters on ``timestamp with time zone`` columns are known to
reach connectors unreliably (the engine often casts instead of pushing). The packed form is available for
deployments that want the zone shown.

Every field is nullable (the SDK builds every field nullable; a declared non-null field that is null in the
API's answer is passed through, not invented).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa

from shared.errors import ConfigError
from shared.spec.model import EntitySpec, FieldSpec
from shared.types import FieldType

TIMESTAMP = "timestamp"
TIMESTAMP_WITH_TIME_ZONE = "timestamp_with_time_zone"
PACKED_TIMESTAMP_TYPE = pa.timestamp("ms", tz="UTC")
_ATHENA_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def timestamp_arrow_type(mode: str) -> pa.DataType:
    return PACKED_TIMESTAMP_TYPE if mode == TIMESTAMP_WITH_TIME_ZONE else pa.date64()


def struct_child_name(key: str) -> str:
    """Athena lower-cases every identifier, so a nested JSON key ``zipCode`` appears as ``zipcode``."""
    return key.lower()


def arrow_type(ftype: FieldType, timestamp_mode: str = TIMESTAMP, where: str = "field") -> pa.DataType:
    kind = ftype.kind
    if kind in ("string", "json"):
        return pa.string()
    if kind == "int32":
        return pa.int32()
    if kind == "int64":
        return pa.int64()
    if kind == "number":
        return pa.float64()
    if kind == "decimal":
        return pa.decimal128(ftype.precision or 38, ftype.scale or 0)
    if kind == "boolean":
        return pa.bool_()
    if kind == "date":
        return pa.date32()
    if kind == "timestamp":
        return timestamp_arrow_type(timestamp_mode)
    if kind == "list":
        assert ftype.item is not None
        return pa.list_(arrow_type(ftype.item, timestamp_mode, f"{where}[]"))
    if kind == "object":
        seen: dict[str, str] = {}
        children = []
        for key, sub in ftype.fields:
            name = struct_child_name(key)
            if name in seen:
                raise ConfigError(
                    f"{where}: nested fields '{seen[name]}' and '{key}' have the same name once lower-cased "
                    f"('{name}'); Athena cannot tell them apart"
                )
            seen[name] = key
            children.append(pa.field(name, arrow_type(sub, timestamp_mode, f"{where}.{key}")))
        return pa.struct(children)
    raise ConfigError(f"{where}: type {ftype} has no Athena equivalent")


@dataclass(frozen=True)
class TableSchema:
    """An entity as an Athena table: its Arrow schema and the spec field behind each column."""

    entity: EntitySpec
    schema: pa.Schema

    def field_spec(self, column: str) -> FieldSpec:
        return self.entity.field(column)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.schema.names)


def table_schema(entity: EntitySpec, timestamp_mode: str = TIMESTAMP) -> TableSchema:
    fields = []
    for f in entity.fields:
        where = f"entity '{entity.name}' field '{f.name}'"
        if not _ATHENA_NAME.match(f.name):
            raise ConfigError(f"{where}: Athena column names must be lower-case identifiers")
        fields.append(pa.field(f.name, arrow_type(f.type, timestamp_mode, where), nullable=True))
    return TableSchema(entity, pa.schema(fields))
