"""Located, typed readers (and emit-side checks) for JSON objects (internal).

Requests are parsed by key (not by position, unlike the Java streaming parsers) so that every dialect the
engine may send is accepted; these helpers turn a missing key or a wrong JSON type into a WireError that
names the exact path.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any, NoReturn

from athena_connector.wire.errors import WireError

MISSING: Any = object()
JAVA_LONG_MIN, JAVA_LONG_MAX = -(2**63), 2**63 - 1  # the engine's numbers are Java longs


def json_kind(value: Any) -> str:
    """Name a Python value by its JSON type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__


def fail(path: str, problem: str) -> NoReturn:
    raise WireError(path, problem)


def expect_object(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        fail(path, f"expected an object, got {json_kind(value)}")
    return value


def field(obj: Mapping[str, Any], key: str, path: str, default: Any = MISSING) -> Any:
    """The value under ``key``; a missing key is an error unless a default is given."""
    if key in obj:
        return obj[key]
    if default is MISSING:
        fail(path, f"missing required key '{key}'")
    return default


def get_str(obj: Mapping[str, Any], key: str, path: str) -> str:
    value = field(obj, key, path)
    if not isinstance(value, str):
        fail(f"{path}.{key}", f"expected a string, got {json_kind(value)}")
    return value


def get_opt_str(obj: Mapping[str, Any], key: str, path: str) -> str | None:
    """A string that may be ``null`` or absent (tokens, S3 bucket, time zone)."""
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        fail(f"{path}.{key}", f"expected a string or null, got {json_kind(value)}")
    return value


def get_bool(obj: Mapping[str, Any], key: str, path: str) -> bool:
    value = field(obj, key, path)
    if not isinstance(value, bool):
        fail(f"{path}.{key}", f"expected a boolean, got {json_kind(value)}")
    return value


def as_int(value: Any, path: str) -> int:
    """An integer within a Java long (what the engine can send): 10**400 is refused here, not later."""
    if isinstance(value, bool) or not isinstance(value, int):
        fail(path, f"expected an integer, got {json_kind(value)}")
    if not JAVA_LONG_MIN <= value <= JAVA_LONG_MAX:
        fail(path, f"integer out of range (a 64-bit signed integer, at most {JAVA_LONG_MAX})")
    return value


def get_int(obj: Mapping[str, Any], key: str, path: str, default: Any = MISSING) -> int:
    value = field(obj, key, path, default)
    return as_int(value, f"{path}.{key}")


def get_long_string(obj: Mapping[str, Any], key: str, path: str) -> int:
    """A long sent as a JSON string holding decimal digits (maxBlockSize); a plain number is tolerated."""
    value = field(obj, key, path)
    if isinstance(value, str):
        text = value.strip()
        shown = value if len(value) <= 40 else f"{value[:40]}... ({len(value)} characters)"
        if not re.fullmatch(r"[+-]?[0-9]+", text):
            fail(f"{path}.{key}", f"expected a decimal integer string, got {shown!r}")
        digits = text.lstrip("+-").lstrip("0") or "0"
        if len(digits) > 19:  # checked before int(), which refuses 4,300+ digits with a bare ValueError
            fail(f"{path}.{key}", f"integer out of range (a 64-bit signed integer, at most {JAVA_LONG_MAX})")
        return as_int(-int(digits) if text.startswith("-") else int(digits), f"{path}.{key}")
    return as_int(value, f"{path}.{key}")


def get_object(obj: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
    return expect_object(field(obj, key, path), f"{path}.{key}")


def get_list(obj: Mapping[str, Any], key: str, path: str, default: Any = MISSING) -> list[Any]:
    """An array; with a default, ``null`` is treated like an absent key."""
    value = field(obj, key, path, default)
    if value is None and default is not MISSING:
        value = default
    if not isinstance(value, list | tuple):
        fail(f"{path}.{key}", f"expected an array, got {json_kind(value)}")
    return list(value)


def get_str_list(obj: Mapping[str, Any], key: str, path: str, default: Any = MISSING) -> tuple[str, ...]:
    items = get_list(obj, key, path, default)
    for i, item in enumerate(items):
        if not isinstance(item, str):
            fail(f"{path}.{key}[{i}]", f"expected a string, got {json_kind(item)}")
    return tuple(items)


def get_str_map(obj: Mapping[str, Any], key: str, path: str, default: Any = MISSING) -> dict[str, str]:
    """A string->string object; ``null`` counts as empty (Java accepts both)."""
    value = field(obj, key, path, default)
    if value is None:
        return {}
    mapping = expect_object(value, f"{path}.{key}")
    result: dict[str, str] = {}
    for k, v in mapping.items():
        if not isinstance(v, str):
            fail(f"{path}.{key}.{k}", f"expected a string, got {json_kind(v)}")
        result[str(k)] = v
    return result


def decode_b64(value: Any, path: str) -> bytes:
    """Standard base64 (Jackson's default variant). Missing padding is tolerated, bad characters are not."""
    if not isinstance(value, str):
        fail(path, f"expected a base64 string, got {json_kind(value)}")
    text = value.strip()
    if len(text) % 4:
        text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        fail(path, f"invalid base64 ({exc})")


def encode_b64(data: bytes) -> str:
    """Padded standard base64, the only form the Java parser is documented to produce."""
    return base64.b64encode(data).decode("ascii")


def str_to_wire(value: Any, path: str, nullable: bool = False) -> str | None:
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        fail(path, f"expected a string{' or None' if nullable else ''}, got {json_kind(value)}")
    return value


def int_to_wire(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        fail(path, f"expected an integer, got {json_kind(value)}")
    return value


def bool_to_wire(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        fail(path, f"expected a boolean, got {json_kind(value)}")
    return value


def str_list_to_wire(values: Any, path: str) -> list[str]:
    if isinstance(values, str | bytes) or not hasattr(values, "__iter__"):
        fail(path, f"expected a sequence of strings, got {json_kind(values)}")
    return [str_to_wire(v, f"{path}[{i}]") for i, v in enumerate(values)]  # type: ignore[misc]


def str_map_to_wire(values: Any, path: str) -> dict[str, str]:
    if not isinstance(values, Mapping):
        fail(path, f"expected a mapping of strings, got {json_kind(values)}")
    out: dict[str, str] = {}
    for k, v in values.items():
        key = str_to_wire(k, path)
        out[key] = str_to_wire(v, f"{path}.{k}")  # type: ignore[index,assignment]
    return out
