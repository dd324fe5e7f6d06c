"""Throttling is back-pressure, not failure, through both Lambda entry points.

A 429 storm longer than ``retry.max_attempts`` (the fast spec allows 4 attempts; the storms here answer 8 and 12
429s in a row), with ``Retry-After`` in seconds, as an HTTP date, or absent: no read fails while time remains, and
the rows are exactly the source's. When the invocation's time runs out first, the error is the throttling one
(Athena's ``FederationThrottleException``, so Athena retries the split; AppFlow's ``RateLimitExceeded``) and says
how many 429s there were and how long the read waited.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from demo_api.server import DemoServer
from tests.athena.connector.harness import FakeContext
from tests.reliability import drivers

RETRY_AFTER = {
    "seconds": {"retry_after": 1},
    "http-date": {"retry_after": 1, "retry_after_date": True},
    "absent": {"retry_after": None},
}


def storm(entity: str, variant: str, count: int | None, after: int = 1) -> dict[str, Any]:
    return {"kind": "rate_limit", "entity": entity, "after": after, "count": count, **RETRY_AFTER[variant]}


@pytest.mark.parametrize("variant", sorted(RETRY_AFTER))
@pytest.mark.parametrize("entity", ["contacts", "deals"])
def test_a_storm_longer_than_max_attempts_is_waited_out_by_athena(
    variant: str, entity: str, athena: drivers.Athena, server: DemoServer
) -> None:
    source = server.store.all_records(entity)
    server.set_faults([storm(entity, variant, 8), storm(entity, variant, 12, after=3)])
    outcome = athena.read(entity)
    assert outcome.ok, f"{outcome.error_type}: {outcome.message}"
    assert outcome.rows == athena.expected(entity, source)
    assert server.app.stats.snapshot()["statuses"].get("429", 0) >= 20


@pytest.mark.parametrize("variant", sorted(RETRY_AFTER))
@pytest.mark.parametrize("entity", ["accounts", "activities"])
def test_a_storm_longer_than_max_attempts_is_waited_out_by_appflow(
    variant: str, entity: str, appflow: drivers.AppFlowRun, server: DemoServer
) -> None:
    source = server.store.all_records(entity)
    server.set_faults([storm(entity, variant, 8), storm(entity, variant, 12, after=3)])
    outcome = appflow.read(entity, max_results=20)
    assert outcome.ok, f"{outcome.error_type}: {outcome.message}"
    assert outcome.rows == appflow.expected(entity, source)


def _says_it_was_throttled(message: str) -> None:
    assert "kept answering 429" in message, message
    found = re.search(r"(\d+) responses 429 after (\d+\.\d)s of waiting", message)
    assert found and int(found[1]) >= 3 and float(found[2]) > 0, message
    assert "would pass the invocation's deadline" in message
    assert drivers.API_KEY not in message


@pytest.mark.parametrize("variant", sorted(RETRY_AFTER))
def test_when_time_runs_out_athena_gets_its_throttling_error(
    variant: str, athena: drivers.Athena, server: DemoServer
) -> None:
    server.set_faults([storm("deals", variant, None)])
    athena.c.setenv("deadline_margin_seconds", "0.5")
    outcome = athena.read("deals", context=FakeContext(3_000))
    assert outcome.error_type == "FederationThrottleException"
    assert "the SaaS API is rate limiting requests" in outcome.message
    _says_it_was_throttled(outcome.message)


@pytest.mark.parametrize("variant", sorted(RETRY_AFTER))
def test_when_time_runs_out_appflow_gets_its_throttling_error(
    variant: str, appflow: drivers.AppFlowRun, server: DemoServer
) -> None:
    server.set_faults([storm("contacts", variant, None, after=0)])
    outcome = appflow.read("contacts", max_results=20, budget_s=4.0)
    assert outcome.error_type == "RateLimitExceeded"
    _says_it_was_throttled(outcome.message)
