"""The bundled ``datasette`` spec against a real Datasette 0.65 (PyPI), a second API nobody here wrote, whose
conventions differ from json-server's: opaque keyset cursor tokens (``next`` -> ``_next``), a body with several
lists of objects (rows, suggested facets), ``column__op=value`` filters evaluated by SQLite, and projection by a
repeated ``_col`` parameter.

Every entity is read completely through the client and through both connectors' Lambda entry points (Athena's
whole SELECT sequence, AppFlow's paged QueryData) and compared with the SQLite tables; every declared filter is
pushed and compared with the same predicate evaluated locally; an AppFlow incremental flow runs windows before
and after records change in the database.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from appflow_connector import handler as appflow_handler
from appflow_connector.record_json import dumps_record
from shared.client import SaaSClient
from shared.predicates import Op, Predicate, matches
from shared.records import Extractor
from shared.spec import SourceSpec, load_spec
from tests.athena.connector.harness import SCHEMA, SPILL_BUCKET, Connector, expected_rows, result_rows
from tests.reliability.drivers import AppFlowRun
from tests.support.datasette_server import DatasetteProcess, execute, make_database, stamp, table

KEYS = {"customers": "id", "orders": "id", "products": "sku"}


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_database(tmp_path_factory.mktemp("datasette") / "shop.db")


@pytest.fixture(scope="module")
def datasette(db: Path) -> Iterator[str]:
    with DatasetteProcess(db) as base:
        yield base


@functools.cache
def spec_for(base: str) -> SourceSpec:
    return load_spec("datasette", base_url=base)


def client_for(base: str) -> SaaSClient:
    return SaaSClient(spec_for(base), {})


def typed(base: str, entity: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    extractor = Extractor(spec_for(base).entity(entity))
    return [extractor.typed_row(r) for r in rows]


def ordered(rows: list[dict[str, Any]], entity: str) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: r[KEYS[entity]])


# -- complete reads -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("entity", sorted(KEYS))
@pytest.mark.parametrize("page_size", [7, 100, 1000])
def test_every_entity_reads_completely_and_equals_the_table(
    datasette: str, db: Path, entity: str, page_size: int
) -> None:
    client = client_for(datasette)
    got = typed(datasette, entity, list(client.iter_records(client.plan(entity), page_size=page_size)))
    assert got == typed(datasette, entity, table(db, entity))
    assert len(got) > 50


def test_the_cursor_is_an_opaque_token_that_carries_text_keys(datasette: str, db: Path) -> None:
    """Product SKUs hold commas, slashes, spaces, '~', '%' and non-ASCII: the keyset token carries them intact."""
    client = client_for(datasette)
    pages = list(client.iter_pages(client.plan("products"), page_size=4))
    assert len(pages) >= 19
    skus = [r["sku"] for p in pages for r in p.records]
    assert skus == [r["sku"] for r in table(db, "products")]
    assert any("," in s for s in skus) and any("/" in s for s in skus) and any("É" in s for s in skus)


def test_projection_sends_a_repeated_parameter_and_the_api_honours_it(datasette: str, db: Path) -> None:
    client = client_for(datasette)
    plan = client.plan("customers", (), ["name", "country"])
    assert [p for p in plan.params if p[0] == "_col"] == [("_col", "country"), ("_col", "id"), ("_col", "name")]
    records = list(client.iter_records(plan, page_size=50))
    assert {frozenset(r) for r in records} == {frozenset({"id", "name", "country"})}  # nothing else came back
    assert [(r["id"], r["name"], r["country"]) for r in records] == [
        (r["id"], r["name"], r["country"]) for r in table(db, "customers")
    ]


# -- both connectors ----------------------------------------------------------------------------------------
class _NoSecrets:
    def get(self, secret_arn: str, *, max_age_s: int) -> dict[str, str]:
        return {}

    def invalidate(self, secret_arn: str) -> None:
        return None


@pytest.fixture
def connectors(monkeypatch: pytest.MonkeyPatch, aws: str, datasette: str) -> Iterator[tuple[Connector, AppFlowRun]]:
    import boto3

    from athena_connector.runtime import reset_runtime

    for key in ("SAAS_SECRET_ARN", "SAAS_CREDENTIALS", "SAAS_ALLOWED_BASE_URLS", "spill_prefix", "schema_name"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("SAAS_SPEC", "datasette")
    monkeypatch.setenv("SAAS_BASE_URL", datasette)
    monkeypatch.setenv("spill_bucket", SPILL_BUCKET)
    monkeypatch.setenv("schema_name", SCHEMA)  # the harness's table names
    monkeypatch.setattr(appflow_handler.HANDLER.runtime, "secrets", _NoSecrets())
    s3 = boto3.client("s3")
    if SPILL_BUCKET not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket=SPILL_BUCKET)
    reset_runtime()
    yield Connector(None, monkeypatch), AppFlowRun(spec_for(datasette))
    reset_runtime()


def appflow_rows(run: AppFlowRun, entity: str, **kwargs: Any) -> list[dict[str, Any]]:
    """Every record of a paged QueryData run (AppFlowRun.read sorts by ``id``, which products lack)."""
    rows: list[dict[str, Any]] = []
    token = None
    size = kwargs.pop("max_results", 60)
    for _ in range(2000):
        event = run.event(entity, token=token, max_results=size, **kwargs)
        event["connectorContext"]["credentials"]["authenticationType"] = "CustomAuth"  # auth: none
        response = run.call(event)
        assert response["isSuccess"], response.get("errorDetails")
        rows += [json.loads(r) for r in response["records"]]
        token = response["nextToken"]
        if token is None:
            return ordered(rows, entity)
    raise AssertionError("no end")


def appflow_expected(base: str, entity: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    spec = spec_for(base).entity(entity)
    names = list(spec.field_names)
    extractor = Extractor(spec, names)
    return ordered([json.loads(dumps_record(extractor.typed_row(r), names)) for r in records], entity)


@pytest.mark.parametrize("entity", sorted(KEYS))
def test_both_connectors_read_every_entity_completely(
    connectors: tuple[Connector, AppFlowRun], datasette: str, db: Path, entity: str
) -> None:
    athena, appflow = connectors
    source = table(db, entity)
    spec = spec_for(datasette).entity(entity)
    result = athena.query(entity)
    assert ordered(result_rows(result.table), entity) == ordered(
        expected_rows(spec, source, list(spec.field_names)), entity
    )
    assert appflow_rows(appflow, entity) == appflow_expected(datasette, entity, source)


APPFLOW_FILTERS = [
    ("customers", "country in ('PT', 'JP') and balance >= 100", lambda r: r["country"] in ("PT", "JP")
     and r["balance"] is not None and r["balance"] >= 100),
    ("orders", "status = 'paid' and quantity between 3 and 7", lambda r: r["status"] == "paid"
     and 3 <= r["quantity"] <= 7),
    ("products", "stock < 10", lambda r: r["stock"] < 10),
]  # fmt: skip


@pytest.mark.parametrize(("entity", "expression", "keep"), APPFLOW_FILTERS, ids=[c[1] for c in APPFLOW_FILTERS])
def test_appflow_filter_expressions_are_pushed_and_exact(
    connectors: tuple[Connector, AppFlowRun], datasette: str, db: Path, entity: str, expression: str, keep: Any
) -> None:
    _, appflow = connectors
    source = [r for r in table(db, entity) if keep(r)]
    assert 0 < len(source) < len(table(db, entity))
    assert appflow_rows(appflow, entity, filter_expression=expression) == appflow_expected(datasette, entity, source)


# -- every declared filter ----------------------------------------------------------------------------------
def P(field: str, op: str, value: Any = None) -> Predicate:
    return Predicate(field, Op(op), value)


T = dt.datetime(2023, 9, 1, 12, 0, 0, 500000, tzinfo=dt.UTC)  # with milliseconds, on purpose
FILTER_CASES: list[tuple[str, list[Predicate]]] = [
    ("customers", [P("id", "eq", 42)]),
    ("customers", [P("id", "in", (3, 14, 15, 92, 199, 5000))]),
    ("customers", [P("id", "gt", 20), P("id", "lt", 80)]),
    ("customers", [P("id", "ge", 20), P("id", "le", 80)]),
    ("customers", [P("country", "eq", "KE")]),
    ("customers", [P("country", "ne", "KE")]),
    ("customers", [P("country", "in", ("PT", "BR"))]),
    ("customers", [P("email", "is_null")]),
    ("customers", [P("email", "not_null"), P("id", "le", 50)]),
    ("customers", [P("balance", "gt", 1000.5), P("balance", "lt", 4000)]),
    ("customers", [P("balance", "ge", 0), P("balance", "le", 250.75)]),
    ("customers", [P("signed_up_on", "ge", dt.date(2023, 6, 1)), P("signed_up_on", "le", dt.date(2023, 12, 31))]),
    ("customers", [P("updated_at", "ge", T)]),
    ("orders", [P("id", "between", (100, 180))]),
    ("orders", [P("customer_id", "eq", 7)]),
    ("orders", [P("customer_id", "in", (1, 2, 3, 4, 5, 6, 7, 8, 9, 10))]),
    ("orders", [P("status", "eq", "shipped")]),
    ("orders", [P("status", "ne", "cancelled")]),
    ("orders", [P("status", "in", ("new", "paid"))]),
    ("orders", [P("quantity", "gt", 3), P("quantity", "lt", 9)]),
    ("orders", [P("quantity", "ge", 10), P("quantity", "le", 11)]),
    ("orders", [P("shipped_on", "is_null")]),
    ("orders", [P("shipped_on", "not_null"), P("shipped_on", "ge", dt.date(2024, 1, 1))]),
    ("orders", [P("shipped_on", "le", dt.date(2023, 6, 30))]),
    ("orders", [P("updated_at", "ge", T), P("status", "eq", "paid")]),
    ("products", [P("sku", "eq", "A,1-007")]),
    ("products", [P("price", "ge", 100.0), P("price", "le", 300.0)]),
    ("products", [P("stock", "eq", 5)]),
    ("products", [P("stock", "gt", 10), P("stock", "lt", 40)]),
]


def declared_filters(base: str) -> set[tuple[str, str, Op]]:
    spec = spec_for(base)
    return {(e.name, f.name, op) for e in spec.entities for f in e.fields for op in f.filters}


def test_the_cases_push_every_declared_filter(datasette: str) -> None:
    used = {(entity, p.field, p.op) for entity, ps in FILTER_CASES for p in ps}
    used |= {(e, f, Op.GE) for e, f, op in used if op is Op.BETWEEN} | {
        (e, f, Op.LE) for e, f, op in used if op is Op.BETWEEN
    }
    assert declared_filters(datasette) <= used, declared_filters(datasette) - used


@pytest.mark.parametrize(
    ("entity", "predicates"), FILTER_CASES, ids=[f"{e}:{' & '.join(map(str, ps))}" for e, ps in FILTER_CASES]
)
def test_pushed_filters_give_what_local_evaluation_gives(
    datasette: str, db: Path, entity: str, predicates: list[Predicate]
) -> None:
    client = client_for(datasette)
    plan = client.plan(entity, predicates)
    assert set(plan.pushed) == set(predicates)  # the spec declares a parameter for every one of them
    got = typed(datasette, entity, list(client.iter_records(plan, page_size=40)))
    all_rows = typed(datasette, entity, table(db, entity))
    expected = [row for row in all_rows if matches(row, predicates)]
    assert expected, "a case that matches nothing proves little"
    assert len(expected) < len(all_rows)
    assert [row for row in got if matches(row, plan.residual)] == expected
    assert len(got) < len(all_rows)  # the server narrowed the read
    if not any(p.field == "updated_at" for p in predicates):
        assert plan.residual == () and got == expected  # SQLite alone applied the filter


# -- incremental ----------------------------------------------------------------------------------------------
def test_an_incremental_flow_after_records_change(
    connectors: tuple[Connector, AppFlowRun], datasette: str, db: Path
) -> None:
    """Window 1 ends at t1; then orders change (some read already, some not) and new ones arrive, stamped after
    t1. Window 2 [t1, t2) delivers exactly the changed and new orders, as they are now; together the windows
    miss nothing."""
    _, appflow = connectors
    before = table(db, "orders")
    t1 = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
    lo = "2000-01-01T00:00:00Z"
    first = appflow_rows(appflow, "orders", filter_expression=f"updated_at between {lo} and {stamp(t1)}")
    assert [r["id"] for r in first] == [r["id"] for r in before if r["updated_at"] < stamp(t1)]
    changed = [5, 77, 200, 333]
    try:
        for i, order_id in enumerate(changed):
            execute(db, "UPDATE orders SET status = 'refunded', amount = '1.05', updated_at = ? WHERE id = ?",
                    (stamp(t1 + dt.timedelta(minutes=i)), order_id))  # fmt: skip
        execute(db, "INSERT INTO orders VALUES (9001, 3, 'new', 1, '99.99', ?, NULL, ?)",
                (stamp(t1), stamp(t1 + dt.timedelta(hours=1))))  # fmt: skip
        t2 = t1 + dt.timedelta(days=1)
        second = appflow_rows(appflow, "orders", filter_expression=f"updated_at between {stamp(t1)} and {stamp(t2)}")
        now = {r["id"]: r for r in table(db, "orders")}
        wanted = sorted({*changed, 9001} | {r["id"] for r in before if stamp(t1) <= r["updated_at"] < stamp(t2)})
        assert [r["id"] for r in second] == wanted
        assert all(r["status"] == "refunded" and Decimal(str(r["amount"])) == Decimal("1.05")
                   for r in second if r["id"] in changed)  # fmt: skip
        assert second == appflow_expected(datasette, "orders", [now[i] for i in wanted])
    finally:
        execute(db, "DELETE FROM orders WHERE id = 9001")
        for row in before:
            if row["id"] in changed:
                execute(db, "UPDATE orders SET status = ?, amount = ?, updated_at = ? WHERE id = ?",
                        (row["status"], row["amount"], row["updated_at"], row["id"]))  # fmt: skip
    assert table(db, "orders") == before
