"""The destination side's parity with the SDK: DELETE round trips through the handler against the demo API,
the DESTINATION-scoped runtime setting (write_concurrency) and its validation, and the connector's logo URL."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from demo_api.server import DemoServer
from tests.appflow.conftest import dump
from tests.appflow.simulator import AppFlow
from tests.appflow.test_appflow_writes import retrieve, write


@pytest.fixture
def sim(fresh_server: DemoServer, appflow_for: Callable[..., AppFlow]) -> AppFlow:
    simulator = appflow_for(fresh_server)
    simulator.describe_entity("contacts")
    return simulator


def test_delete_round_trip(sim: AppFlow, fresh_server: DemoServer) -> None:
    before = {r["id"]: r for r in dump(fresh_server, "contacts")}
    assert {1, 2, 3} <= set(before) and 999999 not in before
    records: list[Any] = [
        {"id": 1},
        {"id": 2, "status": "lead", "email": "ignored@example.com"},  # a delete sends only the key
        {"id": 999999},  # no such record: the API answers 404
        {"status": "lead"},  # no key
        {"id": 3, "favourite_colour": "blue"},  # unknown field: refused before sending
    ]
    response = write(sim, "DELETE", records, id_fields=["id"])
    results = response["writeRecordResults"]
    assert [r["isSuccess"] for r in results] == [True, True, False, False, False]
    assert [r["recordId"] for r in results[:3]] == ["1", "2", "999999"]
    assert "no such record" in results[2]["errorMessage"] and "404" in results[2]["errorMessage"]
    assert "primary key" in results[3]["errorMessage"]
    assert "favourite_colour" in results[4]["errorMessage"]
    assert response["errorDetails"]["errorCode"] == "PartialWriteFailure"
    after = {r["id"] for r in dump(fresh_server, "contacts")}
    assert set(before) - after == {1, 2}  # exactly those two, nothing else
    assert after == set(before) - {1, 2}
    # read back through the connector: gone, and the untouched neighbour is still there
    assert [r["id"] for r in retrieve(sim, [1, 2, 3])] == [3]
    again = write(sim, "DELETE", [{"id": 1}])
    assert again["writeRecordResults"][0]["isSuccess"] is False
    assert "no such record" in again["writeRecordResults"][0]["errorMessage"]
    assert again["errorDetails"]["errorCode"] != "PartialWriteFailure"  # nothing at all was deleted


def test_delete_is_declared_only_where_the_spec_has_it(sim: AppFlow) -> None:
    contacts = {f["fieldName"]: f for f in sim.describe_entity("contacts")["fields"]}
    assert "DELETE" in contacts["id"]["writeProperties"]["supportedWriteOperations"]
    refused = write(sim, "DELETE", [{"id": 1}], entity="accounts")
    assert refused["errorDetails"]["errorCode"] == "InvalidArgument"
    assert "accounts" in refused["errorDetails"]["errorMessage"]


def test_write_concurrency_keeps_every_result_in_order(sim: AppFlow, fresh_server: DemoServer) -> None:
    sim.flow_settings = {"write_concurrency": "4"}
    assert sim.validate_settings("DESTINATION", sim.flow_settings)["isSuccess"]
    before = {r["id"] for r in dump(fresh_server, "contacts")}
    records: list[Any] = [{"email": f"c{i}@example.com", "first_name": f"N{i}"} for i in range(11)]
    records[5] = {"email": "not-an-email"}  # the API answers 422 for this one only
    response = write(sim, "INSERT", records)
    results = response["writeRecordResults"]
    assert [r["isSuccess"] for r in results] == [i != 5 for i in range(11)]
    assert response["errorDetails"]["errorCode"] == "PartialWriteFailure"
    created = {r["id"]: r for r in dump(fresh_server, "contacts") if r["id"] not in before}
    assert len(created) == 10  # nothing lost, nothing written twice
    for i, result in enumerate(results):
        if i != 5:  # each result names the record made from that input record
            assert created[int(result["recordId"])]["email"] == f"c{i}@example.com"


def _validate(sim: AppFlow, scope: str, settings: dict[str, str]) -> dict[str, Any]:
    return sim.validate_settings(scope, settings)


@pytest.mark.parametrize(
    ("scope", "settings", "field", "message"),
    [
        ("DESTINATION", {"write_concurrency": "0"}, "write_concurrency", "between 1 and 8"),
        ("DESTINATION", {"write_concurrency": "9"}, "write_concurrency", "between 1 and 8"),
        ("DESTINATION", {"write_concurrency": "many"}, "write_concurrency", "whole number"),
        ("SOURCE", {"write_concurrency": "2"}, "write_concurrency", "applies to DESTINATION flows"),
        ("DESTINATION", {"page_size": "100"}, "page_size", "applies to SOURCE flows"),
        ("DESTINATION", {"batch": "2"}, "batch", "unknown setting"),
    ],
)
def test_destination_settings_are_checked(
    sim: AppFlow, scope: str, settings: dict[str, str], field: str, message: str
) -> None:
    response = _validate(sim, scope, settings)
    assert response["isSuccess"] is False
    assert message in response["errorsByInputField"][field], response


def test_destination_settings_accepted(sim: AppFlow) -> None:
    for scope, settings in (
        ("DESTINATION", {"write_concurrency": "8"}),
        ("SOURCE_AND_DESTINATION", {"write_concurrency": "1", "page_size": "50"}),
        ("SOURCE", {"page_size": "50"}),
    ):
        response = _validate(sim, scope, settings)
        assert response["isSuccess"], (scope, response)


def test_a_bad_setting_fails_the_write_call_clearly(sim: AppFlow) -> None:
    sim.flow_settings = {"write_concurrency": "100"}
    response = write(sim, "INSERT", [{"email": "x@example.com"}])
    assert response["isSuccess"] is False
    assert response["errorDetails"]["errorCode"] == "InvalidArgument"
    assert "write_concurrency" in response["errorDetails"]["errorMessage"]


def test_logo_url(sim: AppFlow, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPFLOW_CONNECTOR_LOGO_URL", "https://cdn.example.com/saas/logo.png")
    config = sim.describe_connector()
    assert config["isSuccess"] and config["logoURL"] == "https://cdn.example.com/saas/logo.png"
    for bad in ("http://cdn.example.com/logo.png", "https://user@cdn.example.com/logo.png", "https://a b/logo.png"):
        monkeypatch.setenv("APPFLOW_CONNECTOR_LOGO_URL", bad)
        config = sim.describe_connector()
        assert config["isSuccess"] is False
        assert "APPFLOW_CONNECTOR_LOGO_URL" in json.dumps(config["errorDetails"])


def test_write_concurrency_sends_records_at_the_same_time(sim: AppFlow, fresh_server: DemoServer) -> None:
    """Each write takes 0.6 s at the API: eight of them one at a time take 4.8 s at least, four at a time two
    waves (about 1.2 s). The bound is generous; it fails only when the writes do not overlap."""
    import time

    import requests

    fault = {"kind": "slow", "count": None, "entity": "contacts", "delay_s": 0.6}
    requests.post(f"{fresh_server.admin_url}/faults", json=fault, timeout=10).raise_for_status()
    sim.flow_settings = {"write_concurrency": "4"}
    try:
        started = time.monotonic()
        response = write(sim, "INSERT", [{"email": f"s{i}@example.com"} for i in range(8)])
        elapsed = time.monotonic() - started
    finally:
        requests.delete(f"{fresh_server.admin_url}/faults", timeout=10)
    assert response["isSuccess"], response
    assert elapsed < 8 * 0.6 * 0.75, f"eight writes took {elapsed:.2f} s: they did not overlap"
