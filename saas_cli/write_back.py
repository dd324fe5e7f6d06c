"""Writing records back through the AppFlow destination path: WriteDataRequest batches (INSERT, UPDATE,
UPSERT), one result per record, as AppFlow sends a flow's output to a destination connector."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from saas_cli.appflow_calls import AppFlowCalls
from saas_cli.errors import UsageError

DEFAULT_BATCH = 100
OPERATIONS = ("INSERT", "UPDATE", "UPSERT", "DELETE")


@dataclass
class WriteResult:
    written: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)  # (record index, message)
    batches: int = 0
    ids: list[str | None] = field(default_factory=list)


def plain(value: Any) -> Any:
    """A value as AppFlow carries it in a record's JSON."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)  # exact digits; the connector reads decimal fields from text
    if hasattr(value, "item"):  # numpy scalars
        return plain(value.item())
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        return plain(value.to_pydatetime())
    return value


def read_records(path: str) -> list[dict[str, Any]]:
    """Records from a Parquet file, a JSON Lines file or a JSON array."""
    file = Path(path)
    if not file.exists():
        raise UsageError(f"no such file: {path}")
    if file.suffix == ".parquet":
        import pyarrow.parquet as pq

        return [{k: plain(v) for k, v in row.items()} for row in pq.read_table(file).to_pylist()]
    text = file.read_text(encoding="utf-8")
    try:
        if text.lstrip().startswith("["):
            data = json.loads(text)
        else:
            data = [json.loads(line) for line in text.splitlines() if line.strip()]
    except ValueError as exc:
        raise UsageError(f"{path} is not JSON Lines or a JSON array: {exc}") from None
    if not all(isinstance(r, dict) for r in data):
        raise UsageError(f"{path}: every record must be a JSON object")
    return data


def write_back(
    calls: AppFlowCalls,
    entity: str,
    operation: str,
    records: list[dict[str, Any]],
    *,
    id_fields: list[str] | None = None,
    batch_size: int = DEFAULT_BATCH,
) -> WriteResult:
    if operation not in OPERATIONS:
        raise UsageError(f"operation must be one of {', '.join(OPERATIONS)}")
    config = calls.describe_connector()
    if "DESTINATION" not in (config.get("connectorModes") or []):
        raise UsageError("the connector does not declare the DESTINATION mode: it cannot be written to")
    definition = calls.describe_entity(entity)
    if (definition.get("entity") or {}).get("isWritable") is False:
        writable = [e["entityIdentifier"] for e in calls.list_entities() if e.get("isWritable")]
        raise UsageError(
            f"entity '{entity}' is not writable (its DescribeEntity says isWritable: false); "
            f"writable entities: {', '.join(writable) or 'none'}"
        )
    result = WriteResult()
    for start in range(0, len(records), max(1, batch_size)):
        batch = [{k: plain(v) for k, v in r.items()} for r in records[start : start + batch_size]]
        out = calls.write_records(entity, operation, batch, id_fields)
        result.batches += 1
        results = out.get("writeRecordResults")
        if not isinstance(results, list) or len(results) != len(batch):
            details = out.get("errorDetails") or {}
            message = (
                f"{details.get('errorCode', 'UnknownError')}: {details.get('errorMessage', 'no per-record results')}"
            )
            result.failed += [(start + i, message) for i in range(len(batch))]
            continue
        for i, item in enumerate(results):
            if item.get("isSuccess"):
                result.written += 1
                result.ids.append(item.get("recordId"))
            else:
                result.failed.append((start + i, str(item.get("errorMessage") or "failed")))
    return result
