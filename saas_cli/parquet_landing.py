"""Landing a flow's records as Parquet, as AppFlow's S3 destination does (Parquet, source types preserved):
``<destination>/<flow name>/<execution id>/part-<n>.parquet``, in S3 (``s3://bucket/prefix``) or a folder.

Column types come from the entity definition (DescribeEntity): String, Integer, Long, Short, Float, Double,
BigDecimal (``decimal(p,s)`` from its label, exact digits), Boolean, Date, DateTime (UTC), ByteArray; nested
values (Struct, Map, List) are kept as JSON text.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from saas_cli.errors import CliError

_DECIMAL_LABEL = re.compile(r"^decimal\((\d+),\s*(\d+)\)$")
SIMPLE_TYPES = {
    "String": pa.string(),
    "Integer": pa.int32(),
    "Long": pa.int64(),
    "Short": pa.int16(),
    "BigInteger": pa.int64(),
    "Float": pa.float32(),
    "Double": pa.float64(),
    "Boolean": pa.bool_(),
    "Date": pa.date32(),
    "DateTime": pa.timestamp("ms", tz="UTC"),
    "ByteArray": pa.binary(),
}


class LandingError(CliError):
    pass


def arrow_type(definition: dict[str, Any]) -> pa.DataType:
    kind = str(definition.get("dataType"))
    if kind == "BigDecimal":
        m = _DECIMAL_LABEL.match(str(definition.get("dataTypeLabel") or "").replace(" ", ""))
        return pa.decimal128(int(m.group(1)), int(m.group(2))) if m else pa.string()
    return SIMPLE_TYPES.get(kind, pa.string())  # Struct, Map, List: JSON text


def landing_schema(entity_definition: dict[str, Any], fields: list[str] | None = None) -> pa.Schema:
    by_name = {f["fieldName"]: f for f in entity_definition["fields"]}
    names = fields or list(by_name)
    return pa.schema([pa.field(n, arrow_type(by_name[n])) for n in names])


def _parse_datetime(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)


def convert(value: Any, t: pa.DataType) -> Any:
    if value is None:
        return None
    if pa.types.is_string(t):
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if pa.types.is_decimal(t):
        return decimal.Decimal(str(value))
    if pa.types.is_timestamp(t):
        return _parse_datetime(value) if isinstance(value, str) else dt.datetime.fromtimestamp(value / 1000, dt.UTC)
    if pa.types.is_date32(t):
        return dt.date.fromisoformat(value[:10]) if isinstance(value, str) else value
    if pa.types.is_binary(t):
        return base64.b64decode(value) if isinstance(value, str) else value
    return value


def records_table(records: list[str], schema: pa.Schema) -> pa.Table:
    """QueryData's JSON strings as a typed table (numbers read exactly)."""
    columns: dict[str, list[Any]] = {name: [] for name in schema.names}
    for i, text in enumerate(records):
        record = json.loads(text, parse_float=decimal.Decimal)
        for fld in schema:
            raw = record.get(fld.name)
            if isinstance(raw, decimal.Decimal) and not pa.types.is_decimal(fld.type):
                raw = float(raw) if pa.types.is_floating(fld.type) else raw
            try:
                columns[fld.name].append(convert(raw, fld.type))
            except (ValueError, TypeError, decimal.InvalidOperation) as exc:
                raise LandingError(f"record {i}: field '{fld.name}' value {raw!r} is not {fld.type}: {exc}") from None
    try:
        return pa.table({n: pa.array(v, type=schema.field(n).type) for n, v in columns.items()}, schema=schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise LandingError(f"records do not fit the entity's types: {exc}") from None


@dataclass
class LandedFile:
    uri: str
    rows: int
    bytes: int


@dataclass
class Landing:
    """Where one execution's files go."""

    destination: str
    flow_name: str
    execution_id: str
    files: list[LandedFile] = field(default_factory=list)

    @property
    def is_s3(self) -> bool:
        return self.destination.startswith("s3://")

    @property
    def location(self) -> str:
        return f"{self.destination.rstrip('/')}/{self.flow_name}/{self.execution_id}"

    def write_part(self, table: pa.Table) -> LandedFile:
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        data = buffer.getvalue()
        name = f"part-{len(self.files):05d}.parquet"
        uri = f"{self.location}/{name}"
        if self.is_s3:
            bucket, _, prefix = self.location.removeprefix("s3://").partition("/")
            _put_s3(bucket, f"{prefix}/{name}".lstrip("/"), data)
        else:
            path = Path(self.location)
            path.mkdir(parents=True, exist_ok=True)
            (path / name).write_bytes(data)
        landed = LandedFile(uri, table.num_rows, len(data))
        self.files.append(landed)
        return landed


def _put_s3(bucket: str, key: str, data: bytes) -> None:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=data)
    except (ClientError, BotoCoreError) as exc:
        raise LandingError(f"cannot write s3://{bucket}/{key}: {exc}") from None


def read_landed(location: str) -> Any:
    """Every part under an execution (or flow) folder as one pandas DataFrame, as a notebook reads it."""
    import pandas as pd

    if location.startswith("s3://"):
        import boto3

        bucket, _, prefix = location.removeprefix("s3://").partition("/")
        s3 = boto3.client("s3")
        keys = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix.rstrip("/") + "/"):
            keys += [o["Key"] for o in page.get("Contents", []) if o["Key"].endswith(".parquet")]
        frames = [pd.read_parquet(io.BytesIO(s3.get_object(Bucket=bucket, Key=k)["Body"].read())) for k in sorted(keys)]
    else:
        frames = [pd.read_parquet(p) for p in sorted(Path(location).rglob("*.parquet"))]
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True)
