"""Pages fetched concurrently inside one read, through both Lambda entry points against the demo API with latency:
the same rows as the one-page-at-a-time read (``pagination.concurrency: 1``) and as the source; for AppFlow the
same records and the same nextTokens call after call, so a flow resumes exactly whichever setting produced them."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from demo_api.server import DemoServer
from tests.reliability import drivers

ENTITIES = ["accounts", "contacts", "deals", "activities"]  # offset + total, cursor, link header, next link
LATENCY_MS = 15
PAGE_SIZE = 8  # AppFlow's page_size setting


def _with_concurrency(data: dict[str, Any], k: int) -> dict[str, Any]:
    out = json.loads(json.dumps(data))
    out["api"]["pagination"]["concurrency"] = k
    for entity in out["entities"]:
        if "pagination" in entity:
            entity["pagination"]["concurrency"] = k
    return out


@pytest.fixture(scope="module")
def sequential_spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("spec") / "sequential.yaml"
    return drivers.write_spec(path, _with_concurrency(drivers.fast_spec_data(), 1))


@pytest.fixture
def latency(server: DemoServer) -> Iterator[None]:
    server.configure(latency_ms=LATENCY_MS)
    try:
        yield
    finally:
        server.configure(latency_ms=0)


def _use_spec(env: pytest.MonkeyPatch, path: Path) -> None:
    from athena_connector.runtime import reset_runtime

    env.setenv("SAAS_SPEC", str(path))
    reset_runtime()


@pytest.mark.parametrize("entity", ENTITIES)
def test_athena_reads_the_same_rows_with_pages_in_flight(
    entity: str,
    athena: drivers.Athena,
    server: DemoServer,
    env: pytest.MonkeyPatch,
    sequential_spec: Path,
    latency: None,
) -> None:
    assert drivers.load(Path(os.environ["SAAS_SPEC"])).api.pagination.concurrency == 4
    concurrent = athena.read(entity)
    _use_spec(env, sequential_spec)
    sequential = athena.read(entity)
    assert concurrent.ok, concurrent.message
    assert concurrent.rows == sequential.rows == athena.expected(entity, server.store.all_records(entity))


def _query_calls(run: drivers.AppFlowRun, entity: str, max_results: int) -> list[tuple[list[str], str | None]]:
    """Every QueryData answer of a whole read: its records and its nextToken."""
    calls: list[tuple[list[str], str | None]] = []
    token = None
    while True:
        response = run.call(run.event(entity, max_results=max_results, token=token))
        assert response["isSuccess"], response["errorDetails"]
        calls.append((response["records"], response["nextToken"]))
        token = response["nextToken"]
        if token is None:
            return calls
        assert len(calls) < 500


@pytest.mark.parametrize("entity", ENTITIES)
@pytest.mark.parametrize("max_results", [20, 40])  # several pages of 8 a call; mid-page tokens
def test_appflow_answers_the_same_records_and_tokens_with_pages_in_flight(
    entity: str,
    max_results: int,
    server: DemoServer,
    env: pytest.MonkeyPatch,
    fast_spec_path: Path,
    sequential_spec: Path,
    latency: None,
) -> None:
    settings = {"page_size": str(PAGE_SIZE)}  # without it a call asks for one page of maxResults records
    concurrent = _query_calls(drivers.AppFlowRun(drivers.load(fast_spec_path), settings), entity, max_results)
    _use_spec(env, sequential_spec)
    sequential = _query_calls(drivers.AppFlowRun(drivers.load(sequential_spec), settings), entity, max_results)
    assert concurrent == sequential
    ids = [json.loads(r)["id"] for records, _ in concurrent for r in records]
    assert ids == [r["id"] for r in server.store.all_records(entity)]
