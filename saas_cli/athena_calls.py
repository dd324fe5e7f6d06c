"""The Athena federation calls, as the engine makes them: request dataclasses from the wire layer emitted in
the connector's dialect, sent through an :class:`~saas_cli.invoker.Invoker`, answers checked and decoded.

Every call is recorded (:class:`CallRecord`) so ``--explain`` and ``validate`` can show what was sent.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from athena_connector.wire import (
    Block,
    Constraints,
    FederatedIdentity,
    GetDataSourceCapabilitiesRequest,
    GetSplitsRequest,
    GetTableLayoutRequest,
    GetTableRequest,
    ListSchemasRequest,
    ListTablesRequest,
    PingRequest,
    ReadRecordsRequest,
    Split,
    TableName,
    decode_records,
    decode_schema,
)
from athena_connector.wire.blocks import block_from_wire
from athena_connector.wire.requests import request_to_wire
from athena_connector.wire.splits import encryption_key_from_wire, spill_location_from_wire, split_from_wire
from saas_cli.errors import ProtocolError
from saas_cli.invoker import Invoker

ATHENA_MAX_BLOCK = 16_000_000  # what Athena sends as maxBlockSize
ATHENA_MAX_INLINE = 3_465_000  # what Athena sends as maxInlineBlockSize
MAX_SPLIT_PAGES = 10_000
OLDEST_EMITTED_SERDE = 2
NEWEST_SERDE = 6
LOCAL_IDENTITY = FederatedIdentity("000000000000", "arn:aws:iam::000000000000:user/saas-connectors-cli")


@dataclass
class CallRecord:
    request: str
    table: str
    seconds: float
    detail: str = ""
    ok: bool = True
    started: float = 0.0  # time.perf_counter() when the call was sent (wall time of parallel calls)


@dataclass
class Ping:
    source_type: str
    capabilities: int
    serde_version: int


@dataclass
class TableInfo:
    name: TableName
    schema: pa.Schema
    partition_columns: tuple[str, ...]


@dataclass
class Records:
    """One ReadRecords answer: the rows, and where they came from."""

    table: pa.Table
    spilled: bool
    blocks: int = 0
    spilled_bytes: int = 0
    inline_bytes: int = 0


@dataclass
class AthenaCalls:
    invoker: Invoker
    catalog: str
    identity: FederatedIdentity = LOCAL_IDENTITY
    query_id: str = field(default_factory=lambda: f"{uuid.uuid4()}")
    serde_version: int = 5
    calls: list[CallRecord] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # -- plumbing --------------------------------------------------------------------------------------
    def _send(self, request: Any, expected: tuple[str, ...], table: str = "", detail: str = "") -> dict[str, Any]:
        event = request_to_wire(request, self.serde_version)
        started = time.perf_counter()
        try:
            out = self.invoker.invoke(event)
        except Exception:
            self._record(
                CallRecord(request.WIRE_TYPE, table, time.perf_counter() - started, detail, ok=False, started=started)
            )
            raise
        self._record(CallRecord(request.WIRE_TYPE, table, time.perf_counter() - started, detail, started=started))
        kind = out.get("@type")
        if kind not in expected:
            raise ProtocolError(f"{request.WIRE_TYPE}: expected {' or '.join(expected)}, got @type {kind!r}")
        return out

    def _record(self, record: CallRecord) -> None:
        with self._lock:
            self.calls.append(record)

    @staticmethod
    def _decode(what: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except (ValueError, KeyError, TypeError) as exc:
            raise ProtocolError(f"{what}: {exc}") from exc

    # -- metadata --------------------------------------------------------------------------------------
    def ping(self) -> Ping:
        out = self._send(PingRequest(self.identity, self.catalog, self.query_id), ("PingResponse",))
        version = out.get("serDeVersion", 1)
        if not isinstance(version, int) or version < OLDEST_EMITTED_SERDE:
            raise ProtocolError(
                f"PingResponse: serDeVersion {version!r}; this engine speaks versions {OLDEST_EMITTED_SERDE} to "
                f"{NEWEST_SERDE} (a missing serDeVersion means the legacy V1 dialect)"
            )
        self.serde_version = min(version, NEWEST_SERDE)
        return Ping(str(out.get("sourceType")), int(out.get("capabilities", 0)), version)

    def capabilities(self) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
        """Capability key -> [(subType, properties)]; empty before serde V4 (the request did not exist)."""
        if self.serde_version < 4:
            return {}
        request = GetDataSourceCapabilitiesRequest(self.identity, self.query_id, self.catalog)
        out = self._send(request, ("GetDataSourceCapabilitiesResponse",))

        def parse() -> dict[str, list[tuple[str, tuple[str, ...]]]]:
            return {
                str(key): [(str(s["subType"]), tuple(str(p) for p in s.get("properties") or ())) for s in subs]
                for key, subs in (out.get("capabilities") or {}).items()
            }

        return self._decode("GetDataSourceCapabilitiesResponse", parse)  # type: ignore[no-any-return]

    def list_schemas(self) -> list[str]:
        out = self._send(ListSchemasRequest(self.identity, self.query_id, self.catalog), ("ListSchemasResponse",))
        return [str(s) for s in out.get("schemas") or []]

    def list_tables(self, schema: str, page_size: int = -1) -> Iterator[TableName]:
        token: str | None = None
        while True:
            request = ListTablesRequest(self.identity, self.query_id, self.catalog, schema, token, page_size)
            out = self._send(request, ("ListTablesResponse",), schema)
            for t in out.get("tables") or []:
                yield TableName(str(t["schemaName"]), str(t["tableName"]))
            new_token = out.get("nextToken")
            if not new_token:
                return
            if new_token == token:
                raise ProtocolError("ListTablesResponse: the same nextToken twice")
            token = new_token

    def get_table(self, table: TableName) -> TableInfo:
        request = GetTableRequest(self.identity, self.query_id, self.catalog, table)
        out = self._send(request, ("GetTableResponse",), _label(table))

        def parse() -> TableInfo:
            returned = out["tableName"]
            name = TableName(str(returned["schemaName"]), str(returned["tableName"]))
            return TableInfo(name, decode_schema(out["schema"]), tuple(out.get("partitionColumns") or ()))

        return self._decode("GetTableResponse", parse)  # type: ignore[no-any-return]

    def get_table_layout(self, info: TableInfo, constraints: Constraints) -> Block:
        request = GetTableLayoutRequest(
            self.identity, self.query_id, self.catalog, info.name, constraints, info.schema, info.partition_columns
        )
        out = self._send(request, ("GetTableLayoutResponse",), _label(info.name))
        block: Block = self._decode("GetTableLayoutResponse", lambda: block_from_wire(out["partitions"], "partitions"))
        return block

    def get_splits_page(
        self, info: TableInfo, partitions: Block, constraints: Constraints, token: str | None = None
    ) -> tuple[list[Split], str | None]:
        """One GetSplits call: its splits and its continuation token (None on the last page)."""
        request = GetSplitsRequest(
            self.identity,
            self.query_id,
            self.catalog,
            info.name,
            partitions,
            info.partition_columns,
            constraints,
            token,
        )
        detail = "continuation" if token else ""
        out = self._send(request, ("GetSplitsResponse",), _label(info.name), detail)
        splits: list[Split] = self._decode(
            "GetSplitsResponse", lambda: [split_from_wire(s, "split") for s in out.get("splits") or []]
        )
        new_token = out.get("continuationToken")
        return splits, None if new_token is None else str(new_token)

    def get_splits(self, info: TableInfo, partitions: Block, constraints: Constraints) -> tuple[list[Split], int]:
        """Every split, following continuation tokens; and how many calls that took."""
        splits: list[Split] = []
        token: str | None = None
        for calls in range(1, MAX_SPLIT_PAGES + 1):
            page, new_token = self.get_splits_page(info, partitions, constraints, token)
            splits += page
            if new_token is None:
                return splits, calls
            if new_token == token:
                raise ProtocolError("GetSplitsResponse: the same continuationToken twice (no progress)")
            token = new_token
        raise ProtocolError(f"GetSplits did not finish after {MAX_SPLIT_PAGES} pages")

    # -- records ---------------------------------------------------------------------------------------
    def read_records(
        self,
        info: TableInfo,
        schema: pa.Schema,
        split: Split,
        constraints: Constraints,
        spill_reader: Any,
        *,
        max_block: int = ATHENA_MAX_BLOCK,
        max_inline: int = ATHENA_MAX_INLINE,
    ) -> Records:
        request = ReadRecordsRequest(
            self.identity, self.query_id, self.catalog, info.name, schema, split, constraints, max_block, max_inline
        )
        out = self._send(
            request, ("ReadRecordsResponse", "RemoteReadRecordsResponse"), _label(info.name), _split_label(split)
        )
        if out["@type"] == "ReadRecordsResponse":

            def inline() -> Records:
                block = out["records"]
                block_schema = decode_schema(block["schema"])
                batch = decode_records(block["records"], block_schema)
                return Records(pa.Table.from_batches([batch], schema=block_schema), False, 0, 0, len(block["records"]))

            return self._decode("ReadRecordsResponse", inline)  # type: ignore[no-any-return]

        def remote() -> tuple[pa.Schema, list[Any], Any]:
            locations = [spill_location_from_wire(b, "remoteBlocks") for b in out.get("remoteBlocks") or []]
            return decode_schema(out["schema"]), locations, encryption_key_from_wire(out["encryptionKey"], "key")

        remote_schema, locations, key = self._decode("RemoteReadRecordsResponse", remote)
        batches, size = spill_reader.read(remote_schema, locations, key)
        table = pa.Table.from_batches(batches, schema=remote_schema)
        return Records(table, True, len(locations), size)


def _label(table: TableName) -> str:
    return f"{table.schema_name}.{table.table_name}"


def _split_label(split: Split) -> str:
    props = dict(split.properties)
    if not props:
        return "split"
    return "split " + ", ".join(f"{k.removeprefix('split.')}={v}" for k, v in sorted(props.items()))[:120]
