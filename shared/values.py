"""Turning raw JSON values into the typed Python values a field declares, and back into text.

Used where values are handled one at a time: predicate evaluation, filter parameters, AppFlow records.
The Athena hot path casts whole columns with pyarrow instead, with the same rules.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from decimal import Decimal, InvalidOperation
from typing import Any

from shared.types import FieldType

UTC = dt.UTC
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class CoercionError(ValueError):
    """A value does not fit its declared type; the message says which value and which type."""


def coerce(value: Any, ftype: FieldType) -> Any:
    """Convert one raw JSON value to the Python value of ``ftype`` (``None`` stays ``None``)."""
    if value is None:
        return None
    kind = ftype.kind
    try:
        if kind == "string":
            if isinstance(value, str):
                return value
            if isinstance(value, bool | int | float):
                return json.dumps(value)
            raise CoercionError(f"expected a string, got {_show(value)}")
        if kind in ("int32", "int64"):
            return _to_int(value, kind)
        if kind == "number":
            return _to_float(value)
        if kind == "decimal":
            return _to_decimal(value, ftype)
        if kind == "boolean":
            return _to_bool(value)
        if kind == "date":
            return parse_date(value)
        if kind == "timestamp":
            return parse_timestamp(value)
        if kind == "json":
            return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), sort_keys=True)
        if kind == "list":
            if not isinstance(value, list):
                raise CoercionError(f"expected a list, got {_show(value)}")
            assert ftype.item is not None
            return [coerce(v, ftype.item) for v in value]
        if kind == "object":
            if not isinstance(value, dict):
                raise CoercionError(f"expected an object, got {_show(value)}")
            return {name: coerce(value.get(name), sub) for name, sub in ftype.fields}
    except CoercionError:
        raise
    except (ValueError, TypeError, InvalidOperation, OverflowError) as exc:
        raise CoercionError(f"cannot read {_show(value)} as {ftype}: {exc}") from None
    raise CoercionError(f"unsupported type {ftype}")


def _show(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _to_int(value: Any, kind: str) -> int:
    if isinstance(value, bool):
        raise CoercionError(f"expected an integer, got {_show(value)}")
    if isinstance(value, int):
        result = value
    elif isinstance(value, float):
        if not value.is_integer():
            raise CoercionError(f"expected an integer, got {_show(value)}")
        result = int(value)
    elif isinstance(value, str):
        try:
            result = int(value.strip())
        except ValueError:
            raise CoercionError(f"expected an integer, got {_show(value)}") from None
    else:
        raise CoercionError(f"expected an integer, got {_show(value)}")
    lo, hi = (INT32_MIN, INT32_MAX) if kind == "int32" else (INT64_MIN, INT64_MAX)
    if not lo <= result <= hi:
        raise CoercionError(f"{result} is out of range for {kind}")
    return result


def _to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise CoercionError(f"expected a number, got {_show(value)}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            raise CoercionError(f"expected a number, got {_show(value)}") from None
    raise CoercionError(f"expected a number, got {_show(value)}")


def _to_decimal(value: Any, ftype: FieldType) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise CoercionError(f"expected a decimal, got {_show(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise CoercionError(f"expected a finite decimal, got {_show(value)}")
    try:
        dec = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise CoercionError(f"expected a decimal, got {_show(value)}") from None
    if not dec.is_finite():
        raise CoercionError(f"expected a finite decimal, got {_show(value)}")
    scale = ftype.scale or 0
    quantized = dec.quantize(Decimal(1).scaleb(-scale))
    if quantized != dec:
        raise CoercionError(f"{dec} has more than {scale} decimal places for {ftype}")
    digits = len(quantized.as_tuple().digits)
    if digits > (ftype.precision or 38) and quantized != 0:
        raise CoercionError(f"{dec} does not fit {ftype}")
    return quantized


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise CoercionError(f"expected a boolean, got {_show(value)}")


def parse_timestamp(value: Any) -> dt.datetime:
    """ISO-8601 (``Z`` or an offset; a zone-less value is taken as UTC) or epoch seconds -> aware UTC."""
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, bool):
        raise CoercionError(f"expected a timestamp, got {_show(value)}")
    elif isinstance(value, int | float):
        parsed = dt.datetime.fromtimestamp(value, tz=UTC)
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            raise CoercionError(f"expected an ISO-8601 timestamp, got {_show(value)}") from None
    else:
        raise CoercionError(f"expected a timestamp, got {_show(value)}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_date(value: Any) -> dt.date:
    """``YYYY-MM-DD`` (a timestamp's date part is accepted) -> date."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return dt.date.fromisoformat(text[:10]) if len(text) >= 10 else dt.date.fromisoformat(text)
        except ValueError:
            raise CoercionError(f"expected a date (YYYY-MM-DD), got {_show(value)}") from None
    raise CoercionError(f"expected a date, got {_show(value)}")


def format_timestamp(value: dt.datetime) -> str:
    """Aware ISO-8601 in UTC with a ``Z``, milliseconds only when present."""
    value = value.astimezone(UTC)
    text = value.isoformat(timespec="milliseconds" if value.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def to_jsonable(value: Any) -> Any:
    """Typed Python value -> JSON-ready value (zone-aware ISO timestamps, decimal as text)."""
    if isinstance(value, dt.datetime):
        return format_timestamp(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, list):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    return value
