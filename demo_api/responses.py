"""JSON response helpers."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Response

from .errors import ApiError

JSON_MIMETYPE = "application/json"
_SEPARATORS = (",", ":")


def dumps(payload: Any) -> bytes:
    """Compact UTF-8 JSON (non-ASCII kept as UTF-8, not escaped)."""
    return json.dumps(payload, separators=_SEPARATORS, ensure_ascii=False).encode()


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return raw_json_response(dumps(payload), status, headers)


def raw_json_response(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A response from an already-serialised JSON body."""
    return Response(body, status=status, headers=headers, content_type=f"{JSON_MIMETYPE}; charset=utf-8")


def error_response(error: ApiError) -> Response:
    return json_response(error.body(), status=error.status, headers=error.headers)
