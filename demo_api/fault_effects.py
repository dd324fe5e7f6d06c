"""What injected faults do to a response (the schedule deciding *when* is in :mod:`demo_api.faults`)."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from werkzeug.wrappers import Response

from .errors import ApiError
from .faults import FaultRule
from .timeutil import http_date

Record = dict[str, Any]

_STATUS_CODES = {
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}

# entity -> (numeric field served as a string, that string, field dropped, unknown field added)
DRIFT_DEFAULTS: dict[str, tuple[str, str, str, dict[str, Any]]] = {
    "accounts": ("employees", "lots", "rating", {"legacy_segment": "XL"}),
    "contacts": ("score", "high", "phone", {"nickname": "JJ"}),
    "deals": ("probability", "likely", "currency", {"pipeline": "default"}),
    "activities": ("duration_minutes", "about an hour", "subject", {"sentiment": "positive"}),
}


def status_error(rule: FaultRule) -> ApiError:
    code = rule.get("code")
    headers = {}
    if rule.get("retry_after") is not None:
        headers["Retry-After"] = _seconds(rule.get("retry_after"))
    message = rule.get("message") or f"injected fault: HTTP {code}"
    return ApiError(code, _STATUS_CODES.get(code, "injected_error"), message, headers=headers)


def rate_limit_error(rule: FaultRule) -> ApiError:
    retry_after = rule.get("retry_after")
    headers = {}
    if retry_after is not None:
        if rule.get("retry_after_date"):
            headers["Retry-After"] = http_date(time.time() + retry_after)
        else:
            headers["Retry-After"] = _seconds(retry_after)
    return ApiError(429, "rate_limited", "too many requests (injected fault)", headers=headers)


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def reset_connection(environ: dict[str, Any]) -> None:
    """Abort the TCP connection (RST) before any response byte is sent."""
    sock = environ.get("werkzeug.socket")
    if sock is None:
        raise RuntimeError("reset fault needs werkzeug's dev server (environ['werkzeug.socket'])")
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class TruncatedResponse:
    """A WSGI app sending the first half of ``response``'s body under the full ``Content-Length``.

    werkzeug's server closes the connection after each response, so the client reads EOF mid-body
    (``requests`` raises ``ChunkedEncodingError`` / urllib3 ``IncompleteRead``).
    """

    def __init__(self, response: Response) -> None:
        self._response = response
        self.status_code = response.status_code

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        body = self._response.get_data()
        headers = [(k, v) for k, v in self._response.headers.items() if k.lower() != "content-length"]
        start_response(self._response.status, [*headers, ("Content-Length", str(len(body)))])
        return [body[: len(body) // 2]]


def malformed(response: Response) -> Response:
    """A complete 200 whose JSON body is invalid (cut off, with an HTML error page glued on)."""
    body = response.get_data()
    bad = body[: max(1, len(body) // 2)] + b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    out = Response(bad, status=200, content_type=response.content_type)
    for key, value in response.headers.items():
        if key.lower() not in ("content-length", "content-type"):
            out.headers[key] = value
    return out


def redirect(request: Any, rule: FaultRule) -> Response:
    """A redirect to ``location`` (plus this request's path and query when ``keep_path``), before auth."""
    location = rule.get("location").rstrip("/")
    if rule.get("keep_path"):
        query = request.query_string.decode("latin-1")
        location += request.path + (f"?{query}" if query else "")
    return Response(b"", status=rule.get("code"), headers={"Location": location})


def foreign_url(url: str, host: str) -> str:
    """``url`` with its scheme and host replaced by ``http://<host>``."""
    parts = urlsplit(url)
    return urlunsplit(("http", host, parts.path, parts.query, parts.fragment))


def drift(entity: str, records: list[Record], rule: FaultRule) -> list[Record]:
    """Copies of ``records`` with a numeric field served as a string, one field dropped and one added."""
    field, value, drop, add = DRIFT_DEFAULTS[entity]
    field = rule.get("field") or field
    value = rule.get("value") if rule.get("value") is not None else value
    drop = rule.get("drop") or drop
    add = rule.get("add") if rule.get("add") is not None else add
    out = []
    for rec in records:
        new = dict(rec)
        new[field] = value
        new.pop(drop, None)
        new.update(add)
        out.append(new)
    return out


def repeat_record(records: list[Record], earlier: Record | None) -> tuple[list[Record], Record | None]:
    """A copy of ``records`` with one record served again in its middle: ``earlier`` (a record from a page
    served before), or without one the page's own first record. Returns the page and the repeated record."""
    again = earlier if earlier is not None else (records[0] if len(records) > 1 else None)
    if again is None:
        return records, None
    middle = max(1, len(records) // 2)
    return [*records[:middle], dict(again), *records[middle:]], again
