"""Admin endpoints: mutations, clock, global rate limit and latency, reset, Python accessors."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import requests

from demo_api import DemoServer

if TYPE_CHECKING:
    from conftest import DemoClient


def test_mutate_ids_moves_updated_at_to_the_server_clock(api: DemoClient) -> None:
    before = {c["id"]: c for c in api.dump("contacts")}
    out = api.admin("POST", "/mutate", {"entity": "contacts", "ids": [3, 1, 99999]})
    assert out["ids"] == [3, 1]
    assert out["mutated"] == [
        {"id": 3, "updated_at": "2025-07-01T00:00:00Z"},
        {"id": 1, "updated_at": "2025-07-01T00:00:01Z"},
    ]
    assert out["now"] == "2025-07-01T00:00:02Z"
    after = api.ok("/contacts/3")
    assert after["score"] != before[3]["score"] or after["status"] != before[3]["status"]
    assert {k: v for k, v in after.items() if k not in ("score", "status", "updated_at")} == {
        k: v for k, v in before[3].items() if k not in ("score", "status", "updated_at")
    }
    changed = api.read_contacts(page_size=1000, updated_since="2025-07-01T00:00:00Z")
    assert [c["id"] for c in changed] == [1, 3]


def test_mutate_count_and_explicit_values(api: DemoClient) -> None:
    out = api.admin("POST", "/mutate", {"entity": "deals", "count": 25})
    assert len(set(out["ids"])) == 25
    assert len(api.read_deals(per_page=100, updated_since="2025-07-01T00:00:00Z")) == 25
    out = api.admin("POST", "/mutate", {"entity": "accounts", "ids": [4], "set": {"industry": "Energy"}})
    assert api.ok("/accounts/4")["industry"] == "Energy"
    r = requests.post(f"{api.srv.admin_url}/mutate", json={"entity": "activities", "count": 1}, timeout=10)
    assert r.status_code == 400
    r = requests.post(
        f"{api.srv.admin_url}/mutate", json={"entity": "contacts", "ids": [1], "set": {"status": "x"}}, timeout=10
    )
    assert r.status_code == 422


def test_clock(api: DemoClient) -> None:
    assert api.admin("GET", "/clock") == {"now": "2025-07-01T00:00:00Z"}
    assert api.admin("POST", "/clock", {"now": "2025-07-02T00:00:00+02:00"}) == {"now": "2025-07-01T22:00:00Z"}
    rec = api.http.post(f"{api.srv.base_url}/contacts", json={"email": "t@example.com"}, timeout=10).json()
    assert rec["updated_at"] == "2025-07-01T22:00:00Z"
    assert api.admin("GET", "/clock")["now"] == "2025-07-01T22:00:01Z"
    bad = requests.post(f"{api.srv.admin_url}/clock", json={"now": "tomorrow"}, timeout=10)
    assert bad.status_code == 400


def test_global_rate_limit() -> None:
    with DemoServer(port=0, scale=0.01, rate_limit=2) as srv:
        session = requests.Session()
        session.headers["X-API-Key"] = srv.api_key
        responses = [session.get(f"{srv.base_url}/me", timeout=10) for _ in range(12)]
        limited = [r for r in responses if r.status_code == 429]
        assert len(limited) >= 3 and len(responses) - len(limited) >= 2  # a burst of 2, then 2/s
        assert all(r.headers["Retry-After"] == "1" and r.json()["error"] == "rate_limited" for r in limited)
        time.sleep(1.0)
        assert session.get(f"{srv.base_url}/me", timeout=10).status_code == 200
        assert requests.get(f"{srv.root_url}/health", timeout=10).status_code == 200  # not limited
        config = requests.post(f"{srv.admin_url}/config", json={"rate_limit": None}, timeout=10).json()
        assert config == {"latency_ms": 0.0, "rate_limit": None}
        assert all(session.get(f"{srv.base_url}/me", timeout=10).status_code == 200 for _ in range(12))
        assert requests.get(f"{srv.admin_url}/stats", timeout=10).json()["rate_limited"] == len(limited)


def test_latency_config(api: DemoClient) -> None:
    api.admin("POST", "/config", {"latency_ms": 150})
    start = time.monotonic()
    api.ok("/me")
    assert time.monotonic() - start >= 0.15
    assert requests.post(f"{api.srv.admin_url}/config", json={"speed": 1}, timeout=10).status_code == 400


def test_reset_forgets_everything(api: DemoClient) -> None:
    pristine = api.dump("contacts")
    api.http.post(f"{api.srv.base_url}/contacts", json={"email": "x@example.com"}, timeout=10)
    api.http.delete(f"{api.srv.base_url}/contacts/2", timeout=10)
    api.admin("POST", "/mutate", {"entity": "contacts", "count": 5})
    api.admin("POST", "/faults", [{"kind": "status", "code": 500, "entity": "deals"}])
    assert api.admin("POST", "/reset")["now"] == "2025-07-01T00:00:00Z"
    assert api.dump("contacts") == pristine
    assert api.admin("GET", "/faults")["faults"] == []
    assert api.admin("GET", "/stats")["requests_total"] == 0


def test_python_accessors_match_the_dump(api: DemoClient) -> None:
    srv = api.srv
    srv.mutate("contacts", ids=[10])
    for entity in ("accounts", "contacts", "deals", "activities"):
        assert srv.store.all_records(entity) == api.dump(entity)
    assert next(iter(srv.store.iter_records("deals"))) == api.ok("/deals/1")
    assert srv.store.count("contacts") == 1000
    srv.set_faults({"kind": "status", "code": 503})
    assert api.get("/me").status_code == 503
    srv.set_clock("2025-08-01T00:00:00Z")
    assert api.ok("/me")["server_time"] == "2025-08-01T00:00:00Z"
