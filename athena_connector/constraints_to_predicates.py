"""Athena's ``constraints.summary`` -> the shared predicate model, for pushing to the API and clipping splits.

The predicates returned for a column are *necessary* conditions: every row the ValueSet accepts satisfies
them (their AND may accept more). That is what pushdown and split clipping need — the API may return a
superset — because the read re-applies the ValueSets themselves exactly (``filtering.py``). Each column
also says whether its predicates are *exact* (equivalent to the ValueSet), which the reader uses to size
pages under a LIMIT.

| ValueSet (NULL not allowed)                  | predicates                        | exact |
|----------------------------------------------|-----------------------------------|-------|
| single values v1..vn                         | ``eq v1`` / ``in (v1..vn)``       | yes   |
| one range                                    | ``ge/gt low``, ``le/lt high``     | yes   |
| (-inf, v) and (v, +inf)  (``x <> v``)        | ``ne v``                          | yes   |
| several ranges                               | their hull (lowest low, highest high) | no |
| both ends unbounded                          | ``not_null``                      | yes   |
| EquatableValueSet white list                 | ``eq`` / ``in``                   | yes   |
| EquatableValueSet black list                 | ``ne`` for each value             | yes   |
| AllOrNone all                                | ``not_null``                      | yes   |

With NULL allowed only ``IS NULL`` (no values) is expressible; anything else pushes nothing. A set that
matches nothing is reported as unsatisfiable (no API call is needed).

Values become the shared model's typed Python values (aware UTC datetimes for timestamps, dates, Decimals,
ints, floats, strings, booleans). A value that does not fit the field's type (say ``id > 2.5`` on an
integer, or a timestamp literal the engine sent in microseconds, beyond year 9999) is not pushed: the local
filter still compares it exactly.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pyarrow as pa

from athena_connector.filtering import is_unsatisfiable
from athena_connector.wire import AllOrNoneValueSet, Bound, EquatableValueSet, Marker, Range, SortedRangeSet, ValueSet
from athena_connector.wire.timestamps import MILLIS_SHIFT
from athena_connector.wire.values import is_packed_timestamp, to_raw, value_column
from shared.predicates import Op, Predicate
from shared.spec.model import EntitySpec
from shared.types import FieldType

log = logging.getLogger(__name__)

_EPOCH_UTC = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MAX_MILLIS = (dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC) - _EPOCH_UTC) // dt.timedelta(milliseconds=1)
_MIN_MILLIS = (dt.datetime(1, 1, 1, tzinfo=dt.UTC) - _EPOCH_UTC) // dt.timedelta(milliseconds=1)


class _Unpushable(Exception):
    """A value that cannot be expressed in the field's type (the local filter still handles it)."""


@dataclass(frozen=True)
class Translation:
    predicates: tuple[Predicate, ...] = ()
    exact: bool = True
    unsatisfiable: bool = False
    notes: tuple[str, ...] = field(default=())


def _typed(array: pa.Array, ftype: FieldType) -> list[Any]:
    """Values of a constraint block as the shared model's typed values for ``ftype``."""
    kind = ftype.kind
    data_type = array.type
    if pa.types.is_date64(data_type) or is_packed_timestamp(data_type):
        raw = to_raw(array)
        millis = [None if v is None else (v >> MILLIS_SHIFT if is_packed_timestamp(data_type) else v) for v in raw]
        out = []
        for ms in millis:
            if ms is None:
                out.append(None)
                continue
            if not _MIN_MILLIS <= ms <= _MAX_MILLIS:
                raise _Unpushable(f"timestamp value {ms} ms is outside years 1..9999 (mis-scaled literal?)")
            value = _EPOCH_UTC + dt.timedelta(milliseconds=ms)
            if kind == "timestamp":
                out.append(value)
            elif kind == "date" and value == dt.datetime.combine(value.date(), dt.time(), tzinfo=dt.UTC):
                out.append(value.date())
            else:
                raise _Unpushable(f"a timestamp value does not fit field type {ftype}")
        return out
    try:
        values = array.to_pylist()
    except (pa.ArrowException, ValueError, OverflowError) as exc:
        raise _Unpushable(str(exc)) from None
    return [None if v is None else _fit(v, ftype) for v in values]


def _fit(value: Any, ftype: FieldType) -> Any:
    kind = ftype.kind
    if kind == "string" and isinstance(value, str):
        return value
    if kind in ("int32", "int64") and not isinstance(value, bool):
        if isinstance(value, int):
            return value
        if isinstance(value, float | Decimal) and math.isfinite(value) and value == int(value):
            return int(value)
    if kind == "number" and isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return float(value)
    if kind == "decimal" and isinstance(value, int | Decimal) and not isinstance(value, bool):
        return Decimal(value)
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind == "date" and isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if kind == "timestamp" and isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    raise _Unpushable(f"value {value!r} does not fit field type {ftype}")


def _marker_value(marker: Marker, ftype: FieldType) -> Any:
    return _typed(value_column(marker.value_block.batch).slice(0, 1), ftype)[0]


