"""A small SaaS API for client tests: every pagination style, and a scripted fault per request.

Unlike the demo API (a realistic product), this server exists to make each protocol corner reachable:
``style`` picks the paginator, ``faults`` maps a request number (1-based, counting every request to
``/items``) to what goes wrong on it.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

API_KEY = "fake-secret-key-1234"


@dataclass
class FakeSaaS:
    records: list[dict[str, Any]]
    style: str = "offset"
    faults: dict[int, str] = field(default_factory=dict)
    max_page_size: int = 1000
    total: bool = True
    foreign_next: bool = False
    repeat_token: bool = False
    requests: list[Request] = field(default_factory=list)
    headers_seen: list[dict[str, str]] = field(default_factory=list)
    base_url: str = ""
    delay_s: float = 0.0  # before answering each /items request (after counting it)
    active: int = 0  # /items requests being answered now, and the most at once
    max_active: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.path == "/redirect":
            target = request.args.get("to", "/items")
            return Response("", status=302, headers={"Location": target})(environ, start_response)
        if request.path == "/echo":
            self.headers_seen.append(dict(request.headers))
            return self._json({"ok": True, "args": dict(request.args)})(environ, start_response)
        with self.lock:
            self.requests.append(request)
            self.headers_seen.append(dict(request.headers))
            number = len(self.requests)
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            if self.delay_s:
                time.sleep(self.delay_s)
            return self._answer(request, number)(environ, start_response)
        finally:
            with self.lock:
                self.active -= 1

    def _answer(self, request: Request, number: int) -> Any:
        if request.headers.get("X-API-Key") != API_KEY and request.args.get("api_key") != API_KEY:
            return self._json({"message": "bad key"}, 401)
        fault = self.faults.get(number)
        if fault in ("500", "502", "503"):
            return self._json({"message": "boom"}, int(fault))
        if fault == "429":
            return self._json({"message": "slow down"}, 429, {"Retry-After": "2"})
        if fault == "429-bare":
            return self._json({"message": "slow down"}, 429)
        if fault == "400":
            return self._json({"message": "bad filter"}, 400)
        response = self._page(request)
        if fault == "malformed":
            response = Response('{"data": [1, 2', content_type="application/json")
        elif fault == "truncate":
            body = response.get_data()
            return _truncated(body)
        return response

    @staticmethod
    def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return Response(json.dumps(body), status=status, headers=headers or {}, content_type="application/json")

    def _filtered(self, request: Request) -> list[dict[str, Any]]:
        rows = self.records
        if "min_id" in request.args:
            rows = [r for r in rows if r["id"] >= int(request.args["min_id"])]
        if "max_id" in request.args:
            rows = [r for r in rows if r["id"] <= int(request.args["max_id"])]
        if "updated_since" in request.args:
            rows = [r for r in rows if r["updated_at"] >= request.args["updated_since"]]
        if "status" in request.args:
            wanted = set(request.args["status"].split(","))
            rows = [r for r in rows if r.get("status") in wanted]
        return rows

    def _link(self, **params: Any) -> str:
        host = "http://evil.invalid:9" if self.foreign_next else self.base_url
        return f"{host}/items?{urlencode(params)}"

    def _page(self, request: Request) -> Response:
        rows = self._filtered(request)
        args = request.args
        style = self.style
        if style == "none":
            return self._json({"data": rows})
        if style == "offset":
            offset, limit = int(args.get("offset", 0)), min(int(args.get("limit", 10)), self.max_page_size)
            body: dict[str, Any] = {"data": rows[offset : offset + limit]}
            if self.total:
                body["total"] = len(rows)
            return self._json(body)
        if style == "page_number":
            page, size = int(args.get("page", 1)), min(int(args.get("per_page", 10)), self.max_page_size)
            body = {"data": rows[(page - 1) * size : page * size]}
            if self.total:
                body["total_pages"] = (len(rows) + size - 1) // size
                body["total"] = len(rows)
            return self._json(body)
        size = min(int(args.get("limit", 10)), self.max_page_size)
        start = int(args.get("after", args.get("pos", 0)))
        if self.repeat_token and start > 0:
            start = size  # a broken API that keeps answering the same next position
        chunk = [r for r in rows if r["id"] > start][:size]
        last = chunk[-1]["id"] if chunk else None
        more = bool(chunk) and any(r["id"] > last for r in rows)
        if style == "cursor":
            return self._json({"data": chunk, "meta": {"next": str(last) if more else None}})
        if style == "header_cursor":
            headers = {"X-Next": str(last)} if more else {}
            return self._json({"data": chunk}, headers=headers)
        extra = {k: v for k, v in args.items() if k not in ("pos", "limit")}
        nxt = self._link(pos=last, limit=size, **extra) if more else None
        if style == "next_url":
            return self._json({"data": chunk, "links": {"next": nxt}})
        if style == "link_header":
            headers = {"Link": f'<{nxt}>; rel="next"'} if nxt else {}
            return self._json({"data": chunk}, headers=headers)
        raise ValueError(style)


def _truncated(body: bytes) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body[: len(body) // 2]]

    return app


def make_records(count: int) -> list[dict[str, Any]]:
    statuses = ["open", "closed", "pending"]
    return [
        {
            "id": i,
            "name": f"item {i}",
            "status": statuses[i % 3],
            "updated_at": f"2024-01-{1 + i % 28:02d}T00:00:{i % 60:02d}Z",
            "nested": {"score": i * 1.5},
        }
        for i in range(1, count + 1)
    ]


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve a WSGI app on a free loopback port; yield its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    if isinstance(app, FakeSaaS):
        app.base_url = base
    try:
        yield base
    finally:
        server.shutdown()
        thread.join(5)


SPEC_TEMPLATE = """
version: 1
api:
  name: fake
  base_url: {base}
  auth: {auth}
  retry: {{max_attempts: {attempts}, base_delay_s: 0.1, max_delay_s: 1, retry_after_cap_s: {cap}}}
  pagination: {pagination}
{api_extra}
entities:
  - name: items
    path: /items
    records: data
    primary_key: [id]
    fields:
      id: {{type: int64, nullable: false}}
      name: string
      status: string
      updated_at: {{type: timestamp, nullable: false}}
      score: {{type: number, path: nested.score}}
    filters:
      id: {{ge: {{param: min_id}}, le: {{param: max_id}}}}
      status: {{in: {{param: status, join: ","}}}}
      updated_at: {{ge: {{param: updated_since}}}}
{entity_extra}
"""

HEADER_KEY_AUTH = '{type: api_key, in: header, name: X-API-Key, value: "{secret.api_key}"}'

# This fake omits its X-Next header and Link header on the last page, as GitHub does, even when that page is
# full: hence on_missing_next: stop for those two (tests/client/test_truncation.py covers the default).
PAGINATION = {
    "none": "{type: none}",
    "offset": "{type: offset, page_size: 10, total_path: total}",
    "offset_no_total": "{type: offset, page_size: 10}",
    "page_number": "{type: page_number, page_size: 10, total_pages_path: total_pages}",
    "page_number_no_total": "{type: page_number, page_size: 10}",
    "page_number_total": "{type: page_number, page_size: 10, total_path: total}",
    "cursor": "{type: cursor, cursor_path: meta.next, cursor_param: after, size_param: limit, page_size: 10}",
    "header_cursor": (
        "{type: header_cursor, header: X-Next, cursor_param: after, size_param: limit, page_size: 10, "
        "on_missing_next: stop}"
    ),
    "next_url": "{type: next_url, next_url_path: links.next, size_param: limit, page_size: 10}",
    "link_header": "{type: link_header, size_param: limit, page_size: 10, on_missing_next: stop}",
}

SERVER_STYLE = {"offset_no_total": "offset", "page_number_no_total": "page_number", "page_number_total": "page_number"}


def fake_spec_text(
    base: str,
    pagination: str = "offset",
    attempts: int = 4,
    *,
    cap: float = 5,
    auth: str = HEADER_KEY_AUTH,
    api_extra: str = "",
    entity_extra: str = "",
) -> str:
    """The spec of the fake API's ``items`` entity; extra YAML lines go under ``api`` or the entity."""
    return SPEC_TEMPLATE.format(
        base=base,
        pagination=PAGINATION[pagination],
        attempts=attempts,
        cap=cap,
        auth=auth,
        api_extra=api_extra,
        entity_extra=entity_extra,
    )
