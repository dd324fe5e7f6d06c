"""Every QueryData answer stays under the byte budget (well below Lambda's 6 MB) and the time budget
(well below AppFlow's 30 s), and its nextToken resumes exactly where it stopped."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from appflow_connector import budget
from appflow_connector.handler import ConnectorHandler
from demo_api.server import DemoServer
from tests.appflow.conftest import SIM_ARN, FakeSecrets, dump
from tests.appflow.orders_api import ORDERS_KEY, OrdersApp, serve_orders
from tests.appflow.simulator import AppFlow, FakeContext


@pytest.fixture
def blobs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[OrdersApp], AppFlow]]:
    servers = []

    def start(app: OrdersApp) -> AppFlow:
        ctx = serve_orders(tmp_path, app)
        servers.append(ctx)
        _app, base, spec = ctx.__enter__()
        monkeypatch.setenv("SAAS_SPEC", str(spec))
        monkeypatch.setenv("SAAS_BASE_URL", base)
        return AppFlow(ConnectorHandler(FakeSecrets({SIM_ARN: {"apiKey": ORDERS_KEY}})))

    yield start
    for ctx in servers:
        ctx.__exit__(None, None, None)


def test_byte_budget_splits_large_pages(blobs: Callable[[OrdersApp], AppFlow]) -> None:
    sim = blobs(OrdersApp(blob_count=30, blob_bytes=300_000))  # 9 MB of records in all
    run = sim.query_all("blobs", max_results=None)
    assert sorted(run.ids()) == list(range(1, 31))
    assert len(run.pages) >= 3 and all(n > 0 for n in run.pages)
    assert all(n * 300_000 < budget.MAX_RESPONSE_BYTES for n in run.pages)


def test_escaping_counts_towards_the_budget(blobs: Callable[[OrdersApp], AppFlow]) -> None:
    app = OrdersApp(blob_count=12, blob_bytes=200_000)
    for blob in app.blobs:
        blob["payload"] = '"\\' * 100_000  # doubles in size once the record string is embedded
    sim = blobs(app)
    run = sim.query_all("blobs", max_results=None)  # check_response measures json.dumps(response)
    assert sorted(run.ids()) == list(range(1, 13)) and len(run.pages) >= 2


def test_one_record_over_the_budget_is_a_clear_error(blobs: Callable[[OrdersApp], AppFlow]) -> None:
    sim = blobs(OrdersApp(blob_count=2, blob_bytes=budget.MAX_RESPONSE_BYTES + 10))
    response = sim.query_page("blobs", max_results=10)
    err = response["errorDetails"]
    assert err["errorCode"] == "InvalidArgument"
    assert "blobs" in err["errorMessage"] and "id=1" in err["errorMessage"] and "payload" not in err["errorMessage"]
    fine = sim.query_page("blobs", max_results=10, fields=["id"])  # deselecting the large field works
    assert [json.loads(r)["id"] for r in fine["records"]] == [1, 2]


def test_time_budget_stops_between_pages_and_resumes_exactly(
    fresh_server: DemoServer, appflow_for: Callable[..., AppFlow]
) -> None:
    sim = appflow_for(fresh_server, flow_settings={"page_size": "5"})
    sim.describe_entity("accounts")
    fresh_server.configure(latency_ms=150)
    try:
        started = time.monotonic()
        first = sim.query_page("accounts", max_results=1000, budget_s=budget.LAMBDA_MARGIN_S + 1.0)
        elapsed = time.monotonic() - started
        assert first["isSuccess"] and first["nextToken"] is not None
        assert 0 < len(first["records"]) < 60
        assert elapsed < 1.0 + 0.5
        run = sim.query_all("accounts", max_results=1000, budget_s=budget.LAMBDA_MARGIN_S + 1.0)
    finally:
        fresh_server.configure(latency_ms=0)
    assert len(run.pages) > 2
    assert sorted(run.ids()) == sorted(r["id"] for r in dump(fresh_server, "accounts"))


def test_a_selective_filter_reads_on_instead_of_returning_empty_pages(
    small_server: DemoServer, appflow_for: Callable[..., AppFlow]
) -> None:
    sim = appflow_for(small_server, flow_settings={"page_size": "2"})
    sim.describe_entity("contacts")
    last = max(r["id"] for r in dump(small_server, "contacts"))
    run = sim.query_all("contacts", max_results=100, filter_expression=f"first_name != 'zz' and id >= {last}")
    assert run.ids() == [last] and run.pages == [1]  # one call read every page
    nothing = sim.query_all("contacts", max_results=100, filter_expression="email contains 'no-such-address'")
    assert nothing.records == [] and nothing.pages == [0]


def test_deadline_sources() -> None:
    plain = budget.Invocation().deadline(budget.RECORD_TIME_BUDGET_S).remaining()
    assert budget.RECORD_TIME_BUDGET_S - 1 < plain <= budget.RECORD_TIME_BUDGET_S
    short = budget.Invocation(context=FakeContext(5.0)).deadline(budget.RECORD_TIME_BUDGET_S).remaining()
    assert 5.0 - budget.LAMBDA_MARGIN_S - 0.5 < short <= 5.0 - budget.LAMBDA_MARGIN_S
    assert budget.RECORD_TIME_BUDGET_S < 30 and budget.METADATA_TIME_BUDGET_S < 10
    assert budget.MAX_RESPONSE_BYTES < 6 * 1024 * 1024 * 0.7
