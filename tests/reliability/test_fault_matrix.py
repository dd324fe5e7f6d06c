"""Every SaaS fault through both Lambda entry points: the exact data, or a typed error naming entity and page.

Each case schedules faults on the demo API (``after`` lets the first page through, so faults land in the middle
of a read), runs a whole read through ``athena_connector.handler.lambda_handler`` (every split, spills decrypted)
and through ``appflow_connector.handler.lambda_handler`` (QueryData paged to the end), and compares with the
source's own records (``store.all_records``). A read either delivers exactly the source's rows, each once, or fails
with the expected typed error whose message names the entity and the page. Nothing in between.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest

from demo_api.server import DemoServer
from tests.athena.connector.harness import FakeContext
from tests.reliability import drivers

ENTITIES = ("accounts", "contacts", "deals", "activities")


@dataclass(frozen=True)
class Case:
    name: str
    rules: tuple[dict[str, Any], ...]
    athena_error: str | None = None  # None: the exact data
    appflow_error: str | None = None
    entities: tuple[str, ...] = ()  # () = two entities, rotating over the cases, so every style sees most faults
    mentions: tuple[str, ...] = ()  # every error message must contain one of these
    either: bool = False  # the exact data is also right (the fault may heal before the connector sees a loop)
    seconds: float | None = None  # a shorter invocation: 429s are retried until the deadline, so end it soon


def mid(rule: dict[str, Any], after: int = 1) -> dict[str, Any]:
    return {"after": after, **rule}


FOREVER = {"count": None}
CASES = [
    # -- recovered by retries: the exact data -------------------------------------------------------------------
    Case("429 burst with Retry-After", (mid({"kind": "rate_limit", "retry_after": 1, "count": 2}),)),
    Case("429 burst without Retry-After", (mid({"kind": "rate_limit", "retry_after": None, "count": 2}),)),
    Case("429 burst with an HTTP-date", (mid({"kind": "rate_limit", "retry_after": 1, "retry_after_date": True}),)),
    Case("5xx burst", (mid({"kind": "status", "code": 503, "count": 2}), mid({"kind": "status", "code": 500}, 3))),
    Case("502 and 504", (mid({"kind": "status", "code": 502}), mid({"kind": "status", "code": 504}, 2))),
    Case("slow beyond the timeout, once", (mid({"kind": "slow", "delay_s": drivers.SLOW_S}),)),
    Case("connection reset before the response", (mid({"kind": "reset", "count": 2}),)),
    Case("connection closed mid-body", (mid({"kind": "truncate", "count": 2}),)),
    Case("malformed JSON, twice", (mid({"kind": "malformed", "count": 2}),)),
    Case(
        "every transient kind in turn",
        tuple(mid({"kind": k}, i + 1) for i, k in enumerate(["reset", "truncate", "malformed", "rate_limit"])),
    ),
    # -- outlasting the retries: a typed error naming the entity and page ------------------------------------------
    Case(
        "429 storm",
        (mid({"kind": "rate_limit", "retry_after": 1, **FOREVER}),),
        "FederationThrottleException",
        "RateLimitExceeded",
        mentions=("429",),
        seconds=4.0,
    ),
    Case(
        "429 storm without Retry-After",
        (mid({"kind": "rate_limit", "retry_after": None, **FOREVER}),),
        "FederationThrottleException",
        "RateLimitExceeded",
        seconds=4.0,
    ),
    Case(
        "503 storm",
        (mid({"kind": "status", "code": 503, **FOREVER}),),
        "InternalServiceException",
        "ServiceUnavailable",
        mentions=("503",),
    ),
    Case(
        "500 storm",
        (mid({"kind": "status", "code": 500, **FOREVER}),),
        "InternalServiceException",
        "ServerError",
        mentions=("500",),
    ),
    Case(
        "always slower than the timeout",
        (mid({"kind": "slow", "delay_s": drivers.SLOW_S, **FOREVER}),),
        "InternalServiceException",
        "RequestTimeout",
        entities=("accounts",),
        mentions=("timed out",),
    ),
    Case(
        "connection always reset",
        (mid({"kind": "reset", **FOREVER}),),
        "InternalServiceException",
        "ServiceUnavailable",
        mentions=("connection",),
    ),
    Case(
        "body always cut short",
        (mid({"kind": "truncate", **FOREVER}),),
        "InternalServiceException",
        "ServiceUnavailable",
        mentions=("cut short",),
    ),
    Case(
        "always malformed JSON",
        (mid({"kind": "malformed", **FOREVER}),),
        "InvalidResponseException",
        "ServerError",
        mentions=("not valid JSON",),
    ),
    Case(
        "a 400 mid-read",
        (mid({"kind": "status", "code": 400, "message": "no such page"}),),
        "InternalServiceException",
        "InvalidArgument",
        mentions=("400",),
    ),
    Case(
        "repeated pagination token",
        (mid({"kind": "repeat_token"}),),
        "InvalidResponseException",
        "ServerError",
        entities=("contacts", "deals", "activities"),
        mentions=("already returned", "same page twice"),
        either=True,
    ),
    Case(
        "next link to another host",
        (mid({"kind": "foreign_next", "host": "evil.example.invalid"}),),
        "InvalidResponseException",
        "ServerError",
        entities=("deals", "activities"),
        mentions=("refusing to follow a next-page link to http://evil.example.invalid",),
    ),
]


def _rules_for(case: Case, entity: str) -> list[dict[str, Any]]:
    return [{**rule, "entity": entity} for rule in case.rules]


def _check_error(outcome: drivers.Outcome, expected: str, entity: str, case: Case) -> None:
    assert outcome.error_type == expected, f"{outcome.connector}: {outcome.error_type}: {outcome.message}"
    assert f"entity '{entity}'" in outcome.message, outcome.message
    assert re.search(r"page \d+", outcome.message), outcome.message
    if case.mentions:
        assert any(word in outcome.message for word in case.mentions), (case.mentions, outcome.message)
    assert drivers.API_KEY not in outcome.message


def _entities(index: int, case: Case) -> tuple[str, ...]:
    return case.entities or (ENTITIES[index % 4], ENTITIES[(index + 1) % 4])


PARAMS = [
    pytest.param(case, entity, id=f"{case.name}-{entity}")
    for index, case in enumerate(CASES)
    for entity in _entities(index, case)
]


@pytest.mark.parametrize(("case", "entity"), PARAMS)
def test_fault_through_athena(case: Case, entity: str, athena: drivers.Athena, server: DemoServer) -> None:
    source = server.store.all_records(entity)
    server.set_faults(_rules_for(case, entity))
    if case.seconds is not None:
        athena.c.setenv("deadline_margin_seconds", "0.5")
        outcome = athena.read(entity, context=FakeContext(case.seconds * 1000))
    else:
        outcome = athena.read(entity)
    if case.athena_error is None or (case.either and outcome.ok):
        assert outcome.ok, f"{outcome.error_type}: {outcome.message}"
        assert outcome.rows == athena.expected(entity, source)
    else:
        _check_error(outcome, case.athena_error, entity, case)


@pytest.mark.parametrize(("case", "entity"), PARAMS)
def test_fault_through_appflow(case: Case, entity: str, appflow: drivers.AppFlowRun, server: DemoServer) -> None:
    source = server.store.all_records(entity)
    server.set_faults(_rules_for(case, entity))
    outcome = appflow.read(entity, max_results=20, budget_s=case.seconds or 30.0)
    if case.appflow_error is None or (case.either and outcome.ok):
        assert outcome.ok, f"{outcome.error_type}: {outcome.message}"
        assert outcome.rows == appflow.expected(entity, source)
    else:
        _check_error(outcome, case.appflow_error, entity, case)
        assert len({r["id"] for r in outcome.partial}) == len(outcome.partial), "duplicates before the error"
