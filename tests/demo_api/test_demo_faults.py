"""Every fault kind is observable by a client; scheduling (after/count/entity) works."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
import requests

if TYPE_CHECKING:
    from conftest import DemoClient


def _faults(api: DemoClient, *rules: dict[str, Any]) -> None:
    api.admin("POST", "/faults", list(rules))


@pytest.mark.parametrize("code", [500, 502, 503])
def test_status(api: DemoClient, code: int) -> None:
    _faults(api, {"kind": "status", "code": code})
    r = api.get("/contacts")
    assert r.status_code == code and r.json()["error"] and r.json()["message"]
    assert api.get("/contacts").status_code == 200  # count defaults to 1


def test_status_with_retry_after(api: DemoClient) -> None:
    _faults(api, {"kind": "status", "code": 503, "retry_after": 2})
    assert api.get("/me").headers["Retry-After"] == "2"


def test_rate_limit_variants(api: DemoClient) -> None:
    _faults(
        api,
        {"kind": "rate_limit", "retry_after": 3},
        {"kind": "rate_limit", "retry_after": 30, "retry_after_date": True},
        {"kind": "rate_limit", "retry_after": None},
    )
    r = api.get("/accounts")
    assert (r.status_code, r.headers["Retry-After"]) == (429, "3")
    r = api.get("/accounts")
    assert r.status_code == 429
    when = parsedate_to_datetime(r.headers["Retry-After"])
    assert 20 < (when - datetime.now(UTC)).total_seconds() <= 31
    r = api.get("/accounts")
    assert r.status_code == 429 and "Retry-After" not in r.headers
    assert api.get("/accounts").status_code == 200


def test_slow(api: DemoClient) -> None:
    _faults(api, {"kind": "slow", "delay_s": 0.4})
    start = time.monotonic()
    assert api.get("/me").status_code == 200
    assert time.monotonic() - start >= 0.4
    with pytest.raises(requests.exceptions.ReadTimeout):
        _faults(api, {"kind": "slow", "delay_s": 1.0})
        api.http.get(f"{api.srv.base_url}/me", timeout=0.3)


def test_truncate(api: DemoClient) -> None:
    _faults(api, {"kind": "truncate"})
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        api.get("/contacts")
    assert api.get("/contacts").status_code == 200


def test_malformed(api: DemoClient) -> None:
    _faults(api, {"kind": "malformed"})
    r = api.get("/deals")
    assert r.status_code == 200 and len(r.content) == int(r.headers["Content-Length"])
    with pytest.raises(requests.exceptions.JSONDecodeError):
        r.json()


def test_reset(api: DemoClient) -> None:
    _faults(api, {"kind": "reset"})
    with pytest.raises(requests.exceptions.ConnectionError):
        api.get("/accounts")
    assert api.get("/accounts").status_code == 200


def test_foreign_next(api: DemoClient) -> None:
    _faults(api, {"kind": "foreign_next", "count": 3})
    assert api.get("/accounts").status_code == 200  # no next URL in offset style: does not fire
    assert api.get("/contacts").status_code == 200  # opaque cursor: does not fire
    link = urlsplit(api.get("/deals", per_page=10).links["next"]["url"])
    assert link.netloc == "evil.example.invalid" and link.path == "/api/v1/deals"
    nxt = urlsplit(api.ok("/activities", limit=5)["links"]["next"])
    assert nxt.netloc == "evil.example.invalid"
    last_page = api.ok("/contacts/1/activities", limit=1000)["links"]["next"]  # injected even on the last page
    assert urlsplit(last_page).netloc == "evil.example.invalid"
    assert api.admin("GET", "/faults")["faults"] == []


def test_mutate_between_pages(api: DemoClient) -> None:
    _faults(api, {"kind": "mutate_between_pages", "n": 3, "after": 1})
    contacts = api.read_contacts(page_size=100)
    moved = [c for c in contacts if c["updated_at"] >= "2025-07-01T00:00:00Z"]
    assert [c["id"] for c in moved] == [201, 202, 203]  # after page 2 (ids 101-200), before page 3
    events = api.admin("GET", "/stats")["fault_events"]
    assert events[-1]["kind"] == "mutate_between_pages" and events[-1]["mutated_ids"] == [201, 202, 203]
    assert api.read_contacts(page_size=1000, updated_since="2025-07-01T00:00:00Z") == moved


def test_drift(api: DemoClient) -> None:
    _faults(api, {"kind": "drift", "entity": "accounts"}, {"kind": "drift", "field": "rating", "value": "n/a"})
    drifted = api.ok("/accounts", limit=3)["data"]
    assert all(a["employees"] == "lots" and "rating" not in a and a["legacy_segment"] == "XL" for a in drifted)
    custom = api.ok("/contacts", page_size=2)["results"]
    assert all(c["rating"] == "n/a" and "phone" not in c and c["nickname"] == "JJ" for c in custom)
    assert api.ok("/accounts", limit=1)["data"][0]["employees"] != "lots"


def test_after_count_and_entity_scoping(api: DemoClient) -> None:
    _faults(api, {"kind": "status", "code": 500, "after": 2, "count": 2, "entity": "deals"})
    statuses = []
    for _ in range(5):
        assert api.get("/contacts").status_code == 200  # other entities never match
        statuses.append(api.get("/deals").status_code)
    assert statuses == [200, 200, 500, 500, 200]


def test_path_prefix_and_unlimited_count(api: DemoClient) -> None:
    _faults(api, {"kind": "status", "code": 503, "entity": "/api/v1/contacts/", "count": None})
    assert [api.get("/contacts/1").status_code for _ in range(3)] == [503, 503, 503]
    assert api.get("/contacts").status_code == 200
    api.admin("DELETE", "/faults")
    assert api.get("/contacts/1").status_code == 200


def test_token_endpoint_faults(api: DemoClient) -> None:
    _faults(api, {"kind": "status", "code": 500, "entity": "token"})
    form = {"grant_type": "client_credentials", "client_id": "demo-client", "client_secret": "demo-client-secret"}
    assert requests.post(api.srv.token_url, data=form, timeout=10).status_code == 500
    assert requests.post(api.srv.token_url, data=form, timeout=10).status_code == 200


def test_schedule_admin_and_stats(api: DemoClient) -> None:
    api.admin("DELETE", "/stats")
    _faults(api, {"kind": "status", "code": 502, "count": 2}, {"kind": "slow", "delay_s": 0})
    pending = api.admin("GET", "/faults")["faults"]
    assert [(f["kind"], f["count"]) for f in pending] == [("status", 2), ("slow", 1)]
    api.get("/me")
    assert [(f["kind"], f["count"]) for f in api.admin("GET", "/faults")["faults"]] == [("status", 1)]
    api.admin("POST", "/faults", {"faults": [{"kind": "reset"}], "append": True})
    assert len(api.admin("GET", "/faults")["faults"]) == 2
    stats = api.admin("GET", "/stats")
    assert stats["faults_fired"] == {"status": 1, "slow": 1}
    assert stats["requests"] == {"/api/v1/me": 1} and stats["statuses"] == {"502": 1}
    for bad in ({"kind": "explode"}, {"kind": "status", "code": 200}, {"kind": "slow", "delay": 1}, "x"):
        r = requests.post(f"{api.srv.admin_url}/faults", json=bad, timeout=10)
        assert r.status_code == 400 and r.json()["error"] == "bad_request"
