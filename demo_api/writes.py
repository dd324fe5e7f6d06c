"""Validation of contact writes (POST create, PATCH partial update, PUT upsert): 422 on bad input."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from werkzeug.wrappers import Request

from . import vocab
from .errors import ApiError, validation_error
from .timeutil import parse_date

Record = dict[str, Any]

READ_ONLY = frozenset({"id", "created_at", "updated_at"})
DEFAULTS: Record = {
    "account_id": None,
    "first_name": None,
    "last_name": None,
    "email": None,
    "phone": None,
    "status": "lead",
    "score": 0.0,
    "lifetime_value": None,
    "birthday": None,
    "opt_in": False,
    "address": None,
    "tags": [],
}
ADDRESS_KEYS = ("street", "city", "country", "postal_code")


def json_body(request: Request) -> Record:
    """The request body as a JSON object, else 400."""
    try:
        body = json.loads(request.get_data() or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "bad_request", "request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", "request body must be a JSON object")
    return body


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _text(name: str, v: Any, max_len: int = 200) -> Any:
    if v is not None and (not isinstance(v, str) or len(v) > max_len):
        raise validation_error(name, f"{name} must be a string of at most {max_len} characters or null")
    return v


def _email(name: str, v: Any) -> Any:
    if not isinstance(v, str) or "@" not in v or len(v) > 254 or v.strip() != v:
        raise validation_error(name, "email must be a string containing '@'")
    return v


def _status(name: str, v: Any) -> Any:
    if v not in vocab.CONTACT_STATUSES:
        raise validation_error(name, f"status must be one of {', '.join(vocab.CONTACT_STATUSES)}")
    return v


def _score(name: str, v: Any) -> Any:
    if not isinstance(v, int | float) or isinstance(v, bool) or not math.isfinite(v) or not 0 <= v <= 100:
        raise validation_error(name, "score must be a number between 0 and 100")
    return float(v)


def _money(name: str, v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, str | int | float):
        raise validation_error(name, f"{name} must be a decimal string like '1234.50' or null")
    try:
        amount = Decimal(str(v))
    except InvalidOperation:
        raise validation_error(name, f"{name} must be a decimal string like '1234.50' or null") from None
    exponent = amount.as_tuple().exponent
    if not amount.is_finite() or not isinstance(exponent, int) or exponent < -2 or abs(amount) >= 10**10:
        raise validation_error(name, f"{name} must have at most 10 integer digits and 2 decimals")
    return f"{amount:.2f}"


def _date(name: str, v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, str):
        try:
            return parse_date(v)
        except ValueError:
            pass
    raise validation_error(name, f"{name} must be a YYYY-MM-DD date or null")


def _bool(name: str, v: Any) -> Any:
    if not isinstance(v, bool):
        raise validation_error(name, f"{name} must be true or false")
    return v


def _address(name: str, v: Any) -> Any:
    if v is None:
        return None
    if not isinstance(v, dict):
        raise validation_error(name, "address must be an object or null")
    unknown = sorted(set(v) - set(ADDRESS_KEYS))
    if unknown:
        raise validation_error(f"address.{unknown[0]}", f"unknown address field {unknown[0]!r}")
    for key in ADDRESS_KEYS:
        _text(f"address.{key}", v.get(key))
    return {key: v.get(key) for key in ADDRESS_KEYS}


def _tags(name: str, v: Any) -> Any:
    if not isinstance(v, list) or not all(isinstance(t, str) for t in v) or len(v) > 50:
        raise validation_error(name, "tags must be a list of at most 50 strings")
    return list(v)


_VALIDATORS: dict[str, Callable[[str, Any], Any]] = {
    "first_name": _text,
    "last_name": _text,
    "email": _email,
    "phone": _text,
    "status": _status,
    "score": _score,
    "lifetime_value": _money,
    "birthday": _date,
    "opt_in": _bool,
    "address": _address,
    "tags": _tags,
}


class ContactValidator:
    """Turns a request body into normalised field values; ``account_exists`` checks the FK."""

    def __init__(self, account_exists: Callable[[int], bool]) -> None:
        self._account_exists = account_exists

    def _account(self, name: str, v: Any) -> Any:
        if v is None:
            return None
        if not _is_int(v) or not self._account_exists(v):
            raise validation_error(name, "account_id must be the id of an existing account or null")
        return v

    def _fields(self, body: Record, path_id: int | None) -> Record:
        out: Record = {}
        for name, value in body.items():
            if name in READ_ONLY:
                if name == "id" and path_id is not None and value == path_id and _is_int(value):
                    continue
                raise validation_error(name, f"{name} is read-only")
            if name == "account_id":
                out[name] = self._account(name, value)
            elif name in _VALIDATORS:
                out[name] = _VALIDATORS[name](name, value)
            else:
                raise validation_error(name, f"unknown field {name!r}")
        return out

    def for_create(self, body: Record, path_id: int | None = None) -> Record:
        """All writable fields (defaults filled in); ``email`` is required."""
        fields = self._fields(body, path_id)
        if "email" not in fields:
            raise validation_error("email", "email is required")
        return {**DEFAULTS, **fields, "tags": list(fields.get("tags", []))}

    def for_update(self, body: Record, path_id: int) -> Record:
        """Only the fields given."""
        return self._fields(body, path_id)
