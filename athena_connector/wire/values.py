"""Arrow columns to Python values and back, with Athena's special time encodings applied.

Used for the single-column value holders in constraints (decoding) and available to the behaviour layer
for building row data (encoding): date64 is Athena ``timestamp`` (naive datetime), Timestamp(ms, tz) is
packed ``timestamp with time zone`` (aware datetime). Everything else is pyarrow's own conversion.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import pyarrow as pa

from athena_connector.wire.timestamps import (
    date64_to_datetime,
    datetime_to_date64,
    datetime_to_packed,
    packed_to_datetime,
)

VALUE_COLUMN = "col1"  # the SDK's name for the only column of a constraint value block


def is_packed_timestamp(data_type: pa.DataType) -> bool:
    """Timestamp(MILLISECOND, tz) values are Presto-packed (the SDK's default, which Athena relies on)."""
    return pa.types.is_timestamp(data_type) and data_type.unit == "ms" and data_type.tz is not None


def to_python(array: pa.Array | pa.ChunkedArray) -> list[Any]:
    """Python values of a column; date64 -> naive datetime, packed timestamp-tz -> aware datetime."""
    data_type = array.type
    if pa.types.is_date64(data_type) or is_packed_timestamp(data_type):
        convert = date64_to_datetime if pa.types.is_date64(data_type) else packed_to_datetime
        return [None if v is None else convert(v) for v in to_raw(array)]
    return array.to_pylist()


def to_raw(array: pa.Array | pa.ChunkedArray) -> list[Any]:
    """Values as stored: int64 for date64 and packed timestamp-tz (no conversion that could fail)."""
    if pa.types.is_date64(array.type) or is_packed_timestamp(array.type):
        return array.cast(pa.int64()).to_pylist()
    return array.to_pylist()


def from_python(values: Iterable[Any], data_type: pa.DataType) -> pa.Array:
    """Build a column of ``data_type`` from Python values, encoding date64 and packed timestamp-tz."""
    items = list(values)
    if pa.types.is_date64(data_type):
        ints = [None if v is None else _date64_int(v) for v in items]
        return pa.array(ints, type=pa.int64()).view(data_type)
    if is_packed_timestamp(data_type):
        ints = [None if v is None else _packed_int(v) for v in items]
        return pa.array(ints, type=pa.int64()).view(data_type)
    return pa.array(items, type=data_type)


def _date64_int(value: Any) -> int:
    if isinstance(value, dt.date):
        return datetime_to_date64(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise TypeError(f"cannot encode {value!r} as an Athena timestamp (date64)")


def _packed_int(value: Any) -> int:
    if isinstance(value, dt.datetime):
        return datetime_to_packed(value)
    raise TypeError(f"cannot encode {value!r} as an Athena timestamp with time zone")


def value_column(batch: pa.RecordBatch) -> pa.Array:
    """The value column of a constraint block: ``col1``, or the only column if it is named otherwise."""
    index = batch.schema.get_field_index(VALUE_COLUMN)
    if index < 0:
        if batch.num_columns != 1:
            raise ValueError(f"value block has no '{VALUE_COLUMN}' column (columns: {batch.schema.names})")
        index = 0
    return batch.column(index)
