"""Full validation of Arrow data that comes from outside, before anything reads it.

pyarrow's cheap ``validate()`` checks buffer sizes only; a record batch whose offsets or lengths point
outside its buffers passes it, and the C++ kernels that later read the values (``to_pylist``, ``cast``,
``is_in``) then read arbitrary memory: one flipped bit in a constraint's value block killed the Lambda with a
segfault. So every batch decoded from a request goes through ``validate(full=True)`` here, and every schema
has its field names checked as UTF-8 (pyarrow raises UnicodeDecodeError only when ``.name`` is first read).

Full validation also checks value semantics, and one of them does not hold on Athena's wire: a date64 must be
a whole number of days, but Athena's ``timestamp`` is date64 holding any millisecond. So date64 columns
(at any depth) are validated through a zero-copy view as int64, which has the same layout: offsets, lengths
and validity are still checked in full, only the whole-day rule is skipped.
"""

from __future__ import annotations

import pyarrow as pa

from athena_connector.wire.errors import WireError

MAX_TYPE_DEPTH = 64  # nested types deeper than this are not something Athena sends


def _children(data_type: pa.DataType) -> list[pa.Field]:
    return [data_type.field(i) for i in range(data_type.num_fields)]


def check_schema(schema: pa.Schema, path: str) -> None:
    """Field names (at every depth) must be UTF-8; nesting must stay shallow. WireError otherwise."""
    stack: list[tuple[pa.Field, str, int]] = [(schema.field(i), f"{path}.fields[{i}]", 1) for i in range(len(schema))]
    while stack:
        fld, where, depth = stack.pop()
        try:
            name = fld.name
        except UnicodeDecodeError as exc:
            raise WireError(where, f"field name is not valid UTF-8 (byte {exc.start})") from None
        if depth > MAX_TYPE_DEPTH:
            raise WireError(where, f"types nested more than {MAX_TYPE_DEPTH} levels deep")
        problem = _type_problem(fld.type)
        if problem:
            raise WireError(f"{path}.{name}", problem)
        stack.extend((child, f"{path}.{name}", depth + 1) for child in _children(fld.type))


def _type_problem(data_type: pa.DataType) -> str | None:
    """Type parameters the IPC reader accepts but pyarrow's kernels do not survive (a cast to decimal(14, 268435458)
    segfaults): decimals need 1 <= precision <= 38 (76) and 0 <= scale <= precision, zones must be UTF-8."""
    t = pa.types
    if t.is_decimal(data_type):
        most = 38 if t.is_decimal128(data_type) else 76
        if not 1 <= data_type.precision <= most or not 0 <= data_type.scale <= data_type.precision:
            return f"decimal precision {data_type.precision} and scale {data_type.scale} are out of range"
    if t.is_timestamp(data_type):
        try:
            data_type.tz  # noqa: B018 - decoding it is the check
        except UnicodeDecodeError as exc:
            return f"timestamp time zone is not valid UTF-8 (byte {exc.start})"
    if (t.is_fixed_size_binary(data_type) and data_type.byte_width < 0) or (
        t.is_fixed_size_list(data_type) and data_type.list_size < 0
    ):
        return f"negative width in {data_type}"
    return None


def _without_date64(data_type: pa.DataType) -> pa.DataType:
    """``data_type`` with every date64 replaced by int64 (same physical layout)."""
    t = pa.types
    if t.is_date64(data_type):
        return pa.int64()
    if t.is_map(data_type):
        return pa.map_(
            data_type.key_field.with_type(_without_date64(data_type.key_type)),
            data_type.item_field.with_type(_without_date64(data_type.item_type)),
            keys_sorted=data_type.keys_sorted,
        )
    if t.is_struct(data_type):
        return pa.struct([f.with_type(_without_date64(f.type)) for f in _children(data_type)])
    if t.is_fixed_size_list(data_type):
        return pa.list_(data_type.value_field.with_type(_without_date64(data_type.value_type)), data_type.list_size)
    if t.is_large_list(data_type):
        return pa.large_list(data_type.value_field.with_type(_without_date64(data_type.value_type)))
    if t.is_list(data_type):
        return pa.list_(data_type.value_field.with_type(_without_date64(data_type.value_type)))
    return data_type


def _has_date64(data_type: pa.DataType) -> bool:
    return pa.types.is_date64(data_type) or any(_has_date64(f.type) for f in _children(data_type))


def check_batch(batch: pa.RecordBatch, path: str) -> None:
    """Structural, then full validation of every column; WireError naming the column otherwise."""
    try:
        batch.validate()
    except (pa.ArrowException, ValueError) as exc:
        raise WireError(path, f"invalid Arrow record batch: {exc}") from None
    for i, column in enumerate(batch.columns):
        where = f"{path}.{batch.schema.names[i]}"
        try:
            checked = column.view(_without_date64(column.type)) if _has_date64(column.type) else column
            checked.validate(full=True)
        except (pa.ArrowException, ValueError, TypeError) as exc:
            raise WireError(where, f"invalid Arrow data: {exc}") from None
