"""Drive ``lambda_handler`` the way Athena does, and read its answers back the way the engine does.

Every event is a wire request dataclass emitted with ``to_wire``, serialized with ``json.dumps`` and parsed
with ``json.loads`` (so the handler only ever sees what travels over Lambda's JSON interface); every answer
must survive ``json.dumps`` and stay under Lambda's 6 MB response limit. Spilled answers are read from S3,
decrypted with the response's key and decoded with its schema.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pytest
import requests

from athena_connector.handler import lambda_handler
from athena_connector.wire import (
    Block,
    Constraints,
    FederatedIdentity,
    GetDataSourceCapabilitiesRequest,
    GetSplitsRequest,
    GetTableLayoutRequest,
    GetTableRequest,
    PingRequest,
    ReadRecordsRequest,
    Split,
    TableName,
    decode_records,
    decode_schema,
    decode_spill_object,
    to_wire,
)
from athena_connector.wire.blocks import block_from_wire
from athena_connector.wire.splits import encryption_key_from_wire, split_from_wire
from shared.paths import compile_path
from shared.spec import load_spec
from shared.spec.model import EntitySpec
from shared.values import coerce

SPILL_BUCKET = "athena-spill-test"
CATALOG = "lambda:athena-saas"
SCHEMA = "demo_crm"
LAMBDA_RESPONSE_LIMIT = 6_291_456
ATHENA_MAX_BLOCK = 16_000_000
ATHENA_MAX_INLINE = 3_465_000
IDENTITY = FederatedIdentity("123456789012", "arn:aws:iam::123456789012:user/analyst")
DEMO_SPEC = load_spec("demo")
_EPOCH_UTC = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class FakeContext:
    """The parts of the Lambda context the connector and powertools read."""

    function_name = "athena-saas"
    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:athena-saas"
    aws_request_id = "00000000-0000-0000-0000-000000000000"

    def __init__(self, remaining_ms: float = 300_000) -> None:
        self._end = time.monotonic() + remaining_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._end - time.monotonic()) * 1000))


def table_name(entity: str) -> TableName:
    return TableName(SCHEMA, entity)


def to_event(message: Any) -> Any:
    """What Lambda delivers: the JSON text of the wire message, parsed."""
    if isinstance(message, str):
        return message
    wire = message if isinstance(message, dict) else to_wire(message)
    return json.loads(json.dumps(wire))


def check_response(out: Any) -> dict[str, Any]:
    assert isinstance(out, dict), f"the handler must return a dict, got {type(out).__name__}"
    text = json.dumps(out)
    assert len(text.encode()) <= LAMBDA_RESPONSE_LIMIT, f"response of {len(text)} bytes is over 6 MB"
    return json.loads(text)


@dataclass
class QueryResult:
    table: pa.Table
    splits: list[Split]
    responses: list[dict[str, Any]] = field(default_factory=list)
    split_calls: int = 0

    @property
    def remote(self) -> list[dict[str, Any]]:
        return [r for r in self.responses if r["@type"] == "RemoteReadRecordsResponse"]


class Connector:
    def __init__(self, server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.server = server
        self.monkeypatch = monkeypatch
        self._query = 0

    # -- environment -------------------------------------------------------------------------
    def setenv(self, name: str, value: str) -> None:
        from athena_connector.runtime import reset_runtime

        self.monkeypatch.setenv(name, value)
        reset_runtime()

    def new_query_id(self) -> str:
        self._query += 1
        return f"q-{self._query:04d}-{time.time_ns()}"

    # -- invoking ----------------------------------------------------------------------------
    def invoke(self, message: Any, context: Any = None) -> dict[str, Any]:
        return check_response(lambda_handler(to_event(message), context or FakeContext()))

    def table_schema(self, entity: str) -> pa.Schema:
        out = self.invoke(GetTableRequest(IDENTITY, "q-meta", CATALOG, table_name(entity)))
        assert out["@type"] == "GetTableResponse"
        return decode_schema(out["schema"])

    def layout(self, entity: str, constraints: Constraints | None = None, query_id: str = "q") -> Block:
        constraints = constraints or Constraints()
        schema = self.table_schema(entity)
        out = self.invoke(
            GetTableLayoutRequest(IDENTITY, query_id, CATALOG, table_name(entity), constraints, schema, ())
        )
        assert out["@type"] == "GetTableLayoutResponse"
        block = block_from_wire(out["partitions"], "partitions")
        assert block.num_rows >= 1
        return block

    def splits(
        self, entity: str, constraints: Constraints | None = None, query_id: str = "q"
    ) -> tuple[list[Split], int]:
        constraints = constraints or Constraints()
        partitions = self.layout(entity, constraints, query_id)
        splits: list[Split] = []
        token = None
        calls = 0
        while True:
            calls += 1
            request = GetSplitsRequest(
                IDENTITY, query_id, CATALOG, table_name(entity), partitions, (), constraints, token
            )
            out = self.invoke(request)
            assert out["@type"] == "GetSplitsResponse"
            splits += [split_from_wire(s, "split") for s in out["splits"]]
            token = out["continuationToken"]
            if token is None:
                return splits, calls
            assert calls < 1000

    def read_split(
        self,
        entity: str,
        split: Split,
        schema: pa.Schema,
        constraints: Constraints | None = None,
        *,
        max_block: int = ATHENA_MAX_BLOCK,
        max_inline: int = ATHENA_MAX_INLINE,
        query_id: str = "q",
        context: Any = None,
    ) -> tuple[pa.Table, dict[str, Any]]:
        request = ReadRecordsRequest(
            IDENTITY,
            query_id,
            CATALOG,
            table_name(entity),
            schema,
            split,
            constraints or Constraints(),
            max_block,
            max_inline,
        )
        out = self.invoke(request, context)
        return self.decode_records(out, schema), out

    def decode_records(self, out: dict[str, Any], schema: pa.Schema) -> pa.Table:
        if out["@type"] == "ReadRecordsResponse":
            block = out["records"]
            block_schema = decode_schema(block["schema"])
            assert block_schema.names == schema.names
            batch = decode_records(block["records"], block_schema)
            return pa.Table.from_batches([batch], schema=block_schema)
        assert out["@type"] == "RemoteReadRecordsResponse", out["@type"]
        return pa.Table.from_batches(self.read_spilled(out), schema=decode_schema(out["schema"]))

    def read_spilled(self, out: dict[str, Any]) -> list[pa.RecordBatch]:
        import boto3

        s3 = boto3.client("s3")
        schema = decode_schema(out["schema"])
        key = encryption_key_from_wire(out["encryptionKey"], "encryptionKey")
        batches = []
        for loc in out["remoteBlocks"]:
            assert loc["@type"] == "S3SpillLocation" and loc["directory"] is False
            data = s3.get_object(Bucket=loc["bucket"], Key=loc["key"])["Body"].read()
            batches.append(decode_spill_object(data, schema, key))
        return batches

    def query(
        self,
        entity: str,
        columns: Sequence[str] | None = None,
        constraints: Constraints | None = None,
        *,
        max_block: int = ATHENA_MAX_BLOCK,
        max_inline: int = ATHENA_MAX_INLINE,
        context: Any = None,
    ) -> QueryResult:
        """The whole sequence Athena runs for a SELECT: Ping, GetDataSourceCapabilities, GetTable,
        GetTableLayout, GetSplits (paged), then ReadRecords on every split; the rows of all splits together.
        ``context`` (a Lambda context) is given to every ReadRecords, e.g. to shorten their time."""
        constraints = constraints or Constraints()
        query_id = self.new_query_id()
        ping = self.invoke(PingRequest(IDENTITY, CATALOG, query_id))
        assert (ping["serDeVersion"], ping["capabilities"]) == (5, 24)
        self.invoke(GetDataSourceCapabilitiesRequest(IDENTITY, query_id, CATALOG))
        full = self.table_schema(entity)
        schema = full if columns is None else pa.schema([full.field(c) for c in columns])
        splits, calls = self.splits(entity, constraints, query_id)
        assert splits, "GetSplits must return at least one split"
        locations = [s.spill_location.key for s in splits]
        assert len(set(locations)) == len(locations), "every split needs its own spill location"
        tables, responses = [], []
        for split in splits:
            table, out = self.read_split(
                entity,
                split,
                schema,
                constraints,
                max_block=max_block,
                max_inline=max_inline,
                query_id=query_id,
                context=context,
            )
            tables.append(table)
            responses.append(out)
        result = pa.concat_tables(tables) if tables else schema.empty_table()
        return QueryResult(result, splits, responses, calls)

    # -- the source of truth -----------------------------------------------------------------
    def dump(self, entity: str) -> list[dict[str, Any]]:
        response = requests.get(f"{self.server.admin_url}/dump/{entity}", timeout=30)
        response.raise_for_status()
        return response.json()


# ----------------------------------------------------------------------------------- comparisons


def typed_value(value: Any, kind: str) -> Any:
    """A coerced (typed) value in the form our Arrow output reads back: timestamps as UTC milliseconds."""
    if kind == "timestamp" and value is not None:
        return (value - _EPOCH_UTC) // dt.timedelta(milliseconds=1)
    return value


def expected_rows(entity: EntitySpec, records: list[dict[str, Any]], columns: Sequence[str]) -> list[dict[str, Any]]:
    """The API's records as the connector must return them (the shared per-value rules, independently)."""
    getters = {c: compile_path(entity.field(c).path) for c in columns}
    rows = []
    for record in records:
        row = {}
        for c in columns:
            f = entity.field(c)
            row[c] = typed_value(coerce(getters[c](record), f.type), f.type.kind)
        rows.append(row)
    return rows


def result_rows(table: pa.Table) -> list[dict[str, Any]]:
    """Our output as Python values; Athena ``timestamp`` (date64) read as its raw milliseconds."""
    columns = {}
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_date64(column.type):
            column = column.cast(pa.int64())
        columns[name] = column.to_pylist()
    return [{n: columns[n][i] for n in table.column_names} for i in range(table.num_rows)]


def by_id(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: r["id"])
