"""The spec's type vocabulary, parsed once into small immutable descriptions.

Written forms: ``string``, ``integer`` (= ``int64``), ``int32``, ``int64``, ``number``, ``decimal(p,s)``,
``boolean``, ``date``, ``timestamp``, ``json``, ``list<T>``, and in mapping form
``{type: object, fields: {...}}`` or ``{type: list, items: ...}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

SCALAR_KINDS = ("string", "int32", "int64", "number", "decimal", "boolean", "date", "timestamp", "json")
ALIASES = {
    "integer": "int64",
    "int": "int64",
    "long": "int64",
    "float": "number",
    "double": "number",
    "bool": "boolean",
    "datetime": "timestamp",
    "str": "string",
    "text": "string",
}
MAX_DECIMAL_PRECISION = 38

_DECIMAL = re.compile(r"^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$")
_LIST = re.compile(r"^list<(.+)>$")


@dataclass(frozen=True)
class FieldType:
    """A declared type. ``kind`` is a scalar kind, ``list`` or ``object``."""

    kind: str
    precision: int | None = None
    scale: int | None = None
    item: FieldType | None = None
    fields: tuple[tuple[str, FieldType], ...] = field(default=())

    def __str__(self) -> str:
        if self.kind == "decimal":
            return f"decimal({self.precision},{self.scale})"
        if self.kind == "list":
            return f"list<{self.item}>"
        if self.kind == "object":
            inner = ", ".join(f"{n}: {t}" for n, t in self.fields)
            return f"object{{{inner}}}"
        return self.kind

    @property
    def is_scalar(self) -> bool:
        return self.kind in SCALAR_KINDS

    @property
    def is_orderable(self) -> bool:
        """Whether range predicates (lt, ge, between...) make sense on this type."""
        return self.kind in ("string", "int32", "int64", "number", "decimal", "date", "timestamp")


class TypeParseError(ValueError):
    """A type expression is not in the vocabulary; the message says what is allowed."""


ALLOWED = (
    "string, integer, int32, int64, number, decimal(p,s), boolean, date, timestamp, json, "
    "list<T>, or a mapping {type: object, fields: {...}} / {type: list, items: ...}"
)


def parse_type(spec: Any) -> FieldType:
    """Parse a written type (string or mapping) into a :class:`FieldType`."""
    if isinstance(spec, str):
        return _parse_text(spec.strip())
    if isinstance(spec, dict):
        kind = spec.get("type")
        if kind == "object":
            fields = spec.get("fields")
            if not isinstance(fields, dict) or not fields:
                raise TypeParseError("an object type needs a non-empty 'fields' mapping")
            return FieldType("object", fields=tuple((str(n), parse_type(_type_of(t))) for n, t in fields.items()))
        if kind == "list":
            if "items" not in spec:
                raise TypeParseError("a list type needs 'items'")
            return FieldType("list", item=parse_type(_type_of(spec["items"])))
        if isinstance(kind, str):
            return _parse_text(kind.strip())
    raise TypeParseError(f"unknown type {spec!r}; allowed: {ALLOWED}")


def _type_of(value: Any) -> Any:
    """Nested fields may be written ``{type: ...}`` or just the type."""
    if isinstance(value, dict) and "type" in value and value.get("type") not in ("object", "list"):
        return value["type"]
    return value


def _parse_text(text: str) -> FieldType:
    lowered = text.lower()
    lowered = ALIASES.get(lowered, lowered)
    if lowered in SCALAR_KINDS:
        if lowered == "decimal":
            return FieldType("decimal", precision=38, scale=9)
        return FieldType(lowered)
    m = _DECIMAL.match(lowered)
    if m:
        precision, scale = int(m.group(1)), int(m.group(2))
        if not 1 <= precision <= MAX_DECIMAL_PRECISION:
            raise TypeParseError(f"decimal precision must be 1..{MAX_DECIMAL_PRECISION}, got {precision}")
        if scale > precision:
            raise TypeParseError(f"decimal scale {scale} exceeds precision {precision}")
        return FieldType("decimal", precision=precision, scale=scale)
    if lowered.startswith("decimal(") and not lowered.endswith(")"):
        raise TypeParseError(
            f'unknown type {text!r}: inside {{...}} a comma splits the mapping, so quote the type: "decimal(12,2)"'
        )
    m = _LIST.match(lowered)
    if m:
        return FieldType("list", item=_parse_text(m.group(1).strip()))
    raise TypeParseError(f"unknown type {text!r}; allowed: {ALLOWED}")
