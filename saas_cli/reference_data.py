"""The expected answer of a query: the same SQL run by DuckDB over an API's complete data (records as the API
returns them, typed by the spec's declared types). The demo compares every connector answer with it."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa
from sqlglot import exp

from saas_cli.sql_scans import ENGINE_DIALECT, parse_query
from shared.spec.model import EntitySpec, FieldSpec


def _dig(record: Mapping[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _timestamp(value: Any) -> dt.datetime | None:
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, dt.UTC).replace(tzinfo=None)
    parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed.astimezone(dt.UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def _column(f: FieldSpec) -> tuple[pa.DataType, Any]:
    kind = f.type.kind
    if kind == "string":
        return pa.string(), lambda v: v if isinstance(v, str) else json.dumps(v)
    if kind in ("int32", "int64"):
        return (pa.int32() if kind == "int32" else pa.int64()), int
    if kind == "number":
        return pa.float64(), float
    if kind == "decimal":
        return pa.decimal128(f.type.precision or 38, f.type.scale or 0), lambda v: decimal.Decimal(str(v))
    if kind == "boolean":
        return pa.bool_(), bool
    if kind == "date":
        return pa.date32(), lambda v: dt.date.fromisoformat(str(v)[:10])
    if kind == "timestamp":
        return pa.timestamp("ms"), _timestamp
    return pa.string(), lambda v: json.dumps(v, sort_keys=True, separators=(",", ":"))  # json, list, object


def typed_table(entity: EntitySpec, records: Iterable[Mapping[str, Any]]) -> pa.Table:
    rows = list(records)
    arrays, names = [], []
    for f in entity.fields:
        data_type, convert = _column(f)
        values = []
        for record in rows:
            raw = _dig(record, f.path)
            bad = raw is None or (isinstance(raw, float) and math.isnan(raw))
            values.append(None if bad else convert(raw))
        arrays.append(pa.array(values, type=data_type))
        names.append(f.name)
    return pa.table(arrays, names=names)


def reference_sql(sql: str) -> str:
    """The query with its table references unqualified (``saas.demo_crm.contacts`` -> ``contacts``)."""
    tree = parse_query(sql).tree.copy()
    for table in tree.find_all(exp.Table):
        table.set("db", None)
        table.set("catalog", None)
    return tree.sql(dialect=ENGINE_DIALECT)


def expected_answer(sql: str, tables: Mapping[str, pa.Table]) -> pa.Table:
    import duckdb

    con = duckdb.connect()
    try:
        for name, table in tables.items():
            con.register(name, table)
        relation = con.sql(reference_sql(sql))
        fetch = getattr(relation, "to_arrow_table", None) or relation.arrow
        return fetch()  # type: ignore[no-any-return]
    finally:
        con.close()


def _normal(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, decimal.Decimal):
        return round(float(value), 6)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def normalized_rows(table: pa.Table, *, ordered: bool) -> list[tuple[Any, ...]]:
    columns = [c.to_pylist() for c in table.columns]
    rows = [tuple(_normal(v) for v in row) for row in zip(*columns, strict=True)]
    return rows if ordered else sorted(rows, key=repr)


def same_answer(actual: pa.Table, expected: pa.Table, *, ordered: bool) -> bool:
    return actual.num_rows == expected.num_rows and normalized_rows(actual, ordered=ordered) == normalized_rows(
        expected, ordered=ordered
    )
