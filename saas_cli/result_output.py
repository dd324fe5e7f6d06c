"""A query result as a table on screen, CSV, JSON (an array), JSON Lines, or a Parquet file."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import json
import sys
from pathlib import Path
from typing import Any, TextIO

import pyarrow as pa

from saas_cli.errors import UsageError
from saas_cli.output import print_table, say

FORMATS = ("table", "csv", "json", "jsonl", "parquet")
DEFAULT_MAX_ROWS = 100


def jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        # pyarrow maps come back as lists of (key, value) pairs
        return [jsonable(v) for v in value]
    return value


def cell(value: Any) -> str:
    """How one value reads in a table or CSV cell (NULL is empty in CSV; see ``null``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dict | list | tuple):
        return json.dumps(jsonable(value), ensure_ascii=False, separators=(",", ":"))
    return str(jsonable(value))


def _rows(table: pa.Table) -> list[dict[str, Any]]:
    return table.to_pylist()


def write_result(
    table: pa.Table,
    fmt: str,
    output: str | None = None,
    *,
    max_rows: int = DEFAULT_MAX_ROWS,
    stream: TextIO | None = None,
) -> None:
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
    if fmt == "parquet":
        if not output:
            raise UsageError("--format parquet needs --output FILE")
        import pyarrow.parquet as pq

        pq.write_table(table, output)
        return
    if output:
        with Path(output).open("w", encoding="utf-8", newline="") as fh:
            _write_text(table, fmt, fh, max_rows=None)
        return
    _write_text(table, fmt, stream or sys.stdout, max_rows=max_rows)


def _write_text(table: pa.Table, fmt: str, stream: TextIO, *, max_rows: int | None) -> None:
    names = table.column_names
    if fmt == "csv":
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(names)
        for row in _rows(table):
            writer.writerow([cell(row[n]) for n in names])
        return
    if fmt == "json":
        json.dump([jsonable(r) for r in _rows(table)], stream, ensure_ascii=False)
        stream.write("\n")
        return
    if fmt == "jsonl":
        for row in _rows(table):
            stream.write(json.dumps(jsonable(row), ensure_ascii=False) + "\n")
        return
    shown = table if max_rows is None else table.slice(0, max_rows)
    rows = [[("NULL" if row[n] is None else cell(row[n])) for n in names] for row in _rows(shown)]
    print_table("", names, rows, stream=stream)
    more = table.num_rows - shown.num_rows
    tail = f"{table.num_rows} row{'s' if table.num_rows != 1 else ''}"
    if more:
        tail += f" ({more} not shown; use --max-rows, or --format csv/json)"
    say(tail, style="dim", stream=stream)
