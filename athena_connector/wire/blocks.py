"""Blocks (schema + one record batch) and message-level schemas in their JSON form.

A Block is ``{"aId", "schema", "records"}``; it carries partitions, row data, UDF rows and the single
``col1`` value holders inside constraints. A message-level schema is a bare base64 string (V2+); the V1
dialect wrapped it as ``{"schema": "<b64>"}``, which is accepted on input.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from athena_connector.wire._fields import expect_object, fail, json_kind
from athena_connector.wire._fields import field as get_field
from athena_connector.wire.arrow_ipc import decode_records, decode_schema, encode_records, encode_schema
from athena_connector.wire.versions import SERDE_VERSION


def new_allocator_id() -> str:
    """The ``aId`` is opaque to the engine; the SDK uses a UUID, so do we."""
    return str(uuid.uuid4())


@dataclass(frozen=True)
class Block:
    """An Arrow record batch with its schema; zero rows is legal and is sent as ``"records": ""``."""

    batch: pa.RecordBatch
    allocator_id: str = field(default_factory=new_allocator_id)

    @property
    def schema(self) -> pa.Schema:
        return self.batch.schema

    @property
    def num_rows(self) -> int:
        return self.batch.num_rows

    @classmethod
    def from_pydict(cls, data: Mapping[str, list[Any]], schema: pa.Schema, allocator_id: str | None = None) -> Block:
        batch = pa.RecordBatch.from_pydict(dict(data), schema=schema)
        return cls(batch, allocator_id or new_allocator_id())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Block):
            return NotImplemented
        return (
            self.allocator_id == other.allocator_id
            and self.batch.schema.equals(other.batch.schema, check_metadata=True)
            and self.batch.equals(other.batch)
        )

    def __hash__(self) -> int:
        return hash((self.allocator_id, self.batch.num_rows, self.batch.num_columns))


def block_to_wire(block: Block, serde_version: int = SERDE_VERSION, path: str = "block") -> dict[str, Any]:
    if not isinstance(block, Block):
        fail(path, f"expected a Block, got {type(block).__name__}")
    return {
        "aId": block.allocator_id,
        "schema": encode_schema(block.schema, serde_version, f"{path}.schema"),
        "records": encode_records(block.batch, serde_version, f"{path}.records"),
    }


def block_from_wire(value: Any, path: str) -> Block:
    obj = expect_object(value, path)
    allocator_id = get_field(obj, "aId", path, "")
    if not isinstance(allocator_id, str):
        fail(f"{path}.aId", f"expected a string, got {json_kind(allocator_id)}")
    schema = schema_from_wire(get_field(obj, "schema", path), f"{path}.schema")
    batch = decode_records(get_field(obj, "records", path, ""), schema, f"{path}.records")
    return Block(batch, allocator_id)


def schema_to_wire(schema: pa.Schema, serde_version: int = SERDE_VERSION, path: str = "schema") -> str:
    if not isinstance(schema, pa.Schema):
        fail(path, f"expected a pyarrow Schema, got {type(schema).__name__}")
    return encode_schema(schema, serde_version, path)


def schema_from_wire(value: Any, path: str) -> pa.Schema:
    """Bare base64 string (V2+) or the V1 wrapper object ``{"schema": "<b64>"}``."""
    if isinstance(value, Mapping):
        return decode_schema(get_field(value, "schema", path), f"{path}.schema")
    return decode_schema(value, path)
