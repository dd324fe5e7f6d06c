"""Raw JSON values -> Arrow arrays of the declared types, vectorized wherever the data allows it.

The hot path per column: ``pa.array(values)`` lets Arrow infer the JSON values' type in C++, then one cast
to the declared type (ISO-8601 strings with ``Z`` or offsets -> timestamps, decimal strings -> Decimal128,
``YYYY-MM-DD`` -> Date32, integral doubles -> integers). Only when a column holds something the vectorized
path cannot read exactly (mixed JSON types, whitespace, epoch numbers, zone-less timestamps mixed with zoned
ones, a value that does not fit) does that column fall back to the shared per-value rules
(``shared.values.coerce``), which decide the value or report it under the entity's ``on_invalid_value``
policy: ``error`` fails the read naming the field, value and page; ``null`` nulls the value and counts it.

Both paths give the same answer for every value the fast path accepts; the fast path only refuses what it
cannot decide (``pa.array(values, type=int64)`` silently truncates ``1.5``, so inference then a *safe* cast is
used instead).

Lists and objects recurse: a list column becomes offsets plus one flat child column built the same way, an
object column becomes one child column per declared key.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import operator
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from athena_connector.schema import TIMESTAMP, TIMESTAMP_WITH_TIME_ZONE, arrow_type, struct_child_name
from athena_connector.wire.timestamps import MILLIS_SHIFT, UTC_KEY
from shared.errors import ValueCoercionError
from shared.paths import compile_path, parse_path
from shared.spec.model import EntitySpec, FieldSpec
from shared.types import FieldType
from shared.values import CoercionError, coerce

log = logging.getLogger(__name__)

_EPOCH_UTC = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MS = dt.timedelta(milliseconds=1)
_ARROW_ERRORS = (pa.ArrowException, TypeError, ValueError, OverflowError)
_MILLIS_UTC = pa.timestamp("ms", tz="UTC")


def _show(value: Any) -> str:
    try:
        text = json.dumps(value, default=str)
    except ValueError:
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _compact_encoder() -> Any:
    """``json.dumps(v, separators=(",", ":"), sort_keys=True)`` without building an encoder per value (the
    C encoder is made once; building it is most of the cost for small objects)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython always has the C accelerator
        return lambda value: json.dumps(value, separators=(",", ":"), sort_keys=True)
    encode = make(None, None, json.encoder.encode_basestring_ascii, None, ":", ",", True, False, True)
    return lambda value: "".join(encode(value, 0))


_encode_compact = _compact_encoder()


def json_text(value: Any) -> str | None:
    """A ``json`` field's text: strings as they are, anything else compact with sorted keys (exactly what
    ``shared.values.coerce`` renders for AppFlow)."""
    if value is None or isinstance(value, str):
        return value
    return _encode_compact(value)


def raw_columns(records: Sequence[dict[str, Any]], fields: Sequence[FieldSpec]) -> dict[str, Sequence[Any]]:
    """The raw JSON value of each field in each record (a missing key is None). Top-level keys are read for all
    fields at once (one ``itemgetter`` per record, then one ``zip`` transposing the rows into columns: both loops
    run in C), falling back to a ``dict.get`` per value when a record lacks one of the keys; dotted paths use the
    shared compiled getters."""
    out: dict[str, Sequence[Any]] = {}
    names: list[str] = []
    keys: list[str] = []
    for f in fields:
        parts = parse_path(f.path)
        if len(parts) == 1 and isinstance(parts[0], str) and parts[0] != "*":
            names.append(f.name)
            keys.append(parts[0])
        else:
            get = compile_path(f.path)
            out[f.name] = [get(r) for r in records]
    if keys:
        for name, column in zip(names, _top_level_columns(records, keys), strict=True):
            out[name] = column
    return {f.name: out[f.name] for f in fields}


def _top_level_columns(records: Sequence[dict[str, Any]], keys: list[str]) -> list[Sequence[Any]]:
    if records and len(keys) > 1:
        try:
            return list(zip(*map(operator.itemgetter(*keys), records), strict=True))
        except (KeyError, TypeError):  # a record lacks a key (or is not an object): the general path decides
            pass
    return [[r.get(key) for r in records] for key in keys]


