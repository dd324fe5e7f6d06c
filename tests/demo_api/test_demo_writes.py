"""Contact writes: create, partial update, upsert, delete; validation; the server clock."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import pytest
import requests

if TYPE_CHECKING:
    from conftest import DemoClient


def _send(api: DemoClient, method: str, path: str, body: Any) -> requests.Response:
    return api.http.request(method, f"{api.srv.base_url}{path}", json=body, timeout=10)


def test_create_assigns_next_id_and_stamps_the_clock(api: DemoClient) -> None:
    r = _send(api, "POST", "/contacts", {"email": "zoë@example.com", "first_name": "Zoë", "tags": ["vip"]})
    assert r.status_code == 201
    rec = r.json()
    assert rec["id"] == 1001 and r.headers["Location"].endswith("/api/v1/contacts/1001")
    assert rec["created_at"] == rec["updated_at"] == "2025-07-01T00:00:00Z"
    assert (rec["status"], rec["score"], rec["opt_in"], rec["phone"], rec["tags"]) == (
        "lead",
        0.0,
        False,
        None,
        ["vip"],
    )
    assert api.ok("/contacts/1001") == rec
    assert api.dump("contacts")[-1] == rec
    second = _send(api, "POST", "/contacts", {"email": "b@example.com"}).json()
    assert (second["id"], second["updated_at"]) == (1002, "2025-07-01T00:00:01Z")


def test_patch_changes_only_given_fields(api: DemoClient) -> None:
    before = api.ok("/contacts/5")
    r = _send(api, "PATCH", "/contacts/5", {"status": "churned", "phone": None})
    assert r.status_code == 200
    after = r.json()
    assert after == {**before, "status": "churned", "phone": None, "updated_at": "2025-07-01T00:00:00Z"}
    assert api.ok("/contacts/5") == after
    assert api.read_contacts(page_size=1000, updated_since="2025-07-01T00:00:00Z") == [after]
    assert _send(api, "PATCH", "/contacts/4242", {"status": "lead"}).status_code == 404


def test_put_upserts(api: DemoClient) -> None:
    before = api.ok("/contacts/7")
    r = _send(api, "PUT", "/contacts/7", {"id": 7, "email": "replaced@example.com", "account_id": 3})
    assert r.status_code == 200
    assert r.json()["created_at"] == before["created_at"] and r.json()["first_name"] is None
    r = _send(api, "PUT", "/contacts/5000", {"email": "new@example.com", "status": "customer"})
    assert r.status_code == 201 and r.json()["id"] == 5000
    assert [c["id"] for c in api.dump("contacts")][-1] == 5000
    assert _send(api, "POST", "/contacts", {"email": "after@example.com"}).json()["id"] == 5001


def test_delete(api: DemoClient) -> None:
    assert _send(api, "DELETE", "/contacts/9", None).status_code == 204
    assert api.get("/contacts/9").status_code == 404
    assert _send(api, "DELETE", "/contacts/9", None).status_code == 404
    assert 9 not in {c["id"] for c in api.read_contacts(page_size=500)}
    assert api.get("/contacts/9/activities").status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/contacts", {"first_name": "No Email"}, "email"),
        ("POST", "/contacts", {"email": "not-an-email"}, "email"),
        ("POST", "/contacts", {"email": "a@b.c", "status": "vip"}, "status"),
        ("POST", "/contacts", {"email": "a@b.c", "favourite_color": "red"}, "favourite_color"),
        ("POST", "/contacts", {"email": "a@b.c", "id": 5}, "id"),
        ("POST", "/contacts", {"email": "a@b.c", "updated_at": "2025-01-01T00:00:00Z"}, "updated_at"),
        ("POST", "/contacts", {"email": "a@b.c", "score": "high"}, "score"),
        ("POST", "/contacts", {"email": "a@b.c", "opt_in": "yes"}, "opt_in"),
        ("POST", "/contacts", {"email": "a@b.c", "tags": [1, 2]}, "tags"),
        ("POST", "/contacts", {"email": "a@b.c", "birthday": "1990-02-30"}, "birthday"),
        ("POST", "/contacts", {"email": "a@b.c", "lifetime_value": "12.345"}, "lifetime_value"),
        ("POST", "/contacts", {"email": "a@b.c", "account_id": 999}, "account_id"),
        ("POST", "/contacts", {"email": "a@b.c", "address": {"zip": "1"}}, "address.zip"),
        ("PATCH", "/contacts/3", {"status": "bogus"}, "status"),
        ("PATCH", "/contacts/3", {"email": None}, "email"),
        ("PUT", "/contacts/3", {"status": "lead"}, "email"),
        ("PUT", "/contacts/3", {"id": 4, "email": "a@b.c"}, "id"),
    ],
)
def test_validation_errors_are_422(api: DemoClient, method: str, path: str, body: Any, field: str) -> None:
    r = _send(api, method, path, body)
    assert r.status_code == 422, r.text
    payload = r.json()
    assert payload["error"] == "validation_error" and payload["field"] == field and payload["message"]
    assert api.ok("/me")["server_time"] == "2025-07-01T00:00:00Z"  # rejected writes do not tick the clock


def test_lifetime_value_is_normalised(api: DemoClient) -> None:
    r = _send(api, "POST", "/contacts", {"email": "m@example.com", "lifetime_value": 12.5})
    assert r.json()["lifetime_value"] == "12.50"


def test_body_must_be_a_json_object(api: DemoClient) -> None:
    url = f"{api.srv.base_url}/contacts"
    assert api.http.post(url, data=b"{nope", timeout=10).status_code == 400
    assert api.http.post(url, json=[1, 2], timeout=10).status_code == 400


def test_concurrent_creates_get_distinct_ids(api: DemoClient) -> None:
    ids: list[int] = []

    def create(n: int) -> None:
        r = requests.post(
            f"{api.srv.base_url}/contacts",
            json={"email": f"c{n}@example.com"},
            headers={"X-API-Key": api.srv.api_key},
            timeout=10,
        )
        ids.append(r.json()["id"])

    threads = [threading.Thread(target=create, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(ids) == list(range(1001, 1021))
    stamps = [c["updated_at"] for c in api.dump("contacts")[1000:]]
    assert len(set(stamps)) == 20  # one clock tick per write
