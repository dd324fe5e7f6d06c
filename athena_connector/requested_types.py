"""What a request may ask of a column's type: the projection's types and the constraints' value types.

ReadRecords returns the columns in the types the request's schema names. pyarrow casts between almost any
two types, so a plain ``cast`` answered uint64, large_string, float16, decimal256 or timestamp[ns], none of which
the engine reads (the SDK's ``SupportedTypes`` whitelist), and it cast Athena's timestamp encodings as if they
were plain numbers: a ``timestamp`` (date64, UTC milliseconds) asked for as ``Timestamp(ms, UTC)`` came back
unpacked, which Athena reads as a Presto-packed value (``millis << 12 | zone``) and shows as 1970-01-05.

So a requested type must be in the whitelist, and the three timestamp encodings convert through the instant they
mean: date64 (ms), packed Timestamp(ms, zone) (ms << 12 | zone key), Timestamp(us, zone) (plain microseconds).
Nested types that differ from the column's only where no timestamp is involved are cast by pyarrow.

A constraint's ValueSet must hold values of the column's kind (a number range on a text column cannot be
evaluated, and pyarrow would fail with a bare type error deep in the filter): the value type's family must match
the column's; widths and decimal scales may differ (the filter compares them exactly), and Athena's two
millisecond timestamp encodings stand for each other (the filter compares both as UTC milliseconds).
"""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa
import pyarrow.compute as pc

from athena_connector.errors import InvalidInputException
from athena_connector.wire import AllOrNoneValueSet, EquatableValueSet, SortedRangeSet, ValueSet
from athena_connector.wire.arrow_types import unsupported_type_problem
from athena_connector.wire.timestamps import MILLIS_SHIFT, zone_key
from athena_connector.wire.values import is_packed_timestamp, value_column

SUPPORTED = (
    "boolean (Bool), tinyint/smallint/integer/bigint (signed Int 8/16/32/64), real/double (FloatingPoint "
    "SINGLE/DOUBLE), decimal (Decimal128), varchar (Utf8), varbinary (Binary), date (Date DAY), timestamp "
    "(Date MILLISECOND), timestamp with time zone (Timestamp MILLISECOND or MICROSECOND with a zone), "
    "array/row/map (List/Struct/Map of these)"
)


def _is_time(data_type: pa.DataType) -> bool:
    return pa.types.is_date64(data_type) or pa.types.is_timestamp(data_type)


def _has_time(data_type: pa.DataType) -> bool:
    return _is_time(data_type) or any(_has_time(data_type.field(i).type) for i in range(data_type.num_fields))


def check_requested_type(requested: pa.Field, ours: pa.DataType, entity: str) -> None:
    """Refuse a requested column type Athena cannot read, or one this column cannot be converted to exactly."""
    problem = unsupported_type_problem(requested)
    if problem:
        raise InvalidInputException(f"schema: {problem}; the types Athena reads are: {SUPPORTED}")
    wanted = requested.type
    if ours.equals(wanted):
        return
    if _is_time(wanted) and _is_time(ours):
        if pa.types.is_timestamp(wanted):
            _zone_key(wanted, requested.name)
        return
    if _has_time(wanted) or _has_time(ours):
        raise InvalidInputException(
            f"schema: column '{requested.name}' of '{entity}' is {ours}; it cannot be returned as {wanted} "
            "(timestamps inside nested types are returned only in the table's own type)"
        )


def _zone_key(data_type: pa.DataType, column: str) -> int:
    try:
        return zone_key(data_type.tz)
    except ValueError as exc:
        raise InvalidInputException(f"schema: column '{column}' is requested as {data_type}: {exc}") from None


def _utc_millis(column: pa.Array) -> pa.Array:
    """UTC epoch milliseconds (int64) of a date64, packed Timestamp(ms, zone) or Timestamp(unit, zone) column."""
    if pa.types.is_date64(column.type):
        return column.view(pa.int64())
    if is_packed_timestamp(column.type):
        return pc.shift_right(column.view(pa.int64()), MILLIS_SHIFT)
    return column.cast(pa.timestamp("ms", tz="UTC"), safe=False).view(pa.int64())


def convert_column(column: pa.Array, wanted: pa.DataType, name: str) -> pa.Array:
    """``column`` in the requested type (checked by :func:`check_requested_type`), timestamps by their instant."""
    if _is_time(column.type) and _is_time(wanted):
        millis = _utc_millis(column)
        if pa.types.is_date64(wanted):
            return millis.view(pa.date64())
        if is_packed_timestamp(wanted):
            key = pa.scalar(_zone_key(wanted, name), pa.int64())
            return pc.bit_wise_or(pc.shift_left(millis, MILLIS_SHIFT), key).view(wanted)
        return pc.multiply(millis, pa.scalar(1000, pa.int64())).view(pa.timestamp("us", tz="UTC")).cast(wanted)
    return column.cast(wanted)


# ------------------------------------------------------------------------------------------- value sets


def _family(data_type: pa.DataType) -> str:
    t = pa.types
    checks = (
        (lambda d: t.is_date64(d) or (t.is_timestamp(d) and d.unit == "ms"), "timestamp (milliseconds)"),
        (t.is_timestamp, f"timestamp ({data_type})"),
        (t.is_integer, "integer"),
        (t.is_floating, "floating point"),
        (t.is_decimal, "decimal"),
        (lambda d: t.is_string(d) or t.is_large_string(d), "text"),
        (lambda d: t.is_binary(d) or t.is_large_binary(d) or t.is_fixed_size_binary(d), "binary"),
        (t.is_boolean, "boolean"),
        (t.is_date32, "date"),
        (t.is_null, "null"),
    )
    for check, name in checks:
        if check(data_type):
            return name
    return str(data_type)


def _value_types(vs: ValueSet) -> list[pa.DataType]:
    if isinstance(vs, EquatableValueSet):
        return [value_column(vs.value_block.batch).type]
    if isinstance(vs, SortedRangeSet):
        try:
            declared = vs.type.to_pyarrow()
        except (ValueError, TypeError, pa.ArrowException) as exc:  # e.g. Decimal precision 0
            raise InvalidInputException(f"the SortedRangeSet's type {vs.type.to_wire()} is not valid: {exc}") from None
        out = [] if declared is None else [declared]
        for rng in vs.ranges:
            out += [value_column(m.value_block.batch).type for m in (rng.low, rng.high) if not m.null_value]
        return out
    if isinstance(vs, AllOrNoneValueSet):
        return []  # no values: all, none or IS NULL apply to any column
    return []


def check_value_set_types(summary: Mapping[str, ValueSet], schema: pa.Schema, where: str = "constraints") -> None:
    """Each ValueSet's values must be of its column's kind (see the module docstring)."""
    for column, vs in summary.items():
        ours = schema.field(column).type
        for value_type in _value_types(vs):
            if pa.types.is_null(value_type):
                continue
            if _family(value_type) != _family(ours):
                raise InvalidInputException(
                    f"{where}.summary.{column}: the {type(vs).__name__} holds {value_type} values, but column "
                    f"'{column}' is {ours}"
                )
