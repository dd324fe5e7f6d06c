"""Every pagination style reads every record exactly once; filters and bad parameters."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

if TYPE_CHECKING:
    from conftest import DemoClient

Record = dict[str, Any]


def _t(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_offset_pagination_reads_everything_once(api: DemoClient) -> None:
    assert api.read_accounts(limit=7) == api.dump("accounts")
    body = api.ok("/accounts")
    assert (body["offset"], body["limit"], body["total"], len(body["data"])) == (0, 100, 100, 100)
    assert api.ok("/accounts", offset=95, limit=10)["data"][-1]["id"] == 100
    assert api.ok("/accounts", offset=100)["data"] == []


def test_cursor_pagination_reads_everything_once(api: DemoClient) -> None:
    assert api.read_contacts(page_size=37) == api.dump("contacts")
    last = api.ok("/contacts", page_size=1000)
    assert len(last["results"]) == 1000 and last["meta"]["next_cursor"] is None


def test_link_header_pagination_reads_everything_once(api: DemoClient) -> None:
    assert api.read_deals(per_page=23) == api.dump("deals")
    r = api.get("/deals", page=22, per_page=23)  # the last page: 500 = 21*23 + 17
    assert len(r.json()) == 17 and "Link" not in r.headers and r.headers["X-Total-Count"] == "500"
    assert api.ok("/deals", page=99) == []


def test_link_header_is_absolute_and_keeps_filters(api: DemoClient) -> None:
    r = api.get("/deals", per_page=5, stage="proposal,negotiation", amount_min="100")
    link = urlsplit(r.links["next"]["url"])
    assert f"{link.scheme}://{link.netloc}" == api.srv.root_url and link.path == "/api/v1/deals"
    assert parse_qs(link.query) == {
        "stage": ["proposal,negotiation"],
        "amount_min": ["100"],
        "page": ["2"],
        "per_page": ["5"],
    }


def test_next_url_pagination_reads_everything_once(api: DemoClient) -> None:
    activities = api.dump("activities")
    assert api.read_next_urls("/activities", limit=97) == activities
    for contact_id in (1, 2, 3, 500, 1000):
        expected = [a for a in activities if a["contact_id"] == contact_id]
        assert api.read_next_urls(f"/contacts/{contact_id}/activities", limit=2) == expected
    r = api.get("/contacts/5000/activities")
    assert r.status_code == 404 and r.json()["error"] == "not_found"


def test_single_record_endpoints(api: DemoClient) -> None:
    contacts = api.dump("contacts")
    assert api.ok("/contacts/17") == contacts[16]
    assert api.ok("/accounts/3") == api.dump("accounts")[2]
    assert api.ok("/deals/500") == api.dump("deals")[-1]
    for path in ("/contacts/1001", "/accounts/101", "/deals/0"):
        r = api.get(path)
        assert r.status_code == 404 and r.json()["error"] == "not_found"


SINCE = "2024-06-01T00:00:00Z"


def _filter_cases() -> list[tuple[str, dict[str, str], Callable[[Record], bool]]]:
    since = _t(SINCE)
    return [
        ("accounts", {"updated_since": SINCE}, lambda r: _t(r["updated_at"]) >= since),
        ("accounts", {"id_min": "10", "id_max": "20"}, lambda r: 10 <= r["id"] <= 20),
        ("accounts", {"industry": "Finance,Retail"}, lambda r: r["industry"] in ("Finance", "Retail")),
        ("contacts", {"status": "churned,lead"}, lambda r: r["status"] in ("churned", "lead")),
        ("contacts", {"updated_since": SINCE}, lambda r: _t(r["updated_at"]) >= since),
        ("contacts", {"updated_before": SINCE}, lambda r: _t(r["updated_at"]) < since),
        ("contacts", {"created_after": SINCE}, lambda r: _t(r["created_at"]) > since),
        ("contacts", {"id_min": "900"}, lambda r: r["id"] >= 900),
        (
            "contacts",
            {"status": "customer", "updated_since": "2024-06-01T02:00:00+02:00", "id_max": "700"},
            lambda r: r["status"] == "customer" and _t(r["updated_at"]) >= since and r["id"] <= 700,
        ),
        ("deals", {"stage": "closed_won"}, lambda r: r["stage"] == "closed_won"),
        ("deals", {"updated_since": SINCE}, lambda r: _t(r["updated_at"]) >= since),
        (
            "deals",
            {"close_date_from": "2024-01-01", "close_date_to": "2024-03-31"},
            lambda r: r["close_date"] is not None and "2024-01-01" <= r["close_date"] <= "2024-03-31",
        ),
        ("deals", {"amount_min": "25000.50"}, lambda r: Decimal(r["amount"]) >= Decimal("25000.50")),
        (
            "activities",
            {"occurred_since": "2025-01-01T02:00:00+02:00"},
            lambda r: _t(r["occurred_at"]) >= _t("2025-01-01T00:00:00Z"),
        ),
    ]


@pytest.mark.parametrize(("entity", "params", "predicate"), _filter_cases())
def test_filters_match_the_dump(
    api: DemoClient, entity: str, params: dict[str, str], predicate: Callable[[Record], bool]
) -> None:
    everything = api.dump(entity)
    expected = [r for r in everything if predicate(r)]
    assert 0 < len(expected) < len(everything), "a useless filter case"
    readers = {
        "accounts": lambda: api.read_accounts(limit=13, **params),
        "contacts": lambda: api.read_contacts(page_size=61, **params),
        "deals": lambda: api.read_deals(per_page=29, **params),
        "activities": lambda: api.read_next_urls("/activities", limit=97, **params),
    }
    assert readers[entity]() == expected


def test_filtered_offset_pages_are_positions_in_the_filtered_list(api: DemoClient) -> None:
    expected = [a for a in api.dump("accounts") if a["industry"] == "Energy"]
    body = api.ok("/accounts", industry="Energy", offset=3, limit=4)
    assert body["total"] == len(expected) and body["data"] == expected[3:7]
    assert api.ok("/accounts", industry="Energy", offset=len(expected))["data"] == []


def test_repeated_and_spaced_filter_values(api: DemoClient) -> None:
    both = api.read_contacts(page_size=500, status=["lead", "churned"])
    assert both == api.read_contacts(page_size=500, status="lead, churned")
    # an unencoded "+" in a query string arrives as a space: still understood
    r = api.http.get(f"{api.srv.base_url}/contacts?updated_since=2024-06-01T02:00:00+02:00&page_size=1000")
    assert r.json()["results"] == api.read_contacts(page_size=1000, updated_since=SINCE)


@pytest.mark.parametrize(
    ("path", "params", "parameter"),
    [
        ("/accounts", {"limit": "abc"}, "limit"),
        ("/accounts", {"limit": "0"}, "limit"),
        ("/accounts", {"limit": "1001"}, "limit"),
        ("/accounts", {"offset": "-1"}, "offset"),
        ("/accounts", {"updated_since": "notadate"}, "updated_since"),
        ("/accounts", {"id_min": "1.5"}, "id_min"),
        ("/contacts", {"page_size": "5000"}, "page_size"),
        ("/contacts", {"cursor": "not-a-cursor!"}, "cursor"),
        ("/contacts", {"status": ","}, "status"),
        ("/contacts", {"created_after": "2024-02-30"}, "created_after"),
        ("/deals", {"page": "0"}, "page"),
        ("/deals", {"per_page": "501"}, "per_page"),
        ("/deals", {"close_date_from": "2024-13-01"}, "close_date_from"),
        ("/deals", {"amount_min": "lots"}, "amount_min"),
        ("/activities", {"page_token": "Zm9vOjE"}, "page_token"),
        ("/activities", {"limit": "1e3"}, "limit"),
        ("/contacts/1/activities", {"occurred_since": "yesterday"}, "occurred_since"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(
    api: DemoClient, path: str, params: dict[str, str], parameter: str
) -> None:
    r = api.get(path, **params)
    assert r.status_code == 400
    body = r.json()
    assert body["error"] == "bad_request" and body["parameter"] == parameter and parameter in body["message"]


def test_unknown_enum_values_match_nothing(api: DemoClient) -> None:
    assert api.get("/contacts", status="LEAD").json()["results"] == []
    both = api.get("/accounts", industry="Mining,Retail", limit="1000").json()["data"]
    assert both and {r["industry"] for r in both} == {"Retail"}


def test_unknown_paths_and_methods(api: DemoClient) -> None:
    r = api.get("/widgets")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = api.http.delete(f"{api.srv.base_url}/accounts")
    assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"


def test_cursor_neither_repeats_nor_skips_under_concurrent_writes(api: DemoClient) -> None:
    before = {c["id"] for c in api.dump("contacts")}
    seen: list[int] = []
    deleted: set[int] = set()
    deleted_unread: set[int] = set()
    cursor, page = None, 0
    while True:
        params: dict[str, Any] = {"page_size": 50}
        if cursor:
            params["cursor"] = cursor
        body = api.ok("/contacts", **params)
        seen += [c["id"] for c in body["results"]]
        cursor = body["meta"]["next_cursor"]
        if cursor is None:
            break
        page += 1
        last = seen[-1]
        # between pages: create, delete an unread and a read record, update unread ones
        r = api.http.post(f"{api.srv.base_url}/contacts", json={"email": f"new{page}@example.com"})
        assert r.status_code == 201
        for victim in (last + 7, last - 3):
            if victim in before and victim not in deleted:
                assert api.http.delete(f"{api.srv.base_url}/contacts/{victim}").status_code == 204
                deleted.add(victim)
                if victim > last:
                    deleted_unread.add(victim)
        api.admin("POST", "/mutate", {"entity": "contacts", "ids": [last + 1, last + 2]})
    assert len(seen) == len(set(seen))
    assert (before - deleted) <= set(seen)  # everything that existed throughout was read
    assert deleted_unread and not (set(seen) & deleted_unread)
    created = {c["id"] for c in api.dump("contacts")} - before
    assert created and created <= set(seen)  # appended at the end, so this read saw them


def test_next_pages_reflect_writes_made_after_the_previous_page(api: DemoClient) -> None:
    # the server precomputes a sequential reader's next page; a write in between must invalidate it
    first = api.ok("/contacts", page_size=100)
    hits = api.admin("GET", "/stats")["prefetch_hits"]
    patched = api.http.patch(f"{api.srv.base_url}/contacts/150", json={"status": "churned"}, timeout=10).json()
    second = api.ok("/contacts", page_size=100, cursor=first["meta"]["next_cursor"])
    assert second["results"][49] == patched
    third = api.ok("/contacts", page_size=100, cursor=second["meta"]["next_cursor"])
    assert [c["id"] for c in third["results"]] == list(range(201, 301))
    assert api.admin("GET", "/stats")["prefetch_hits"] > hits  # the unchanged page came from it
    api.ok("/accounts", limit=10)
    api.admin("POST", "/mutate", {"entity": "accounts", "ids": [15], "set": {"industry": "Media"}})
    assert api.ok("/accounts", offset=10, limit=10)["data"][4]["industry"] == "Media"


def test_offset_positions_are_stable_under_updates(api: DemoClient) -> None:
    first = api.ok("/accounts", limit=10)["data"]
    api.admin("POST", "/mutate", {"entity": "accounts", "count": 40})
    second = api.ok("/accounts", offset=10, limit=10)["data"]
    assert [a["id"] for a in first + second] == list(range(1, 21))


def test_dump_of_unknown_entity_is_404(api: DemoClient) -> None:
    assert requests.get(f"{api.srv.admin_url}/dump/widgets", timeout=10).status_code == 404
