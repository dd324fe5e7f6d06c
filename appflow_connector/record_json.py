"""Typed records -> the JSON strings AppFlow expects in ``records``.

Per the custom-connector data format: numbers are JSON numbers (decimals keep their exact digits),
booleans JSON booleans, Date ``YYYY-MM-DD``, DateTime ISO-8601 in UTC with ``Z``, Struct/Map objects,
List arrays, null as JSON null. Non-finite floats (which JSON cannot carry) become null.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from decimal import Decimal
from typing import Any

from shared.values import format_timestamp

_dumps_str = json.JSONEncoder(ensure_ascii=False).encode


def _encode(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_dumps_str(value))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(repr(value) if math.isfinite(value) else "null")
    elif isinstance(value, Decimal):
        out.append(format(value, "f") if value.is_finite() else "null")
    elif isinstance(value, dt.datetime):
        out.append(_dumps_str(format_timestamp(value)))
    elif isinstance(value, dt.date):
        out.append(_dumps_str(value.isoformat()))
    elif isinstance(value, dict):
        out.append("{")
        first = True
        for key, item in value.items():
            if not first:
                out.append(",")
            first = False
            out.append(_dumps_str(str(key)))
            out.append(":")
            _encode(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out)
        out.append("]")
    else:
        out.append(_dumps_str(str(value)))


def dumps_record(row: dict[str, Any], fields: list[str] | tuple[str, ...]) -> str:
    """``row``'s ``fields`` (in that order) as one compact JSON object."""
    out: list[str] = []
    _encode({name: row.get(name) for name in fields}, out)
    return "".join(out)
