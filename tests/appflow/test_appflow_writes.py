"""Write-back against the demo API: INSERT / UPDATE / UPSERT round trips, one result per record, and
partial failures that do not hide the other records."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests

from demo_api.server import DemoServer
from tests.appflow.conftest import dump
from tests.appflow.simulator import AppFlow


def write(sim: AppFlow, operation: str, records: list[Any], budget_s: float = 30.0, **extra: Any) -> dict[str, Any]:
    event = {
        "type": "WriteDataRequest",
        "entityIdentifier": extra.pop("entity", "contacts"),
        "connectorContext": sim.context("contacts"),
        "operation": operation,
        "idFieldNames": extra.pop("id_fields", None),
        "records": [r if isinstance(r, str) else json.dumps(r) for r in records],
        "allOrNone": extra.pop("all_or_none", False),
    }
    return sim.call(event, budget_s=budget_s)


def retrieve(sim: AppFlow, ids: list[Any], fields: list[str] | None = None) -> list[dict[str, Any]]:
    response = sim.call(
        {
            "type": "RetrieveDataRequest",
            "entityIdentifier": "contacts",
            "connectorContext": sim.context("contacts"),
            "selectedFieldNames": fields,
            "idFieldName": "id",
            "ids": [str(i) for i in ids],
        },
        selected=fields,
    )
    assert response["isSuccess"], response
    return [json.loads(r) for r in response["records"]]


@pytest.fixture
def sim(fresh_server: DemoServer, appflow_for: Callable[..., AppFlow]) -> AppFlow:
    simulator = appflow_for(fresh_server)
    simulator.describe_entity("contacts")
    return simulator


def test_insert_with_partial_failures(sim: AppFlow, fresh_server: DemoServer) -> None:
    good = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
        "status": "customer",
        "score": 99.5,
        "lifetime_value": "1234.50",
        "birthday": "1815-12-10",
        "opt_in": True,
        "tags": ["vip"],
    }
    records: list[Any] = [
        good,
        {"email": "not-an-email"},  # the API answers 422
        {"email": "x@example.com", "favourite_colour": "blue"},  # unknown field, refused before sending
        "{not json",
        {"email": "grace@example.com", "created_at": "2024-01-01T00:00:00Z"},  # read-only field
        {"email": "grace@example.com", "score": "high"},  # wrong type
        {"first_name": "Grace", "email": "grace@example.com", "lifetime_value": 10},
    ]
    before = {r["id"] for r in dump(fresh_server, "contacts")}
    response = write(sim, "INSERT", records)
    assert response["isSuccess"] is False
    assert response["errorDetails"]["errorCode"] == "PartialWriteFailure"
    results = response["writeRecordResults"]
    assert [r["isSuccess"] for r in results] == [True, False, False, False, False, False, True]
    assert "email" in results[1]["errorMessage"] and "422" in results[1]["errorMessage"]
    assert "favourite_colour" in results[2]["errorMessage"]
    assert "not valid JSON" in results[3]["errorMessage"]
    assert "created_at" in results[4]["errorMessage"] and "not writable" in results[4]["errorMessage"]
    assert "score" in results[5]["errorMessage"]
    created = [int(results[0]["recordId"]), int(results[6]["recordId"])]
    after = {r["id"] for r in dump(fresh_server, "contacts")}
    assert after - before == set(created)
    ada, grace = retrieve(sim, created)
    assert {k: ada[k] for k in good} == {**good, "lifetime_value": 1234.5}
    assert grace["first_name"] == "Grace" and grace["lifetime_value"] == 10.0
    assert ada["updated_at"].endswith("Z")


def test_update_and_upsert_round_trip(sim: AppFlow, fresh_server: DemoServer) -> None:
    read = sim.query_all("contacts", max_results=50, filter_expression="id <= 5")
    originals = {r["id"]: r for r in read.records}
    assert sorted(originals) == [1, 2, 3, 4, 5]
    changes = [
        {"id": 1, "status": "churned", "score": 1.0},
        {"id": 2, "tags": ["a", "b"]},
        {"id": 999999, "status": "lead"},
    ]
    response = write(sim, "UPDATE", changes, id_fields=["id"])
    results = response["writeRecordResults"]
    assert [r["isSuccess"] for r in results] == [True, True, False]
    assert [r["recordId"] for r in results] == ["1", "2", "999999"]
    assert "404" in results[2]["errorMessage"]
    assert response["errorDetails"]["errorCode"] == "PartialWriteFailure"
    one, two = retrieve(sim, [1, 2])
    assert (one["status"], one["score"], one["email"]) == ("churned", 1.0, originals[1]["email"])
    assert two["tags"] == ["a", "b"] and one["updated_at"] > originals[1]["updated_at"]

    upserts = [{"id": 3, "email": "three@example.com", "first_name": "Three"}, {"id": 5000, "email": "new@example.com"}]
    response = write(sim, "UPSERT", upserts)
    assert response["isSuccess"] is True and response["errorDetails"] is None
    assert [r["recordId"] for r in response["writeRecordResults"]] == ["3", "5000"]
    three, new = retrieve(sim, [3, 5000])
    assert three["first_name"] == "Three" and three["email"] == "three@example.com"
    assert three["status"] == "lead"  # PUT replaces the record: unspecified fields take their defaults
    assert new["email"] == "new@example.com" and new["created_at"] == new["updated_at"]


def test_all_or_none(sim: AppFlow, fresh_server: DemoServer) -> None:
    count = len(dump(fresh_server, "contacts"))
    response = write(
        sim, "INSERT", [{"email": "a@example.com"}, {"email": "b@example.com", "nope": 1}], all_or_none=True
    )
    assert response["errorDetails"]["errorCode"] == "InvalidArgument"
    assert [r["isSuccess"] for r in response["writeRecordResults"]] == [False, False]
    assert "allOrNone" in response["writeRecordResults"][0]["errorMessage"]
    assert len(dump(fresh_server, "contacts")) == count  # nothing written

    response = write(
        sim, "INSERT", [{"email": "a@example.com"}, {"email": "bad"}, {"email": "c@example.com"}], all_or_none=True
    )
    results = response["writeRecordResults"]
    assert [r["isSuccess"] for r in results] == [True, False, False]
    assert "not attempted" in results[2]["errorMessage"]
    assert "stay written" in response["errorDetails"]["errorMessage"]
    assert len(dump(fresh_server, "contacts")) == count + 1


def test_refused_operations(sim: AppFlow) -> None:
    delete = write(sim, "DELETE", [{"id": 1}], id_fields=["email"])
    assert (
        delete["errorDetails"]["errorCode"] == "InvalidArgument"
        and "primary key" in delete["errorDetails"]["errorMessage"]
    )
    accounts = write(sim, "INSERT", [{"name": "x"}], entity="accounts")
    assert accounts["errorDetails"]["errorCode"] == "InvalidArgument"
    assert (
        "accounts" in accounts["errorDetails"]["errorMessage"]
        and "contacts" in accounts["errorDetails"]["errorMessage"]
    )
    by_email = write(sim, "UPSERT", [{"email": "x@example.com"}], id_fields=["email"])
    assert "primary key" in by_email["errorDetails"]["errorMessage"]
    no_key = write(sim, "UPDATE", [{"status": "lead"}])
    assert no_key["writeRecordResults"][0]["isSuccess"] is False
    assert "primary key" in no_key["writeRecordResults"][0]["errorMessage"]
    assert no_key["errorDetails"]["errorCode"] == "InvalidArgument"
    bogus = sim.call({**_event(sim), "operation": "MERGE"})
    assert bogus["errorDetails"]["errorCode"] == "InvalidArgument" and "MERGE" in bogus["errorDetails"]["errorMessage"]


def _event(sim: AppFlow) -> dict[str, Any]:
    return {
        "type": "WriteDataRequest",
        "entityIdentifier": "contacts",
        "connectorContext": sim.context(),
        "records": [],
    }


def test_batch_stops_on_rate_limit_and_reports_the_rest(sim: AppFlow, fresh_server: DemoServer) -> None:
    fault = {"kind": "rate_limit", "count": None, "after": 1, "entity": "contacts", "retry_after": 0}
    requests.post(f"{fresh_server.admin_url}/faults", json=fault, timeout=10).raise_for_status()
    try:
        # 429s are retried until the invocation's deadline: a short invocation ends the storm soon
        response = write(sim, "INSERT", [{"email": f"r{i}@example.com"} for i in range(4)], budget_s=4.0)
    finally:
        requests.delete(f"{fresh_server.admin_url}/faults", timeout=10)
    results = response["writeRecordResults"]
    assert [r["isSuccess"] for r in results] == [True, False, False, False]
    assert "429" in results[1]["errorMessage"] or "rate" in results[1]["errorMessage"].lower()
    assert all("not attempted" in r["errorMessage"] for r in results[2:])
    assert response["errorDetails"]["errorCode"] == "PartialWriteFailure"


def test_bad_credentials_fail_every_record(fresh_server: DemoServer, appflow_for: Callable[..., AppFlow]) -> None:
    sim = appflow_for(fresh_server)
    sim.handler.runtime.secrets.secrets[sim.secret_arn] = {"apiKey": "wrong-key"}  # type: ignore[attr-defined]
    response = write(sim, "INSERT", [{"email": "a@example.com"}, {"email": "b@example.com"}])
    assert response["errorDetails"]["errorCode"] == "InvalidCredentials"
    assert [r["isSuccess"] for r in response["writeRecordResults"]] == [False, False]
    assert "wrong-key" not in json.dumps(response)
    assert sim.handler.runtime.secrets.invalidated == [sim.secret_arn]  # type: ignore[attr-defined]
