"""ArrowType JSON (the ``type`` of ValueSets and expressions) and the Athena type whitelist.

On the wire a type is ``{"@type": <Java Arrow class simple name>, ...params in a fixed order}``; nested
types carry no children, so Struct/List/Map/FixedSizeList/Union have no pyarrow equivalent by themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from athena_connector.wire._fields import expect_object, fail, field, json_kind

_UNITS = ("SECOND", "MILLISECOND", "MICROSECOND", "NANOSECOND")
_UNIT_TO_PA = {"SECOND": "s", "MILLISECOND": "ms", "MICROSECOND": "us", "NANOSECOND": "ns"}
_PA_TO_UNIT = {v: k for k, v in _UNIT_TO_PA.items()}

# Parameter names in wire order, with the allowed enum values (None = integer/bool/string checked by kind).
_PARAMS: dict[str, tuple[tuple[str, Any], ...]] = {
    "Null": (),
    "Struct": (),
    "List": (),
    "Utf8": (),
    "Binary": (),
    "Bool": (),
    "Map": (),
    "Int": (("bitWidth", int), ("isSigned", bool)),
    "FloatingPoint": (("precision", ("HALF", "SINGLE", "DOUBLE")),),
    "Decimal": (("precision", int), ("scale", int)),
    "Date": (("unit", ("DAY", "MILLISECOND")),),
    "Time": (("unit", _UNITS), ("bitWidth", int)),
    "Timestamp": (("unit", _UNITS), ("timezone", "nullable-str")),
    "Interval": (("unit", ("YEAR_MONTH", "DAY_TIME", "MONTH_DAY_NANO")),),
    "FixedSizeBinary": (("byteWidth", int),),
    "FixedSizeList": (("listSize", int),),
    "Union": (("mode", str), ("typeIds", list)),
}

# The V1 dialect used Arrow Java's own Jackson names ({"name": "floatingpoint", ...}).
_BY_LOWER_NAME = {name.lower(): name for name in _PARAMS}


@dataclass(frozen=True)
class ArrowType:
    """One ArrowType as sent on the wire: its Java simple class name plus ordered parameters."""

    name: str
    params: tuple[tuple[str, Any], ...] = ()

    def param(self, key: str, default: Any = None) -> Any:
        for k, v in self.params:
            if k == key:
                return v
        return default

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"@type": self.name}
        for key, value in self.params:
            out[key] = list(value) if isinstance(value, tuple) else value
        return out

    def to_pyarrow(self) -> pa.DataType | None:
        """The pyarrow type, or None when the wire form cannot name one (nested types, old intervals)."""
        return _to_pyarrow(self)

    @classmethod
    def of(cls, name: str, **params: Any) -> ArrowType:
        """Build from wire parameter names: ``ArrowType.of("Int", bitWidth=32, isSigned=True)``."""
        spec = _PARAMS.get(name)
        if spec is None:
            raise ValueError(f"unknown ArrowType {name!r}")
        return cls(name, tuple((key, params.get(key)) for key, _ in spec))

    @classmethod
    def from_pyarrow(cls, data_type: pa.DataType) -> ArrowType:
        return _from_pyarrow(data_type)


def arrow_type_from_wire(value: Any, path: str) -> ArrowType:
    obj = expect_object(value, path)
    raw_name = obj.get("@type", obj.get("name"))
    if raw_name is None:
        fail(path, "missing required key '@type'")
    if not isinstance(raw_name, str):
        fail(f"{path}.@type", f"expected a string, got {json_kind(raw_name)}")
    name = raw_name if raw_name in _PARAMS else _BY_LOWER_NAME.get(raw_name.lower())
    if name is None:
        fail(f"{path}.@type", f"unknown ArrowType @type {raw_name!r}")
    params: list[tuple[str, Any]] = []
    for key, kind in _PARAMS[name]:
        where = f"{path}.{key}"
        if kind == "nullable-str":
            v = obj.get(key)
            if v is not None and not isinstance(v, str):
                fail(where, f"expected a string or null, got {json_kind(v)}")
        elif kind is list:
            v = field(obj, key, path)
            if not isinstance(v, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in v):
                fail(where, f"expected an array of integers, got {json_kind(v)}")
            v = tuple(v)
        elif kind is str:
            v = field(obj, key, path)
            if not isinstance(v, str):
                fail(where, f"expected a string, got {json_kind(v)}")
        elif kind is int:
            v = field(obj, key, path)
            if isinstance(v, bool) or not isinstance(v, int):
                fail(where, f"expected an integer, got {json_kind(v)}")
        elif kind is bool:
            v = field(obj, key, path)
            if not isinstance(v, bool):
                fail(where, f"expected a boolean, got {json_kind(v)}")
        else:
            v = field(obj, key, path)
            if v not in kind:
                fail(where, f"expected one of {', '.join(kind)}, got {v!r}")
        params.append((key, v))
    return ArrowType(name, tuple(params))


def _to_pyarrow(t: ArrowType) -> pa.DataType | None:
    simple = {"Null": pa.null(), "Utf8": pa.string(), "Binary": pa.binary(), "Bool": pa.bool_()}
    if t.name in simple:
        return simple[t.name]
    if t.name == "Int":
        width, signed = t.param("bitWidth"), t.param("isSigned")
        factories = {
            (8, True): pa.int8, (16, True): pa.int16, (32, True): pa.int32, (64, True): pa.int64,
            (8, False): pa.uint8, (16, False): pa.uint16, (32, False): pa.uint32, (64, False): pa.uint64,
        }  # fmt: skip
        factory = factories.get((width, signed))
        return factory() if factory else None
    if t.name == "FloatingPoint":
        return {"HALF": pa.float16(), "SINGLE": pa.float32(), "DOUBLE": pa.float64()}[t.param("precision")]
    if t.name == "Decimal":
        precision, scale = t.param("precision"), t.param("scale")
        return pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(precision, scale)
    if t.name == "Date":
        return pa.date32() if t.param("unit") == "DAY" else pa.date64()
    if t.name == "Time":
        unit = _UNIT_TO_PA[t.param("unit")]
        return pa.time32(unit) if unit in ("s", "ms") else pa.time64(unit)
    if t.name == "Timestamp":
        return pa.timestamp(_UNIT_TO_PA[t.param("unit")], tz=t.param("timezone"))
    if t.name == "Interval" and t.param("unit") == "MONTH_DAY_NANO":
        return pa.month_day_nano_interval()
    if t.name == "FixedSizeBinary":
        return pa.binary(t.param("byteWidth"))
    return None


def _from_pyarrow(dt: pa.DataType) -> ArrowType:
    types = pa.types
    if types.is_null(dt):
        return ArrowType.of("Null")
    if types.is_boolean(dt):
        return ArrowType.of("Bool")
    if types.is_integer(dt):
        return ArrowType.of("Int", bitWidth=dt.bit_width, isSigned=types.is_signed_integer(dt))
    if types.is_floating(dt):
        precision = {16: "HALF", 32: "SINGLE", 64: "DOUBLE"}[dt.bit_width]
        return ArrowType.of("FloatingPoint", precision=precision)
    if types.is_decimal(dt):
        return ArrowType.of("Decimal", precision=dt.precision, scale=dt.scale)
    if types.is_string(dt):
        return ArrowType.of("Utf8")
    if types.is_fixed_size_binary(dt):
        return ArrowType.of("FixedSizeBinary", byteWidth=dt.byte_width)
    if types.is_binary(dt):
        return ArrowType.of("Binary")
    if types.is_date32(dt):
        return ArrowType.of("Date", unit="DAY")
    if types.is_date64(dt):
        return ArrowType.of("Date", unit="MILLISECOND")
    if types.is_time(dt):
        return ArrowType.of("Time", unit=_PA_TO_UNIT[dt.unit], bitWidth=dt.bit_width)
    if types.is_timestamp(dt):
        return ArrowType.of("Timestamp", unit=_PA_TO_UNIT[dt.unit], timezone=dt.tz)
    if dt == pa.month_day_nano_interval():
        return ArrowType.of("Interval", unit="MONTH_DAY_NANO")
    if types.is_struct(dt):
        return ArrowType.of("Struct")
    if types.is_map(dt):
        return ArrowType.of("Map")
    if types.is_fixed_size_list(dt):
        return ArrowType.of("FixedSizeList", listSize=dt.list_size)
    if types.is_list(dt):
        return ArrowType.of("List")
    raise ValueError(f"pyarrow type {dt} has no ArrowType wire form")


def _children(dt: pa.DataType) -> list[pa.Field]:
    if pa.types.is_map(dt):
        return [dt.key_field, dt.item_field]
    if pa.types.is_list(dt):
        return [dt.value_field]
    if pa.types.is_struct(dt):
        return [dt.field(i) for i in range(dt.num_fields)]
    return []


def _is_athena_supported(dt: pa.DataType) -> bool:
    types = pa.types
    if types.is_timestamp(dt):
        return dt.tz is not None and dt.unit in ("ms", "us")
    return (
        types.is_boolean(dt)
        or types.is_signed_integer(dt)
        or dt in (pa.float32(), pa.float64(), pa.string(), pa.binary(), pa.date32(), pa.date64())
        or types.is_decimal128(dt)
        or types.is_struct(dt)
        or types.is_list(dt)
        or types.is_map(dt)
    )


def unsupported_type_problem(fld: pa.Field) -> str | None:
    """Why the SDK's type whitelist (SupportedTypes) rejects a table column, or None if it is accepted.

    Whitelist: BIT, TINYINT..BIGINT, FLOAT4, FLOAT8, DECIMAL(128), VARCHAR, VARBINARY, DATEDAY, DATEMILLI,
    TIMESTAMPMILLITZ, TIMESTAMPMICROTZ, STRUCT, LIST, MAP, checked recursively through children.
    """
    if not _is_athena_supported(fld.type):
        return f"column {fld.name!r} has type {fld.type}, which Athena connectors cannot return"
    for child in _children(fld.type):
        problem = unsupported_type_problem(child)
        if problem:
            return f"in column {fld.name!r}: {problem}"
    return None
