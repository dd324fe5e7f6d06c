"""Small local servers that page the way widely used SaaS APIs document, for the worked examples in docs/spec.md.

Each behaves as the public documentation describes the list endpoint (not the whole product):

* ``stripe``: ``GET /v1/customers?limit=N&starting_after=ID`` -> ``{"object": "list", "data": [...], "has_more"}``;
  ``limit`` 1..100 (more is a 400), bearer key.
* ``hubspot``: ``GET /crm/v3/objects/contacts?limit=N&after=T`` -> ``{"results": [...], "paging": {"next":
  {"after", "link"}}}``, ``paging`` absent on the last page; ``limit`` capped at 100.
* ``jira``: ``GET /rest/api/3/search?startAt=S&maxResults=M`` -> ``{"startAt", "maxResults", "total", "issues"}``;
  ``maxResults`` silently capped at 50 here (Jira caps it and says so only in the answer).
* ``salesforce``: ``GET /services/data/v59.0/query?q=SOQL`` -> ``{"totalSize", "done", "nextRecordsUrl",
  "records"}``; the batch size from ``Sforce-Query-Options: batchSize=N``; next pages at ``/query/<locator>-<n>``.
* ``github``: ``GET /repos/o/r/issues?per_page=N&page=K`` -> a bare array and ``Link`` with first/prev/next/last;
  no ``Link`` at all when one page holds everything.
* ``zendesk``: ``GET /api/v2/incremental/tickets.json?start_time=EPOCH`` (required) -> ``{"tickets": [...],
  "count", "end_time", "next_page", "end_of_stream"}``: up to ``per_page`` tickets updated at or after
  ``start_time`` in ``updated_at`` order; ``end_time`` is the last ticket's time, so tickets of that second come
  again on the next page; ``end_of_stream`` when fewer than ``per_page`` remain.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

TOKEN = "sk_test_shapes_7Hq2"


def make_items(count: int) -> list[dict[str, Any]]:
    """Records with ids 1..count and non-decreasing update times (some share a second)."""
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    return [
        {"id": i, "name": f"item {i}", "updated": int((start + dt.timedelta(seconds=(i // 3) * 7)).timestamp())}
        for i in range(1, count + 1)
    ]


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers or {}, content_type="application/json")


@dataclass
class ShapeServer:
    shape: str
    items: list[dict[str, Any]]
    base: str = ""
    requests: list[str] = field(default_factory=list)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.requests.append(request.full_path)
        if request.headers.get("Authorization") != f"Bearer {TOKEN}" and not self._basic_ok(request):
            return _json({"error": {"message": "Invalid API key"}}, 401)(environ, start_response)
        return getattr(self, self.shape)(request)(environ, start_response)

    @staticmethod
    def _basic_ok(request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user.startswith("me@example.com") and password == TOKEN

    def stripe(self, request: Request) -> Response:
        limit = int(request.args.get("limit", 10))
        if not 1 <= limit <= 100:
            return _json({"error": {"message": "Invalid integer: limit must be at most 100"}}, 400)
        after = request.args.get("starting_after")
        rows = [r for r in self.items if after is None or r["id"] > int(after.removeprefix("cus_"))]
        page = [{**r, "id": f"cus_{r['id']}", "object": "customer"} for r in rows[:limit]]
        return _json({"object": "list", "url": "/v1/customers", "has_more": len(rows) > limit, "data": page})

    def hubspot(self, request: Request) -> Response:
        limit = min(int(request.args.get("limit", 10)), 100)
        after = int(request.args.get("after", 0))
        rows = [r for r in self.items if r["id"] > after]
        page = rows[:limit]
        body: dict[str, Any] = {
            "results": [{"id": str(r["id"]), "properties": {"firstname": r["name"]}, "archived": False} for r in page]
        }
        if len(rows) > limit:
            token = str(page[-1]["id"])
            body["paging"] = {"next": {"after": token, "link": f"{self.base}{request.path}?after={token}"}}
        return _json(body)

    def jira(self, request: Request) -> Response:
        start = int(request.args.get("startAt", 0))
        size = min(int(request.args.get("maxResults", 50)), 50)
        page = self.items[start : start + size]
        issues = [{"id": str(r["id"]), "key": f"PRJ-{r['id']}", "fields": {"summary": r["name"]}} for r in page]
        return _json({"startAt": start, "maxResults": size, "total": len(self.items), "issues": issues})

    def salesforce(self, request: Request) -> Response:
        options = request.headers.get("Sforce-Query-Options", "")
        batch = int(options.split("batchSize=", 1)[1]) if "batchSize=" in options else 2000
        if request.path.endswith("/query"):
            if "q" not in request.args:
                return _json([{"message": "MALFORMED_QUERY", "errorCode": "MALFORMED_QUERY"}], 400)
            position = 0
        else:
            position = int(request.path.rsplit("-", 1)[1])
        page = self.items[position : position + batch]
        records = [{"attributes": {"type": "Account", "url": f"/services/data/v59.0/sobjects/Account/{r['id']}"},
                    "Id": f"001A{r['id']:011d}", "Name": r["name"]} for r in page]  # fmt: skip
        done = position + batch >= len(self.items)
        body: dict[str, Any] = {"totalSize": len(self.items), "done": done, "records": records}
        if not done:
            body["nextRecordsUrl"] = f"/services/data/v59.0/query/01gD0000002HU6KIAW-{position + batch}"
        return _json(body)

    def github(self, request: Request) -> Response:
        per_page = min(int(request.args.get("per_page", 30)), 100)
        page_no = int(request.args.get("page", 1))
        page = self.items[(page_no - 1) * per_page : page_no * per_page]
        last = max(1, -(-len(self.items) // per_page))
        links = []
        url = f"{self.base}{request.path}?"
        if page_no < last:
            links.append(f'<{url}{urlencode({"per_page": per_page, "page": page_no + 1})}>; rel="next"')
            links.append(f'<{url}{urlencode({"per_page": per_page, "page": last})}>; rel="last"')
        if page_no > 1:
            links.append(f'<{url}{urlencode({"per_page": per_page, "page": page_no - 1})}>; rel="prev"')
            links.append(f'<{url}{urlencode({"per_page": per_page, "page": 1})}>; rel="first"')
        issues = [{"id": r["id"], "number": r["id"], "title": r["name"], "state": "open"} for r in page]
        return _json(issues, headers={"Link": ", ".join(links)} if links else {})

    def zendesk(self, request: Request) -> Response:
        if "start_time" not in request.args:
            return _json({"error": "InvalidValue", "description": "start_time is required"}, 400)
        start = int(request.args["start_time"])
        per_page = int(request.args.get("per_page", 1000))
        rows = [r for r in self.items if r["updated"] >= start]
        page = rows[:per_page]
        end_time = page[-1]["updated"] if page else start
        tickets = [{"id": r["id"], "subject": r["name"],
                    "updated_at": dt.datetime.fromtimestamp(r["updated"], dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
                   for r in page]  # fmt: skip
        return _json(
            {
                "tickets": tickets,
                "count": len(tickets),
                "end_time": end_time,
                "next_page": f"{self.base}{request.path}?start_time={end_time}",
                "end_of_stream": len(rows) < per_page,
            }
        )
