"""The shared client against the demo CRM over real HTTP: every entity read completely, filters pushed
down give the same rows as local evaluation, child resources, writes, and resuming from tokens."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from demo_api.server import DemoServer
from shared.client import SaaSClient
from shared.predicates import Op, Predicate, matches
from shared.records import Extractor
from shared.spec import load_spec
from shared.splits import plan_splits

UTC = dt.UTC


@pytest.fixture(scope="module")
def server() -> Iterator[DemoServer]:
    with DemoServer(port=0, scale=0.02) as srv:
        yield srv


@pytest.fixture
def client(server: DemoServer) -> SaaSClient:
    return SaaSClient(load_spec("demo", base_url=server.base_url), {"api_key": server.api_key})


def typed(client: SaaSClient, entity: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    extractor = Extractor(client.entity(entity))
    return [extractor.typed_row(r) for r in records]


@pytest.mark.parametrize("entity", ["accounts", "contacts", "deals", "activities"])
def test_every_entity_reads_completely_and_types_cleanly(client: SaaSClient, server: DemoServer, entity: str) -> None:
    got = list(client.iter_records(client.plan(entity)))
    source = server.store.all_records(entity)
    counts = Counter(r["id"] for r in got)
    assert sorted(counts) == sorted(r["id"] for r in source)
    assert max(counts.values()) == 1
    rows = typed(client, entity, got)  # every value fits its declared type
    assert len(rows) == len(source)


@pytest.mark.parametrize(
    ("entity", "predicates"),
    [
        ("accounts", [Predicate("id", Op.BETWEEN, (10, 40)), Predicate("industry", Op.IN, ("Retail", "Technology"))]),
        ("accounts", [Predicate("updated_at", Op.GT, dt.datetime(2024, 1, 1, tzinfo=UTC))]),
        ("contacts", [Predicate("status", Op.EQ, "customer"), Predicate("id", Op.LT, 300)]),
        (
            "contacts",
            [
                Predicate("updated_at", Op.GE, dt.datetime(2023, 1, 1, tzinfo=UTC)),
                Predicate("updated_at", Op.LT, dt.datetime(2024, 1, 1, tzinfo=UTC)),
            ],
        ),
        ("contacts", [Predicate("phone", Op.IS_NULL)]),
        (
            "deals",
            [
                Predicate("stage", Op.IN, ("closed_won", "closed_lost")),
                Predicate("close_date", Op.LE, dt.date(2024, 6, 30)),
            ],
        ),
        ("activities", [Predicate("contact_id", Op.IN, (1, 2, 3, 99999)), Predicate("type", Op.EQ, "call")]),
    ],
)
def test_pushed_filters_give_the_same_rows_as_local_evaluation(
    client: SaaSClient, server: DemoServer, entity: str, predicates: list[Predicate]
) -> None:
    plan = client.plan(entity, predicates)
    got = [r for r in typed(client, entity, list(client.iter_records(plan))) if matches(r, plan.residual)]
    expected = [r for r in typed(client, entity, server.store.all_records(entity)) if matches(r, predicates)]
    assert sorted(r["id"] for r in got) == sorted(r["id"] for r in expected)
    assert expected or entity == "activities"


def test_pushdown_really_narrows_what_the_api_sends(client: SaaSClient, server: DemoServer) -> None:
    plan = client.plan("accounts", [Predicate("id", Op.LE, 5)])
    pages = list(client.iter_pages(plan))
    assert sum(len(p.records) for p in pages) == 5
    assert plan.residual == ()


def test_splits_partition_the_entity(client: SaaSClient, server: DemoServer) -> None:
    for entity in ("accounts", "contacts", "activities"):
        spec = client.entity(entity)
        splits = plan_splits(spec, parent_keys=lambda: [{"id": r["id"]} for r in server.store.all_records("contacts")])
        ids: Counter[int] = Counter()
        for split in splits:
            plan = client.plan(entity, split.predicates(spec))
            if split.parent_keys() is not None:
                plan = client.plan(
                    entity, [Predicate("contact_id", Op.IN, tuple(k["id"] for k in split.parent_keys()))]
                )
            rows = typed(client, entity, list(client.iter_records(plan)))
            ids.update(r["id"] for r in rows if matches(r, plan.residual))
        assert sorted(ids) == sorted(r["id"] for r in server.store.all_records(entity)), entity
        assert max(ids.values()) == 1


def test_child_entity_resumes_across_fresh_clients(server: DemoServer) -> None:
    spec = load_spec("demo", base_url=server.base_url)
    ids: list[int] = []
    token = None
    while True:
        client = SaaSClient(spec, {"api_key": server.api_key})
        page = client.fetch_page(client.plan("activities"), token, page_size=7)
        ids.extend(r["id"] for r in page.records[:5])
        token = page.token_after(5)
        if token is None:
            break
    assert sorted(ids) == sorted(r["id"] for r in server.store.all_records("activities"))
    assert len(ids) == len(set(ids))


def test_write_and_read_back(client: SaaSClient, server: DemoServer) -> None:
    created = client.write(
        "contacts", "create", {"email": "new.person@example.com", "first_name": "New", "status": "lead"}
    )
    assert created is not None and created["email"] == "new.person@example.com"
    updated = client.write("contacts", "update", {"id": created["id"], "status": "customer"})
    assert updated is not None and updated["status"] == "customer"
    assert client.get_record("contacts", {"id": created["id"]})["status"] == "customer"
    assert client.get_record("contacts", {"id": 10**9}) is None
    client.check_credentials()
