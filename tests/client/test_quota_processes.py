"""Many processes, like many Lambdas, sharing one API quota through the DynamoDB bucket on moto's server.

Eight processes (spawned, not threads) each read their own id range of one entity through the client, against a
loopback API that enforces the quota itself (a token bucket, 429 when empty) and logs when every request arrived.
The API's own count of requests in any one-second window must stay within quota + burst, every process must read
its range completely (the union is exactly the source), and none may fail.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from shared.client import SaaSClient
from shared.predicates import Op, Predicate
from shared.quota.dynamodb import TABLE_ENV
from shared.spec import load_spec_text
from tests.support.aws import FAKE_ENV, moto_server
from tests.support.fake_saas import API_KEY, FakeSaaS, fake_spec_text, make_records, serve
from tests.support.quota_api import QuotaApi

PROCESSES = 8
PAGES_EACH = 25  # pages of 10 records
RATE, BURST = 40.0, 20
LATENCY_S = 0.02  # each process alone could ask ~50 requests/s: together 400/s against a quota of 40
TABLE = "saas-quota"


def read_range(task: dict[str, Any], barrier: Any, results: Any) -> None:
    """One 'Lambda': read ids lo..hi through the client, with the table given in the environment."""
    os.environ.update(FAKE_ENV)
    os.environ["AWS_ENDPOINT_URL"] = task["endpoint"]
    os.environ[TABLE_ENV] = task["table"]
    rate_limit = f"  rate_limit: {{requests_per_second: {RATE}, burst: {BURST}}}"
    spec = load_spec_text(fake_spec_text(task["base"], attempts=3, cap=2, api_extra=rate_limit), source="quota.yaml")
    client = SaaSClient(spec, {"api_key": API_KEY})
    plan = client.plan("items", [Predicate("id", Op.GE, task["lo"]), Predicate("id", Op.LE, task["hi"])])
    outcome: dict[str, Any] = {"lo": task["lo"], "ids": [], "throttled": 0, "requests": 0, "error": None}
    barrier.wait(60)
    try:
        for page in client.iter_pages(plan):
            outcome["ids"] += [r["id"] for r in page.records]
            outcome["throttled"] += page.stats.throttled
            outcome["requests"] += page.stats.requests
    except Exception as exc:  # reported to the parent, which fails the test with it
        outcome["error"] = f"{type(exc).__name__}: {exc}"
    limiter = client.transport.limiter
    assert limiter is not None
    outcome["sharing"] = limiter.sharing
    outcome["leases"] = limiter.leased.leases if limiter.leased else 0
    results.put(outcome)


@pytest.fixture(scope="module")
def quota_table() -> Iterator[str]:
    with moto_server() as endpoint:
        client = boto3.client(
            "dynamodb",
            endpoint_url=endpoint,
            region_name=FAKE_ENV["AWS_REGION"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield endpoint


def run_processes(base: str, endpoint: str, table: str) -> list[dict[str, Any]]:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    size = PAGES_EACH * 10
    workers = []
    for i in range(PROCESSES):
        task = {"base": base, "endpoint": endpoint, "table": table, "lo": 1 + i * size, "hi": (i + 1) * size}
        worker = ctx.Process(target=read_range, args=(task, barrier, results))
        worker.start()
        workers.append(worker)
    outcomes = []
    try:
        for _ in workers:
            outcomes.append(results.get(timeout=180))
    except queue.Empty:
        pytest.fail(f"only {len(outcomes)} of {PROCESSES} processes answered")
    finally:
        for worker in workers:
            worker.join(10)
            if worker.is_alive():
                worker.kill()
    return sorted(outcomes, key=lambda o: o["lo"])


def test_eight_processes_share_one_quota_through_the_table(quota_table: str) -> None:
    records = make_records(PROCESSES * PAGES_EACH * 10)
    api = QuotaApi(FakeSaaS(records), RATE, BURST, latency_s=LATENCY_S)
    with serve(api) as base:
        outcomes = run_processes(base, quota_table, TABLE)
    errors = [o["error"] for o in outcomes if o["error"]]
    assert not errors, errors
    assert all(o["sharing"] for o in outcomes), "every process must have used the table, not fallen back"
    # nothing lost, nothing duplicated: the union of the ranges is exactly the source
    read = [i for o in outcomes for i in o["ids"]]
    assert sorted(read) == [r["id"] for r in records]
    # the API's own count: never more than quota + burst in any one-second window
    busiest = api.busiest_window(1.0)
    assert busiest <= RATE + BURST, f"{busiest} requests in one second against a quota of {RATE:g} + {BURST}"
    assert max(api.per_second().values()) <= RATE + BURST
    # coordination costs well under one table call per request
    requests = sum(o["requests"] for o in outcomes)
    leases = sum(o["leases"] for o in outcomes)
    assert leases * 2 <= requests + PROCESSES, (leases, requests)
    assert api.throttled == sum(o["throttled"] for o in outcomes)


def test_without_the_table_each_process_backs_off_and_no_read_fails(quota_table: str) -> None:
    """The fallback (table unreachable): per-process AIMD alone, 429s retried within the time left, exact data."""
    records = make_records(PROCESSES * PAGES_EACH * 10)
    api = QuotaApi(FakeSaaS(records), RATE, BURST, latency_s=LATENCY_S, retry_after=None)
    with serve(api) as base:
        outcomes = run_processes(base, "http://127.0.0.1:9", TABLE)  # nothing listens there
    errors = [o["error"] for o in outcomes if o["error"]]
    assert not errors, errors
    assert not any(o["sharing"] for o in outcomes)
    assert sorted(i for o in outcomes for i in o["ids"]) == [r["id"] for r in records]
    assert api.throttled > 0  # without coordination the quota is found by hitting it
