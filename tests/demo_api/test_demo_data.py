"""Generated data: deterministic, realistic shapes, consistent references."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import requests

from demo_api import DemoApp, DemoServer

if TYPE_CHECKING:
    from conftest import DemoClient

TS_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
TS_ANY = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MONEY = re.compile(r"^-?\d{1,10}\.\d{2}$")
WINDOW = (datetime(2021, 1, 1, tzinfo=UTC), datetime(2025, 6, 30, 23, 59, 59, tzinfo=UTC))


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _in_window(value: str) -> bool:
    return WINDOW[0] <= _ts(value) <= WINDOW[1]


def _null_share(records: list[dict[str, Any]], field: str) -> float:
    return sum(r[field] is None for r in records) / len(records)


def test_same_seed_gives_byte_identical_data_and_other_seeds_differ() -> None:
    def dumps(seed: int) -> dict[str, bytes]:
        with DemoServer(port=0, scale=0.02, seed=seed) as srv:
            return {
                e: requests.get(f"{srv.admin_url}/dump/{e}", timeout=30).content
                for e in ("accounts", "contacts", "deals", "activities")
            }

    first, again, other = dumps(7), dumps(7), dumps(8)
    assert first == again
    assert all(first[e] != other[e] for e in first)


def test_ids_are_dense_and_ordered(api: DemoClient) -> None:
    for entity, n in (("accounts", 100), ("contacts", 1000), ("deals", 500)):
        assert [r["id"] for r in api.dump(entity)] == list(range(1, n + 1))
    activity_ids = [a["id"] for a in api.dump("activities")]
    assert activity_ids == sorted(set(activity_ids))
    assert 1500 < len(activity_ids) < 3500  # ~2.5 per contact


def test_account_fields_and_null_rates() -> None:
    accounts = DemoApp(rows={"accounts": 2000}).store.all_records("accounts")
    industries = {a["industry"] for a in accounts}
    assert 6 <= len(industries) <= 10
    for a in accounts:
        assert isinstance(a["name"], str) and a["name"]
        assert a["employees"] is None or (isinstance(a["employees"], int) and 0 < a["employees"] < 2**31)
        assert a["annual_revenue"] is None or (MONEY.match(a["annual_revenue"]) and len(a["annual_revenue"]) <= 13)
        assert isinstance(a["is_active"], bool)
        assert a["founded_on"] is None or date.fromisoformat(a["founded_on"])
        assert a["rating"] is None or isinstance(a["rating"], float)
        assert TS_Z.match(a["created_at"]) and TS_Z.match(a["updated_at"])
        assert _in_window(a["created_at"]) and a["created_at"] <= a["updated_at"] and _in_window(a["updated_at"])
        assert a["address"] is None or set(a["address"]) == {"street", "city", "country", "postal_code"}
        assert isinstance(a["tags"], list) and all(isinstance(t, str) for t in a["tags"])
        assert isinstance(a["metadata"], dict)
    for field in ("employees", "annual_revenue", "founded_on", "rating", "address"):
        assert 0.04 <= _null_share(accounts, field) <= 0.16, field
    postal = [a["address"]["postal_code"] for a in accounts if a["address"]]
    assert any(p is None for p in postal) and any(p and p.startswith("0") for p in postal)
    assert len({tuple(sorted(a["metadata"])) for a in accounts}) > 10  # keys vary
    assert any(a["tags"] == [] for a in accounts)


def test_contact_fields(api: DemoClient) -> None:
    contacts = api.dump("contacts")
    for c in contacts:
        assert 1 <= c["account_id"] <= 100
        assert "@" in c["email"] and c["email"].isascii()
        assert c["status"] in {"lead", "prospect", "customer", "churned"}
        assert isinstance(c["score"], float) and 0 <= c["score"] <= 100
        assert c["lifetime_value"] is None or MONEY.match(c["lifetime_value"])
        assert c["birthday"] is None or DATE.match(c["birthday"])
        assert isinstance(c["opt_in"], bool)
        assert _in_window(c["created_at"]) and c["created_at"] <= c["updated_at"]
    for field in ("phone", "lifetime_value", "birthday", "address"):
        assert 0.04 <= _null_share(contacts, field) <= 0.17, field
    assert {c["status"] for c in contacts} == {"lead", "prospect", "customer", "churned"}
    assert any(not c["first_name"].isascii() for c in contacts)  # UTF-8 matters


def test_deals_are_internally_consistent(api: DemoClient) -> None:
    contacts = {c["id"]: c for c in api.dump("contacts")}
    deals = api.dump("deals")
    for d in deals:
        assert MONEY.match(d["amount"]) and re.fullmatch(r"[A-Z]{3}", d["currency"])
        assert 0 <= d["probability"] <= 1
        assert d["close_date"] is None or DATE.match(d["close_date"])
        if d["line_items"]:
            total = sum(Decimal(li["unit_price"]) * li["quantity"] for li in d["line_items"])
            assert Decimal(d["amount"]) == total
        if d["contact_id"] is not None:
            assert d["account_id"] == contacts[d["contact_id"]]["account_id"]
        assert d["custom_fields"] is None or isinstance(d["custom_fields"], dict)
    assert len({d["stage"] for d in deals}) == 6
    assert 0.04 <= _null_share(deals, "contact_id") <= 0.16
    assert any(d["custom_fields"] is None for d in deals)


def test_activities_mix_utc_and_offset_timestamps(api: DemoClient) -> None:
    contacts = {c["id"]: c for c in api.dump("contacts")}
    activities = api.dump("activities")
    suffixes = {a["occurred_at"][-6:] if a["occurred_at"][-6] in "+-" else "Z" for a in activities}
    assert "Z" in suffixes and len(suffixes) >= 4
    for a in activities:
        assert TS_ANY.match(a["occurred_at"])
        occurred = _ts(a["occurred_at"])
        assert occurred.utcoffset() is not None
        assert _ts(contacts[a["contact_id"]]["created_at"]) <= occurred <= WINDOW[1]
        assert a["type"] in {"call", "email", "meeting", "note"}
        assert a["duration_minutes"] is None or isinstance(a["duration_minutes"], int)
        assert isinstance(a["participants"], list) and isinstance(a["details"], dict)
    per_contact = [sum(1 for a in activities if a["contact_id"] == c) for c in range(1, 51)]
    assert min(per_contact) == 0 and max(per_contact) <= 5


def test_bodies_are_utf8_json(api: DemoClient) -> None:
    r = api.get("/contacts", page_size=1000)
    assert r.headers["Content-Type"].startswith("application/json")
    raw = r.content
    assert not raw.isascii()  # real multi-byte UTF-8, not \\u escapes
    raw.decode("utf-8")