def _low(rng: Range, name: str, ftype: FieldType) -> Predicate | None:
    if rng.low.null_value:
        return None
    op = Op.GT if rng.low.bound is Bound.ABOVE else Op.GE
    return Predicate(name, op, _marker_value(rng.low, ftype))


def _high(rng: Range, name: str, ftype: FieldType) -> Predicate | None:
    if rng.high.null_value:
        return None
    op = Op.LT if rng.high.bound is Bound.BELOW else Op.LE
    return Predicate(name, op, _marker_value(rng.high, ftype))


def _equal(name: str, values: list[Any]) -> list[Predicate]:
    distinct = list(dict.fromkeys(values))
    return [Predicate(name, Op.EQ, distinct[0])] if len(distinct) == 1 else [Predicate(name, Op.IN, tuple(distinct))]


def _sort_key(p: Predicate | None) -> Any:
    return p.value if p is not None else None


def _sorted_range_set(name: str, vs: SortedRangeSet, ftype: FieldType) -> tuple[list[Predicate], bool]:
    ranges = vs.ranges
    if vs.null_allowed:
        if not ranges:
            return [Predicate(name, Op.IS_NULL)], True
        return [], False
    if not ranges:
        return [], True  # matches nothing: reported as unsatisfiable by the caller
    if all(r.is_single_value for r in ranges):
        return _equal(name, [_marker_value(r.low, ftype) for r in ranges]), True
    if len(ranges) == 1:
        preds = [p for p in (_low(ranges[0], name, ftype), _high(ranges[0], name, ftype)) if p is not None]
        return (preds or [Predicate(name, Op.NOT_NULL)]), True
    lows = [_low(r, name, ftype) for r in ranges]
    highs = [_high(r, name, ftype) for r in ranges]
    if len(ranges) == 2 and lows[0] is None and highs[1] is None:
        a, b = highs[0], lows[1]
        if a is not None and b is not None and a.op is Op.LT and b.op is Op.GT and a.value == b.value:
            return [Predicate(name, Op.NE, a.value)], True  # x <> v
    preds: list[Predicate] = []
    if all(p is not None for p in lows):
        lowest = min(lows, key=_sort_key)  # type: ignore[arg-type]
        tie = [p for p in lows if p is not None and p.value == lowest.value]  # type: ignore[union-attr]
        preds.append(next((p for p in tie if p.op is Op.GE), tie[0]))
    if all(p is not None for p in highs):
        highest = max(highs, key=_sort_key)  # type: ignore[arg-type]
        tie = [p for p in highs if p is not None and p.value == highest.value]  # type: ignore[union-attr]
        preds.append(next((p for p in tie if p.op is Op.LE), tie[0]))
    return (preds or [Predicate(name, Op.NOT_NULL)]), False


def _equatable(name: str, vs: EquatableValueSet, ftype: FieldType) -> tuple[list[Predicate], bool]:
    values = [v for v in _typed(value_column(vs.value_block.batch), ftype) if v is not None]
    if vs.null_allowed:
        if vs.white_list and not values:
            return [Predicate(name, Op.IS_NULL)], True
        return [], False
    if vs.white_list:
        return _equal(name, values), True
    if not values:
        return [Predicate(name, Op.NOT_NULL)], True
    return [Predicate(name, Op.NE, v) for v in dict.fromkeys(values)], True


def _all_or_none(name: str, vs: AllOrNoneValueSet) -> tuple[list[Predicate], bool]:
    if vs.all and vs.null_allowed:
        return [], True
    if vs.all:
        return [Predicate(name, Op.NOT_NULL)], True
    return [Predicate(name, Op.IS_NULL)], True


def value_set_predicates(name: str, vs: ValueSet, ftype: FieldType) -> tuple[list[Predicate], bool]:
    """Necessary-condition predicates for one column, and whether they are exactly the ValueSet."""
    if isinstance(vs, AllOrNoneValueSet):
        return _all_or_none(name, vs)
    if ftype.kind in ("list", "object", "json"):
        return [], False
    if isinstance(vs, SortedRangeSet):
        return _sorted_range_set(name, vs, ftype)
    return _equatable(name, vs, ftype)


def summary_to_predicates(summary: Mapping[str, ValueSet], entity: EntitySpec) -> Translation:
    """Translate every column's ValueSet; columns must be fields of ``entity`` (checked by the caller)."""
    predicates: list[Predicate] = []
    exact = True
    notes: list[str] = []
    for name, vs in summary.items():
        if is_unsatisfiable(vs):
            return Translation((), True, True, (f"{name}: matches no value",))
        ftype = entity.field(name).type
        try:
            preds, is_exact = value_set_predicates(name, vs, ftype)
        except _Unpushable as exc:
            notes.append(f"{name}: not pushed: {exc}")
            log.info("constraint on %s.%s not pushed: %s", entity.name, name, exc)
            preds, is_exact = [], False
        predicates.extend(preds)
        exact = exact and is_exact
    return Translation(tuple(predicates), exact, False, tuple(notes))
