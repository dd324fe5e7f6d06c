"""Early stop: a split read for a query Athena has finished stops paging the API and answers without error.

The stand-in for Athena is moto's server (``GetQueryExecution`` over boto3 with ``AWS_ENDPOINT_URL``): its
query executions are held RUNNING (moto's state manager, manual progression) until the test cancels one with
``StopQueryExecution``. The API is the demo API with latency, so reading the whole split takes far longer
than the check interval.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest
import requests
import yaml

from athena_connector.query_status import STATUS, QueryStatus
from athena_connector.wire import Constraints
from demo_api.server import DemoServer
from tests.athena.connector.harness import SPILL_BUCKET, Connector

INTERVAL = 0.5
LATENCY_MS = 60
PAGE = 20
CONTACTS = 2000  # 100 pages of 20: about 6 s at 60 ms a page


@pytest.fixture(scope="module")
def slow_server() -> Iterator[DemoServer]:
    with DemoServer(port=0, rows={"accounts": 10, "contacts": CONTACTS, "deals": 10}, latency_ms=LATENCY_MS) as srv:
        yield srv


@pytest.fixture
def held_queries(aws: str) -> Iterator[Any]:
    """An Athena client on moto whose query executions stay RUNNING until stopped."""
    import boto3

    transition = {"model_name": "athena::execution", "transition": {"progression": "manual", "times": 10**9}}
    requests.post(f"{aws}/moto-api/state-manager/set-transition", json=transition, timeout=10).raise_for_status()
    yield boto3.client("athena")
    requests.post(
        f"{aws}/moto-api/state-manager/unset-transition", json={"model_name": "athena::execution"}, timeout=10
    ).raise_for_status()


@pytest.fixture
def slow(monkeypatch: pytest.MonkeyPatch, aws: str, slow_server: DemoServer, tmp_path: Any) -> Iterator[Connector]:
    """The connector on the slow API, contacts read as one split in pages of 20, status checked every 0.5 s."""
    from importlib import resources

    import boto3

    from athena_connector.runtime import reset_runtime

    data = yaml.safe_load((resources.files("shared.specs") / "demo.yaml").read_text())
    contacts = next(e for e in data["entities"] if e["name"] == "contacts")
    for key in ("splits", "count"):
        contacts.pop(key)
    contacts["pagination"]["page_size"] = PAGE
    spec = tmp_path / "one_split.yaml"
    spec.write_text(yaml.safe_dump(data, sort_keys=False))
    for key in ("spill_prefix", "schema_name", "max_rows_per_split", "SAAS_SECRET_ARN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("SAAS_SPEC", str(spec))
    monkeypatch.setenv("SAAS_BASE_URL", slow_server.base_url)
    monkeypatch.setenv("SAAS_API_KEY", slow_server.api_key)
    monkeypatch.setenv("spill_bucket", SPILL_BUCKET)
    monkeypatch.setenv("query_status_interval_seconds", str(INTERVAL))
    s3 = boto3.client("s3")
    if SPILL_BUCKET not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket=SPILL_BUCKET)
    STATUS.reset()
    reset_runtime()
    yield Connector(slow_server, monkeypatch)
    STATUS.reset()
    reset_runtime()


def start_query(athena: Any) -> str:
    out = athena.start_query_execution(
        QueryString="SELECT * FROM contacts", ResultConfiguration={"OutputLocation": "s3://athena-results/"}
    )
    query_id = out["QueryExecutionId"]
    assert athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]["State"] in (
        "QUEUED",
        "RUNNING",
    )
    return str(query_id)


def read_contacts(c: Connector, query_id: str) -> tuple[pa.Table, float]:
    schema = pa.schema([c.table_schema("contacts").field("id")])
    split = c.splits("contacts", query_id=query_id)[0][0]
    started = time.monotonic()
    table, _ = c.read_split("contacts", split, schema, Constraints(), query_id=query_id)
    return table, time.monotonic() - started


def test_a_long_read_stops_soon_after_the_query_is_cancelled(slow: Connector, held_queries: Any) -> None:
    query_id = start_query(held_queries)
    result: dict[str, Any] = {}

    def read() -> None:
        result["table"], result["seconds"] = read_contacts(slow, query_id)
        result["ended"] = time.monotonic()

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(1.5)  # a few pages in, a few status checks made (RUNNING)
    held_queries.stop_query_execution(QueryExecutionId=query_id)
    stopped = time.monotonic()
    reader.join(timeout=60)
    assert not reader.is_alive()
    assert "table" in result, "the read must answer, without error"
    after_stop = result["ended"] - stopped
    # within the check interval, plus the page in flight and the response (generous bound for a busy machine)
    assert after_stop < INTERVAL + 6 * LATENCY_MS / 1000 + 1.5, after_stop
    assert 0 < result["table"].num_rows < CONTACTS  # some pages read, then stopped
    ids = result["table"].column("id").to_pylist()
    assert len(set(ids)) == len(ids)
    assert STATUS.calls <= result["seconds"] / INTERVAL + 2  # no more often than the interval


def test_a_running_query_reads_everything(slow: Connector, held_queries: Any) -> None:
    slow.setenv("query_status_interval_seconds", "0.3")
    slow_server = slow.server
    slow_server.configure(latency_ms=5)
    try:
        table, seconds = read_contacts(slow, start_query(held_queries))
    finally:
        slow_server.configure(latency_ms=LATENCY_MS)
    assert sorted(table.column("id").to_pylist()) == list(range(1, CONTACTS + 1))
    assert STATUS.calls >= 1 and seconds > 0.3  # the checks happened, and did not stop a running query


def test_a_failing_status_call_never_fails_the_read(
    slow: Connector, aws: str, caplog: pytest.LogCaptureFixture
) -> None:
    """An id Athena does not know (moto answers an error): logged once, and the read goes to its end."""
    slow.server.configure(latency_ms=5)
    caplog.set_level(logging.WARNING, logger="athena_connector.query_status")
    try:
        table, _ = read_contacts(slow, "no-such-query-id")
    finally:
        slow.server.configure(latency_ms=LATENCY_MS)
    assert table.num_rows == CONTACTS
    warnings = [r for r in caplog.records if "could not check the state" in r.getMessage()]
    assert len(warnings) == 1


class _Counting:
    """A stand-in Athena client: counts calls, answers RUNNING, slowly."""

    def __init__(self) -> None:
        self.calls = 0
        self.lock = threading.Lock()

    def get_query_execution(self, QueryExecutionId: str) -> dict[str, Any]:
        with self.lock:
            self.calls += 1
        time.sleep(0.05)
        return {"QueryExecution": {"Status": {"State": "RUNNING"}}}


def test_threads_share_one_call_per_interval_per_query() -> None:
    client = _Counting()
    status = QueryStatus(lambda: client)
    started = time.monotonic() - 1.0  # every read has run longer than the interval
    stop = time.monotonic() + 1.0

    def poll() -> None:
        while time.monotonic() < stop:
            assert status.finished("q-1", read_started=started, interval=0.25) is False
            time.sleep(0.001)

    threads = [threading.Thread(target=poll) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 3 <= client.calls <= 5  # one call per 0.25 s over 1 s, whatever the number of threads
    assert status.finished("q-2", read_started=time.monotonic(), interval=0.25) is False
    assert client.calls <= 5  # a read younger than the interval makes no call
