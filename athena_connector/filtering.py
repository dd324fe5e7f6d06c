"""Apply Athena constraints and split bounds exactly to Arrow data with pyarrow compute.

Semantics are Presto's TupleDomain: a row passes when, for every constrained column, its value is in the
column's ValueSet; NULL passes only when the set allows NULL. For a SortedRangeSet that is the union of its
ranges (low EXACTLY v: x >= v, ABOVE v: x > v; high EXACTLY v: x <= v, BELOW v: x < v; unbounded ends
compare with nothing); single-value ranges are tested together with one ``is_in``. An EquatableValueSet is
membership (white list) or non-membership (black list); an AllOrNoneValueSet is all / none / IS NULL.

Athena's time encodings are compared as what they mean: ``timestamp`` (date64) as int64 UTC milliseconds,
packed ``timestamp with time zone`` as its UTC instant (``value >> 12``), so a Date(MILLISECOND) marker and a
packed column, or the reverse, still compare correctly. Strings compare by code point (UTF-8 bytes), as
Athena does. Nested columns (list/struct) are compared in Python, which is exact for equality; ordering on
an object column is refused with a clear error.

The same evaluator applies the shared model's predicates (a split's window, a parent-key list), so every
row a split returns is inside that split even if the API ignored a pushed parameter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from athena_connector.errors import OperationNotSupportedException
from athena_connector.expressions import columns as expression_columns
from athena_connector.expressions import expression_mask
from athena_connector.wire import (
    AllOrNoneValueSet,
    Bound,
    EquatableValueSet,
    Expression,
    Marker,
    SortedRangeSet,
    ValueSet,
)
from athena_connector.wire.timestamps import MILLIS_SHIFT
from athena_connector.wire.values import is_packed_timestamp, value_column
from shared.predicates import Op, Predicate

_EPOCH_UTC = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MS = dt.timedelta(milliseconds=1)


def _is_nested(data_type: pa.DataType) -> bool:
    return pa.types.is_list(data_type) or pa.types.is_struct(data_type) or pa.types.is_map(data_type)


def comparable(array: pa.Array) -> pa.Array:
    """The array in the form values are compared in: UTC milliseconds for Athena's two timestamp types, and
    floating point with -0.0 folded into 0.0 (``is_in`` hashes bits; SQL says they are equal)."""
    if pa.types.is_date64(array.type):
        return array.cast(pa.int64())
    if is_packed_timestamp(array.type):
        return pc.shift_right(array.cast(pa.int64()), MILLIS_SHIFT)
    if pa.types.is_floating(array.type):
        return pc.add(array, pa.scalar(0.0, array.type))  # -0.0 + 0.0 is 0.0: SQL equality, not bit equality
    return array


def _false(length: int) -> pa.Array:
    return pa.array([False] * length, type=pa.bool_()) if length else pa.array([], type=pa.bool_())


def _or(a: pa.Array | None, b: pa.Array) -> pa.Array:
    return b if a is None else pc.or_(a, b)


def _and(a: pa.Array | None, b: pa.Array) -> pa.Array:
    return b if a is None else pc.and_(a, b)


def _finish(mask: pa.Array | None, column: pa.Array, null_allowed: bool) -> pa.Array:
    """Non-null values matched by ``mask`` (None = none), plus NULLs when allowed; never null itself."""
    out = _false(len(column)) if mask is None else pc.fill_null(pc.and_(mask, pc.is_valid(column)), False)
    if null_allowed:
        out = pc.or_(out, pc.is_null(column))
    return out


# ----------------------------------------------------------------------------------------- ValueSets


def _marker_array(marker: Marker) -> pa.Array:
    return comparable(value_column(marker.value_block.batch).slice(0, 1))


def _low_test(values: pa.Array, marker: Marker) -> pa.Array:
    bound = _marker_array(marker)[0]
    # low EXACTLY v and low BELOW v (just below v) both include v; ABOVE v excludes it.
    return pc.greater(values, bound) if marker.bound is Bound.ABOVE else pc.greater_equal(values, bound)


def _high_test(values: pa.Array, marker: Marker) -> pa.Array:
    bound = _marker_array(marker)[0]
    # high EXACTLY v and high ABOVE v (just above v) both include v; BELOW v excludes it.
    return pc.less(values, bound) if marker.bound is Bound.BELOW else pc.less_equal(values, bound)


def _sorted_range_set_mask(column: pa.Array, vs: SortedRangeSet) -> pa.Array:
    values = comparable(column)
    mask: pa.Array | None = None
    singles: list[pa.Array] = []
    for rng in vs.ranges:
        if not rng.low.null_value and not rng.high.null_value and rng.is_single_value:
            singles.append(_marker_array(rng.low))
            continue
        test: pa.Array | None = None
        if not rng.low.null_value:
            test = _low_test(values, rng.low)
        if not rng.high.null_value:
            test = _and(test, _high_test(values, rng.high))
        mask = _or(mask, pc.is_valid(column) if test is None else test)
    if singles:
        value_set = pa.concat_arrays([s.cast(singles[0].type) for s in singles])
        mask = _or(mask, pc.is_in(values, value_set=value_set, skip_nulls=True))
    return _finish(mask, column, vs.null_allowed)


def _equatable_mask(column: pa.Array, vs: EquatableValueSet) -> pa.Array:
    values = comparable(column)
    members = comparable(value_column(vs.value_block.batch))
    found = _false(len(column)) if len(members) == 0 else pc.is_in(values, value_set=members, skip_nulls=True)
    return _finish(found if vs.white_list else pc.invert(found), column, vs.null_allowed)


def _all_or_none_mask(column: pa.Array, vs: AllOrNoneValueSet) -> pa.Array:
    return _finish(pc.is_valid(column) if vs.all else None, column, vs.null_allowed)


# Nested columns: Python comparison of to_pylist values (exact for equality of lists and objects).


def _python_mask(column: pa.Array, vs: ValueSet, name: str) -> pa.Array:
    values = column.to_pylist()

    def marker(m: Marker) -> Any:
        return value_column(m.value_block.batch).to_pylist()[0]

    try:
        if isinstance(vs, AllOrNoneValueSet):
            return _all_or_none_mask(column, vs)
        if isinstance(vs, EquatableValueSet):
            members = value_column(vs.value_block.batch).to_pylist()
            hits = [v is not None and ((v in members) == vs.white_list) for v in values]
        else:
            hits = []
            for v in values:
                ok = False
                if v is not None:
                    for r in vs.ranges:
                        lo_ok = r.low.null_value or (
                            v > marker(r.low) if r.low.bound is Bound.ABOVE else v >= marker(r.low)
                        )
                        hi_ok = r.high.null_value or (
                            v < marker(r.high) if r.high.bound is Bound.BELOW else v <= marker(r.high)
                        )
                        if lo_ok and hi_ok:
                            ok = True
                            break
                hits.append(ok)
    except TypeError as exc:
        raise OperationNotSupportedException(
            f"constraint on column '{name}' of type {column.type}: values of this type cannot be ordered ({exc})"
        ) from None
    mask = pa.array(hits, type=pa.bool_())
    return pc.or_(mask, pc.is_null(column)) if vs.null_allowed else mask


def value_set_mask(column: pa.Array, vs: ValueSet, name: str = "column") -> pa.Array:
    """Boolean mask (no nulls) of the rows whose ``column`` value is in ``vs``."""
    if _is_nested(column.type):
        return _python_mask(column, vs, name)
    if isinstance(vs, SortedRangeSet):
        return _sorted_range_set_mask(column, vs)
    if isinstance(vs, EquatableValueSet):
        return _equatable_mask(column, vs)
    if isinstance(vs, AllOrNoneValueSet):
        return _all_or_none_mask(column, vs)
    raise TypeError(f"not a ValueSet: {type(vs).__name__}")


def is_unsatisfiable(vs: ValueSet) -> bool:
    """Whether ``vs`` matches no value at all (the read can stop before calling the API)."""
    if isinstance(vs, SortedRangeSet):
        return not vs.ranges and not vs.null_allowed
    if isinstance(vs, EquatableValueSet):
        return vs.white_list and vs.value_block.num_rows == 0 and not vs.null_allowed
    return not vs.all and not vs.null_allowed


# ---------------------------------------------------------------------------------- shared predicates


def _predicate_scalar(value: Any, column_type: pa.DataType) -> pa.Scalar:
    """A typed Python value (shared model) as a scalar comparable with ``comparable(column)``."""
    if pa.types.is_date64(column_type) or is_packed_timestamp(column_type):
        if isinstance(value, dt.datetime):
            aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
            return pa.scalar((aware - _EPOCH_UTC) // _MS, pa.int64())
        if isinstance(value, dt.date):
            return pa.scalar((value - _EPOCH_UTC.date()).days * 86_400_000, pa.int64())
    if isinstance(value, Decimal):
        return pa.scalar(value)
    try:
        return pa.scalar(value, type=column_type)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return pa.scalar(value)


def predicate_mask(column: pa.Array, predicate: Predicate) -> pa.Array:
    """Boolean mask (no nulls) of rows satisfying one shared-model predicate (SQL: NULL never compares)."""
    op = predicate.op
    if op is Op.IS_NULL:
        return pc.is_null(column)
    if op is Op.NOT_NULL:
        return pc.is_valid(column)
    values = comparable(column)

    def scalar(v: Any) -> pa.Scalar:
        return _predicate_scalar(v, column.type)

    compare: dict[Op, Callable[[Any, Any], pa.Array]] = {
        Op.EQ: pc.equal,
        Op.NE: pc.not_equal,
        Op.LT: pc.less,
        Op.LE: pc.less_equal,
        Op.GT: pc.greater,
        Op.GE: pc.greater_equal,
    }
    if op in compare:
        mask = compare[op](values, scalar(predicate.value))
    elif op in (Op.IN, Op.NOT_IN):
        members = [scalar(v) for v in predicate.value]
        if not members:
            return pc.is_valid(column) if op is Op.NOT_IN else _false(len(column))
        value_set = comparable(pa.array([m.as_py() for m in members], type=members[0].type))
        mask = pc.is_in(values, value_set=value_set, skip_nulls=True)
        if op is Op.NOT_IN:
            mask = pc.and_(pc.invert(mask), pc.is_valid(column))
    elif op is Op.BETWEEN:
        low, high = predicate.value
        mask = pc.and_(pc.greater_equal(values, scalar(low)), pc.less_equal(values, scalar(high)))
    else:  # pragma: no cover - Op is closed
        raise ValueError(f"unknown operator {op}")
    return pc.fill_null(mask, False)


# -------------------------------------------------------------------------------------------- RowFilter


@dataclass(frozen=True)
class RowFilter:
    """Everything a read must enforce itself: the query's summary and the split's own predicates.

    ``lenient_nulls`` names columns whose NULLs pass the split predicates (the first, open-ended window of a
    split hint keeps rows whose split field is NULL, so such rows are read exactly once, not lost).
    ``expressions`` are the query's complex expressions (``constraints.expression``: LIKE and the boolean
    functions over it), applied exactly (``expressions.expression_mask``).
    """

    summary: Mapping[str, ValueSet] = field(default_factory=dict)
    predicates: Sequence[Predicate] = ()
    lenient_nulls: frozenset[str] = frozenset()
    expressions: Sequence[Expression] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        names = list(self.summary)
        names += [p.field for p in self.predicates if p.field not in names]
        names += list(expression_columns(self.expressions))
        return tuple(dict.fromkeys(names))

    @property
    def is_empty(self) -> bool:
        return not self.summary and not self.predicates and not self.expressions

    @property
    def unsatisfiable(self) -> bool:
        return any(is_unsatisfiable(vs) for vs in self.summary.values())

    def mask(self, batch: pa.RecordBatch) -> pa.Array | None:
        """The rows of ``batch`` that pass, or None when every row does (no filter to apply)."""
        mask: pa.Array | None = None
        for name, vs in self.summary.items():
            mask = _and(mask, value_set_mask(batch.column(name), vs, name))
        split_masks: dict[str, pa.Array] = {}
        for p in self.predicates:
            split_masks[p.field] = _and(split_masks.get(p.field), predicate_mask(batch.column(p.field), p))
        for name, split_mask in split_masks.items():
            passing = split_mask
            if name in self.lenient_nulls:
                passing = pc.or_(split_mask, pc.is_null(batch.column(name)))
            mask = _and(mask, passing)
        if self.expressions:
            mask = _and(mask, expression_mask(batch, self.expressions))
        return mask

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        mask = self.mask(batch)
        if mask is None:
            return batch
        return batch.filter(mask)
