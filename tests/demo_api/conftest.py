"""Fixtures for the demo API tests: one real HTTP server per session, reset before every test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from demo_api import DemoServer

SCALE = 0.05  # 100 accounts, 1000 contacts, 500 deals, ~2500 activities
Record = dict[str, Any]


class DemoClient:
    """A thin requests wrapper with one reader per pagination style (real HTTP, no shortcuts)."""

    def __init__(self, srv: DemoServer) -> None:
        self.srv = srv
        self.http = requests.Session()
        self.http.headers["X-API-Key"] = srv.api_key

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.http.get(f"{self.srv.base_url}{path}", params=params, timeout=30)

    def ok(self, path: str, **params: Any) -> Any:
        r = self.get(path, **params)
        assert r.status_code == 200, r.text
        return r.json()

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        r = requests.request(method, f"{self.srv.admin_url}{path}", json=body, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()

    def dump(self, entity: str) -> list[Record]:
        return self.admin("GET", f"/dump/{entity}")  # type: ignore[no-any-return]

    # -- one reader per pagination style ----------------------------------------------------------
    def read_accounts(self, limit: int = 100, **filters: Any) -> list[Record]:
        out: list[Record] = []
        offset = 0
        while True:
            body = self.ok("/accounts", offset=offset, limit=limit, **filters)
            out += body["data"]
            offset += len(body["data"])
            if not body["data"] or offset >= body["total"]:
                assert body["total"] == len(out)
                return out

    def read_contacts(self, page_size: int = 100, **filters: Any) -> list[Record]:
        out: list[Record] = []
        cursor = None
        while True:
            params = dict(filters, page_size=page_size)
            if cursor:
                params["cursor"] = cursor
            body = self.ok("/contacts", **params)
            out += body["results"]
            cursor = body["meta"]["next_cursor"]
            if cursor is None:
                return out

    def read_deals(self, per_page: int = 50, **filters: Any) -> list[Record]:
        r = self.get("/deals", per_page=per_page, **filters)
        out: list[Record] = []
        while True:
            assert r.status_code == 200, r.text
            out += r.json()
            nxt = r.links.get("next", {}).get("url")
            if not nxt:
                assert int(r.headers["X-Total-Count"]) == len(out)
                return out
            r = self.http.get(nxt, timeout=30)

    def read_next_urls(self, path: str, limit: int = 100, **filters: Any) -> list[Record]:
        body = self.ok(path, limit=limit, **filters)
        out: list[Record] = []
        while True:
            out += body["items"]
            nxt = body["links"]["next"]
            if nxt is None:
                return out
            r = self.http.get(nxt, timeout=30)
            assert r.status_code == 200, r.text
            body = r.json()


@pytest.fixture(scope="session")
def demo_server() -> Iterator[DemoServer]:
    # prefetch on: every read test then also checks the (trickier) prefetching path stays invisible
    with DemoServer(port=0, scale=SCALE, prefetch=True) as srv:
        yield srv


@pytest.fixture
def srv(demo_server: DemoServer) -> DemoServer:
    """The shared server, back in its freshly generated state."""
    demo_server.reset()
    demo_server.configure(latency_ms=0, rate_limit=None)
    demo_server.expire_tokens(revoke_refresh=True)
    return demo_server


@pytest.fixture
def api(srv: DemoServer) -> DemoClient:
    return DemoClient(srv)
