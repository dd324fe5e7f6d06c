"""Validation of how filter values are written: a filter operator's ``format``, ``offset`` and ``compare``, and
the per-type defaults under ``api.formats``. Kept apart from ``loader.py`` (which calls these) so each stays
small; the writing itself is ``shared.value_formats``.

::

    api:
      formats:                               # defaults for every filter of a field of that type
        timestamp: iso8601_ms                # fixed milliseconds, 2024-03-05T01:14:00.000Z
        boolean: {true: "1", false: "0"}
        compare: text                        # the API compares the text it holds (see docs/spec.md)
    entities:
      - filters:
          created_at: {le: {param: created_before, format: epoch_s}}    # this filter's own format

A format that does not fit the field's type (``epoch_s`` on a boolean, a literal pair on a timestamp, a
strftime pattern that does not identify the value) is reported at the key that declared it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.spec.model import ParamSpec
from shared.types import FieldType
from shared.value_formats import COMPARES, OFFSETS, FormatError, ValueFormat, make_format

if TYPE_CHECKING:
    from shared.spec.loader import _Checker

TYPE_KEYS = {"timestamp": "timestamp", "date": "date", "boolean": "boolean", "integer": "int64", "number": "number",
             "decimal": "decimal"}  # fmt: skip
DEFAULT_KEYS = set(TYPE_KEYS) | {"offset", "compare"}
PARAM_KEYS = {"format", "offset", "compare"}
_KEY_OF_KIND = {"int32": "integer", "int64": "integer"}


def build_api_formats(raw: Any, path: tuple[Any, ...], c: _Checker) -> dict[str, Any]:
    """``api.formats``: per-type default formats, a default ``offset`` and ``compare``; each checked alone."""
    if raw is None:
        return {}
    m = c.mapping(raw, path, DEFAULT_KEYS)
    if m is None:
        return {}
    out: dict[str, Any] = {}
    for key, value in m.items():
        if key == "offset":
            if value not in OFFSETS:
                c.add((*path, key), f"must be 'Z' or '+00:00', got {value!r}")
                continue
        elif key == "compare":
            if value not in COMPARES:
                c.add((*path, key), f"must be 'value' or 'text', got {value!r}")
                continue
        elif key in TYPE_KEYS:
            try:
                make_format(TYPE_KEYS[key], value, scale=None)
            except FormatError as exc:
                c.add((*path, key), str(exc))
                continue
        else:
            continue
        out[key] = value
    return out


def with_format(
    param: ParamSpec, raw: Any, ftype: FieldType, defaults: dict[str, Any], path: tuple[Any, ...], c: _Checker
) -> ParamSpec:
    """``param`` with its written form resolved: its own keys first, then ``api.formats``, then ``auto``."""
    from dataclasses import replace

    own = raw if isinstance(raw, dict) else {}
    kind = ftype.kind
    type_key = _KEY_OF_KIND.get(kind, kind)
    declared = own.get("format", defaults.get(type_key, "auto"))
    offset = own.get("offset")
    if offset is None and _is_iso_timestamp(kind, declared):
        offset = defaults.get("offset")
    compare = own.get("compare", defaults.get("compare", "value"))
    if compare not in COMPARES:
        c.add((*path, "compare"), f"must be 'value' or 'text', got {compare!r}")
        return param
    if "offset" in own and offset not in OFFSETS:
        c.add((*path, "offset"), f"must be 'Z' or '+00:00', got {offset!r}")
        return param
    try:
        written: ValueFormat = make_format(kind, declared, offset=offset, compare=compare, scale=ftype.scale)
    except FormatError as exc:
        where = "format" if "format" in own else "offset" if "offset" in own else None
        origin = "" if where else f" (from api.formats.{type_key})"
        c.add((*path, where) if where else path, f"{exc}{origin}")
        return param
    label = declared if isinstance(declared, str) else "literals"
    return replace(param, format=label, written=written)


def _is_iso_timestamp(kind: str, declared: Any) -> bool:
    return kind == "timestamp" and isinstance(declared, str) and declared.split("_")[0] in ("auto", "iso8601")