def millis_to_arrow(millis: pa.Array, timestamp_mode: str) -> pa.Array:
    """int64 UTC epoch milliseconds -> Athena ``timestamp`` (date64) or packed ``timestamp with time zone``."""
    millis = millis.cast(pa.int64())
    if timestamp_mode == TIMESTAMP_WITH_TIME_ZONE:
        packed = pc.bit_wise_or(pc.shift_left(millis, MILLIS_SHIFT), pa.scalar(UTC_KEY, pa.int64()))
        return packed.view(arrow_type(FieldType("timestamp"), timestamp_mode))
    return millis.view(pa.date64())


def _floor_micros_to_millis(micros: pa.Array) -> pa.Array:
    """Floor division by 1000 (Arrow's integer divide truncates toward zero)."""
    negative = pc.less(micros, 0).cast(pa.int64())
    return pc.divide(pc.subtract(micros, pc.multiply(negative, 999)), 1000)


def datetime_to_millis(value: dt.datetime) -> int:
    return (value - _EPOCH_UTC) // _MS


class ArrowBuilder:
    """Builds the Arrow columns of one entity; counts values nulled under ``on_invalid_value: null``."""

    def __init__(self, entity: EntitySpec, timestamp_mode: str = TIMESTAMP) -> None:
        self.entity = entity
        self.timestamp_mode = timestamp_mode
        self.nulled: dict[str, int] = {}
        self._page: int | None = None

    @property
    def nulled_total(self) -> int:
        return sum(self.nulled.values())

    def build_batch(
        self, records: Sequence[dict[str, Any]], fields: Sequence[FieldSpec], page: int | None = None
    ) -> pa.RecordBatch:
        """One RecordBatch with a column per field (in order), from a page of records."""
        raw = raw_columns(records, fields)
        arrays = [self.column(raw[f.name], f.type, f.name, page) for f in fields]
        if not fields:
            return pa.record_batch({"_": pa.nulls(len(records))}).select([])
        return pa.RecordBatch.from_arrays(arrays, names=[f.name for f in fields])

    def column(self, values: Sequence[Any], ftype: FieldType, where: str, page: int | None = None) -> pa.Array:
        self._page = page
        return self._build(values, ftype, where)

    # -- dispatch --------------------------------------------------------------------------------
    def _build(self, values: Sequence[Any], ftype: FieldType, where: str) -> pa.Array:
        kind = ftype.kind
        if kind == "list":
            return self._list(values, ftype, where)
        if kind == "object":
            return self._struct(values, ftype, where)
        if kind == "json":
            return pa.array([json_text(v) for v in values], type=pa.string())
        fast = self._fast(values, ftype)
        return fast if fast is not None else self._slow(values, ftype, where)

    # -- scalars ---------------------------------------------------------------------------------
    def _fast(self, values: Sequence[Any], ftype: FieldType) -> pa.Array | None:
        """The vectorized conversion, or None when it cannot decide every value exactly."""
        target = arrow_type(ftype, self.timestamp_mode)
        try:
            inferred = pa.array(values)
        except _ARROW_ERRORS:
            return None
        t = inferred.type
        types = pa.types
        kind = ftype.kind
        if types.is_null(t):
            return pa.nulls(len(values), type=target)
        try:
            if kind == "string":
                return inferred if types.is_string(t) else None
            if kind in ("int32", "int64", "number") and t.equals(target):
                return inferred  # already the declared type: nothing to cast
            if kind in ("int32", "int64"):
                if types.is_integer(t) or types.is_floating(t):
                    return inferred.cast(target, safe=True)  # refuses fractions and overflow
                return None
            if kind == "number":
                if types.is_integer(t) or types.is_floating(t):
                    return inferred.cast(target, safe=False)
                return None
            if kind == "decimal":
                if types.is_string(t) or types.is_integer(t):
                    return inferred.cast(target, safe=True)  # refuses extra scale and precision
                return None
            if kind == "boolean":
                return inferred if types.is_boolean(t) else None
            if kind == "date":
                if not types.is_string(t):
                    return None
                try:  # the common case, exactly YYYY-MM-DD (the only text Arrow's cast accepts as it is)
                    return inferred.cast(pa.date32())
                except _ARROW_ERRORS:
                    pass
                text = pc.utf8_slice_codeunits(pc.utf8_trim_whitespace(inferred), 0, 10)
                return text.cast(pa.date32())
            if kind == "timestamp":
                return self._timestamps(inferred) if types.is_string(t) else None
        except _ARROW_ERRORS:
            return None
        return None

    def _timestamps(self, text: pa.Array) -> pa.Array:
        try:  # the common case: zoned, at most millisecond digits (Arrow refuses finer digits here, never rounds)
            millis = text.cast(_MILLIS_UTC).cast(pa.int64())
        except _ARROW_ERRORS:
            try:
                parsed = text.cast(pa.timestamp("us", tz="UTC"))  # ISO-8601 with Z or an offset
            except _ARROW_ERRORS:
                parsed = text.cast(pa.timestamp("us"))  # zone-less: read as UTC (raises if mixed)
            millis = _floor_micros_to_millis(parsed.cast(pa.int64()))
        return millis_to_arrow(millis, self.timestamp_mode)

    def _slow(self, values: Sequence[Any], ftype: FieldType, where: str) -> pa.Array:
        typed: list[Any] = []
        for value in values:
            try:
                typed.append(coerce(value, ftype))
            except CoercionError as exc:
                typed.append(self._invalid(where, str(exc)))
        target = arrow_type(ftype, self.timestamp_mode)
        if ftype.kind == "timestamp":
            millis = [None if v is None else datetime_to_millis(v) for v in typed]
            return millis_to_arrow(pa.array(millis, type=pa.int64()), self.timestamp_mode)
        return pa.array(typed, type=target)

    def _invalid(self, where: str, problem: str) -> None:
        if self.entity.on_invalid_value == "error":
            raise ValueCoercionError(
                f"field '{where}': {problem} (set on_invalid_value: null on the entity to read such values "
                f"as null instead)",
                entity=self.entity.name,
                page=self._page,
            )
        count = self.nulled.get(where, 0)
        if count == 0:
            log.warning("entity %s field %s: invalid value nulled: %s", self.entity.name, where, problem)
        self.nulled[where] = count + 1

    # -- nested ----------------------------------------------------------------------------------
    def _list(self, values: Sequence[Any], ftype: FieldType, where: str) -> pa.Array:
        assert ftype.item is not None
        offsets = [0]
        mask: list[bool] = []
        items: list[list[Any]] = []
        end = 0
        for value in values:
            if isinstance(value, list):
                items.append(value)
                end += len(value)
                mask.append(False)
            else:
                if value is not None:
                    self._invalid(where, f"expected a list, got {_show(value)}")
                mask.append(True)
            offsets.append(end)
        child = self._build(list(itertools.chain.from_iterable(items)), ftype.item, f"{where}[]")
        list_type = pa.list_(child.type)
        return pa.ListArray.from_arrays(
            pa.array(offsets, type=pa.int32()), child, type=list_type, mask=pa.array(mask, type=pa.bool_())
        )

    def _struct(self, values: Sequence[Any], ftype: FieldType, where: str) -> pa.Array:
        mask: list[bool] = []
        objects: list[dict[str, Any] | None] = []
        for value in values:
            if isinstance(value, dict):
                objects.append(value)
                mask.append(False)
            else:
                if value is not None:
                    self._invalid(where, f"expected an object, got {_show(value)}")
                objects.append(None)
                mask.append(True)
        children = []
        names = []
        for key, sub in ftype.fields:
            column = [None if o is None else o.get(key) for o in objects]
            children.append(self._build(column, sub, f"{where}.{key}"))
            names.append(struct_child_name(key))
        fields = [pa.field(n, c.type) for n, c in zip(names, children, strict=True)]
        return pa.StructArray.from_arrays(children, fields=fields, mask=pa.array(mask, type=pa.bool_()))
