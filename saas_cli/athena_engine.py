"""An Athena-like engine for one federated catalog: plan the scans of a SQL query, drive the connector as
Athena does (Ping, GetDataSourceCapabilities, GetTable, GetTableLayout, GetSplits until no continuation
token, then ReadRecords for every split in parallel, spilled blocks read from S3), then run the complete SQL
with DuckDB over the Arrow data the connector returned.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from athena_connector.wire import Block, Split, TableName
from saas_cli.athena_calls import ATHENA_MAX_BLOCK, ATHENA_MAX_INLINE, AthenaCalls, CallRecord, Ping, TableInfo
from saas_cli.errors import SqlError
from saas_cli.invoker import FunctionError, Invoker
from saas_cli.spill_reader import SpillReader
from saas_cli.sql_constraints import ScanPushdown, scan_pushdown
from saas_cli.sql_errors import engine_error
from saas_cli.sql_scans import ParsedQuery, Scan, assign_columns, parse_query

DEFAULT_WORKERS = 8
NOT_FOUND_ERRORS = ("EntityNotFoundException",)


@dataclass
class ScanResult:
    scan: Scan
    info: TableInfo
    pushdown: ScanPushdown
    projection: pa.Schema
    partitions: int = 0
    splits: list[Split] = field(default_factory=list)
    split_calls: int = 0
    tables: list[pa.Table] = field(default_factory=list)
    spilled_splits: int = 0
    spilled_blocks: int = 0
    spilled_bytes: int = 0
    inline_bytes: int = 0

    @property
    def rows(self) -> int:
        return sum(t.num_rows for t in self.tables)

    def table(self) -> pa.Table:
        if not self.projection.names:  # zero-column reads (count(*)) carry only a row count
            return pa.table({"__row": pa.nulls(self.rows, pa.bool_())})
        if not self.tables:
            return self.projection.empty_table()
        return pa.concat_tables(self.tables)


@dataclass
class QueryOutcome:
    sql: str
    engine_sql: str
    result: pa.Table
    scans: list[ScanResult]
    calls: list[CallRecord]
    ping: Ping
    capabilities: dict[str, Any]
    seconds: float

    @property
    def spilled(self) -> bool:
        return any(s.spilled_splits for s in self.scans)


Progress = Callable[[str, int, int], None]  # (what, done, total)


class AthenaEngine:
    def __init__(
        self,
        invoker: Invoker,
        *,
        catalog: str,
        schema: str,
        workers: int = DEFAULT_WORKERS,
        max_block: int = ATHENA_MAX_BLOCK,
        max_inline: int = ATHENA_MAX_INLINE,
        spill_reader: SpillReader | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.invoker = invoker
        self.catalog = catalog
        self.schema = schema.lower()
        self.workers = max(1, workers)
        self.max_block = max_block
        self.max_inline = max_inline
        self.spill_reader = spill_reader or SpillReader()
        self.progress = progress

    def run(self, sql: str) -> QueryOutcome:
        started = time.perf_counter()
        parsed = parse_query(sql)
        calls = AthenaCalls(self.invoker, self.catalog)
        ping = calls.ping()
        capabilities = calls.capabilities()
        infos = self._tables(calls, parsed)
        columns = {s.index: list(infos[s.table].schema.names) for s in parsed.scans}
        assign_columns(parsed, columns)
        results = []
        for scan in parsed.scans:
            info = infos[scan.table]
            pushdown = scan_pushdown(parsed, scan, info.schema, capabilities, columns)
            projection = pa.schema([f for f in info.schema if f.name in scan.columns])
            results.append(ScanResult(scan, info, pushdown, projection))
        execute(parsed, results)  # bind the whole query over empty tables: its mistakes show before any read
        for res in results:
            self._plan_splits(calls, res)
        self._read(calls, results)
        result = execute(parsed, results)
        return QueryOutcome(
            sql=sql,
            engine_sql=parsed.engine_sql(),
            result=result,
            scans=results,
            calls=list(calls.calls),
            ping=ping,
            capabilities=capabilities,
            seconds=time.perf_counter() - started,
        )

    def _tables(self, calls: AthenaCalls, parsed: ParsedQuery) -> dict[str, TableInfo]:
        infos: dict[str, TableInfo] = {}
        for scan in parsed.scans:
            if scan.schema is not None and scan.schema != self.schema:
                raise SqlError(
                    f"unknown schema '{scan.schema}' in {scan.schema}.{scan.table}: this catalog serves the "
                    f"schema '{self.schema}'",
                    hint="set --schema if the connector serves another schema",
                )
            if scan.table in infos:
                continue
            try:
                infos[scan.table] = calls.get_table(TableName(self.schema, scan.table))
            except FunctionError as exc:
                if exc.error_type in NOT_FOUND_ERRORS:
                    message = exc.error_message
                    prefix = f"GetTableRequest {self.schema}.{scan.table}: "
                    raise SqlError(message.removeprefix(prefix)) from None
                raise
        return infos

    def _plan_splits(self, calls: AthenaCalls, res: ScanResult) -> None:
        constraints = res.pushdown.constraints
        partitions: Block = calls.get_table_layout(res.info, constraints)
        res.partitions = partitions.num_rows
        if partitions.num_rows == 0:
            return  # nothing to read (the connector pruned every partition)
        res.splits, res.split_calls = calls.get_splits(res.info, partitions, constraints)

    def _read(self, calls: AthenaCalls, results: list[ScanResult]) -> None:
        tasks = [(res, split) for res in results for split in res.splits]
        total = len(tasks)
        if self.progress:
            self.progress("ReadRecords", 0, total)
        if not tasks:
            return

        def read(res: ScanResult, split: Split) -> Any:
            return calls.read_records(
                res.info,
                res.projection,
                split,
                res.pushdown.constraints,
                self.spill_reader,
                max_block=self.max_block,
                max_inline=self.max_inline,
            )

        done = 0
        with ThreadPoolExecutor(max_workers=min(self.workers, total), thread_name_prefix="read") as pool:
            futures = {pool.submit(read, res, split): res for res, split in tasks}
            try:
                for future in as_completed(futures):
                    res = futures[future]
                    records = future.result()
                    _check_projection(res, records.table)
                    res.tables.append(records.table)
                    res.spilled_splits += records.spilled
                    res.spilled_blocks += records.blocks
                    res.spilled_bytes += records.spilled_bytes
                    res.inline_bytes += records.inline_bytes
                    done += 1
                    if self.progress:
                        self.progress("ReadRecords", done, total)
            except BaseException:
                for future in futures:
                    future.cancel()
                raise


def _check_projection(res: ScanResult, table: pa.Table) -> None:
    from saas_cli.errors import ProtocolError

    if table.schema.names != res.projection.names:
        raise ProtocolError(
            f"ReadRecords for {res.scan.table}: the connector returned columns {table.schema.names}, "
            f"the engine asked for {res.projection.names}"
        )


# -- DuckDB ------------------------------------------------------------------------------------------------


def for_engine(table: pa.Table) -> pa.Table:
    """Athena's wire types as SQL types: ``timestamp`` travels as Date(MILLISECOND) and ``timestamp with time
    zone`` as Presto-packed Timestamp(ms, tz); DuckDB reads both as timestamps once unpacked."""
    columns = []
    for original, fld in zip(table.columns, table.schema, strict=True):
        t = fld.type
        column = original
        if pa.types.is_date64(t):
            column = original.cast(pa.int64()).cast(pa.timestamp("ms"))
        elif pa.types.is_timestamp(t) and t.unit == "ms" and t.tz is not None:
            millis = pc.shift_right(original.cast(pa.int64()), 12)
            column = millis.cast(pa.timestamp("ms", tz="UTC"))
        columns.append(column)
    return pa.table(columns, names=table.schema.names)


def execute(parsed: ParsedQuery, results: list[ScanResult]) -> pa.Table:
    import duckdb

    con = duckdb.connect()
    try:
        for res in results:
            con.register(res.scan.view, for_engine(res.table()))
        sql = parsed.engine_sql()
        try:
            relation = con.sql(sql)
            fetch = getattr(relation, "to_arrow_table", None) or relation.arrow  # duckdb 2 / 1.x
            return fetch()
        except duckdb.Error as exc:
            columns = {res.scan.alias: list(res.info.schema.names) for res in results}
            raise engine_error(parsed.sql, parsed.tree, str(exc) or type(exc).__name__, columns) from None
    finally:
        con.close()
