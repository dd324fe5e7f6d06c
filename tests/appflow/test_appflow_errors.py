"""Failures never raise into the SDK: each comes back as ``isSuccess: false`` with the right code and a
message naming the entity, field or setting at fault, and no secret."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
import requests

from appflow_connector.errors import code_for, to_details
from appflow_connector.handler import ConnectorHandler
from demo_api.server import DemoServer
from shared.errors import (
    DeadlineExceededError,
    InvalidTokenError,
    PaginationError,
    SaaSAuthError,
    SaaSClientError,
    SaaSRateLimitedError,
    SaaSResponseError,
    SaaSTransientError,
    SpecError,
    SpecProblem,
    UnknownFieldError,
    ValueCoercionError,
)
from tests.appflow.conftest import dump
from tests.appflow.simulator import AppFlow, FakeContext, check_response


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (SaaSAuthError("x", status=401), "InvalidCredentials"),
        (SaaSAuthError("x", status=403), "AccessDenied"),
        (SaaSRateLimitedError("x", status=429), "RateLimitExceeded"),
        (SaaSTransientError("x", status=503), "ServiceUnavailable"),
        (SaaSTransientError("x", status=500), "ServerError"),
        (SaaSTransientError("x", status=504), "RequestTimeout"),
        (SaaSTransientError("GET /x failed after 5 attempts: timed out"), "RequestTimeout"),
        (SaaSTransientError("could not connect"), "ServiceUnavailable"),
        (SaaSClientError("x", status=400), "InvalidArgument"),
        (SaaSClientError("x", status=422), "InvalidArgument"),
        (SaaSClientError("x", status=404), "ClientError"),
        (SaaSClientError("x", status=409), "ClientError"),
        (DeadlineExceededError("x"), "RequestTimeout"),
        (SaaSResponseError("x"), "ServerError"),
        (PaginationError("x"), "ServerError"),
        (ValueCoercionError("x"), "ServerError"),
        (InvalidTokenError("x"), "InvalidArgument"),
        (UnknownFieldError("x"), "InvalidArgument"),
        (SpecError([SpecProblem("s.yaml", "api", "bad")]), "ServerError"),
        (RuntimeError("boom"), "UnknownError"),
    ],
)
def test_error_codes(exc: Exception, code: str) -> None:
    assert code_for(exc).name == code
    assert to_details(exc).to_dict()["errorCode"] == code


def test_unexpected_errors_hide_their_text() -> None:
    details = to_details(KeyError("internal detail")).to_dict()
    assert "internal detail" not in details["errorMessage"] and "logs" in details["errorMessage"]


# -- malformed events ---------------------------------------------------------------------------------------
CTX = {"apiVersion": "v1", "credentials": {"secretArn": "arn:x", "authenticationType": "ApiKey"}}
MALFORMED: list[tuple[Any, str]] = [
    ({}, "unknown request type None"),
    ([], "must be a JSON object"),
    ({"type": "PurgeEverythingRequest"}, "unknown request type"),
    ({"type": "QueryDataRequest", "entityIdentifier": "accounts"}, "missing connectorContext"),
    ({"type": "QueryDataRequest", "entityIdentifier": "accounts", "connectorContext": {}}, "apiVersion"),
    ({"type": "QueryDataRequest", "entityIdentifier": "accounts", "connectorContext": "x"}, "must be an object"),
    (
        {
            "type": "QueryDataRequest",
            "entityIdentifier": "accounts",
            "connectorContext": {"apiVersion": "v1", "credentials": {"secretArn": "arn:x"}},
        },
        "authenticationType",
    ),
    (
        {
            "type": "QueryDataRequest",
            "entityIdentifier": "accounts",
            "connectorContext": {"apiVersion": "v1", "credentials": {"oAuth2Credentials": {"accessToken": "t"}}},
        },
        "authenticationType",
    ),
    ({"type": "ValidateCredentialsRequest", "credentials": None}, "credentials"),
    ({"type": "ValidateCredentialsRequest"}, "missing credentials"),
    (
        {"type": "ValidateConnectorRuntimeSettingsRequest", "scope": "EVERYWHERE", "connectorRuntimeSettings": {}},
        "scope",
    ),
    ({"type": "ValidateConnectorRuntimeSettingsRequest", "scope": "SOURCE", "connectorRuntimeSettings": "x"}, "object"),
    (
        {"type": "WriteDataRequest", "entityIdentifier": "contacts", "connectorContext": CTX, "operation": "MERGE"},
        "MERGE",
    ),
    ({"type": "DescribeEntityRequest", "connectorContext": CTX}, "entityIdentifier"),
    ({"type": "QueryDataRequest", "entityIdentifier": None, "connectorContext": CTX}, "entityIdentifier"),
    (
        {"type": "QueryDataRequest", "entityIdentifier": "accounts", "connectorContext": CTX, "maxResults": 0},
        "maxResults",
    ),
    (
        {"type": "QueryDataRequest", "entityIdentifier": "accounts", "connectorContext": CTX, "maxResults": "9"},
        "maxResults",
    ),
    (
        {
            "type": "QueryDataRequest",
            "entityIdentifier": "accounts",
            "connectorContext": CTX,
            "selectedFieldNames": ["nope"],
        },
        "'nope'",
    ),
    (
        {"type": "QueryDataRequest", "entityIdentifier": "accounts", "connectorContext": CTX, "nextToken": "garbage"},
        "nextToken",
    ),
    ({"type": "ListEntitiesRequest", "connectorContext": CTX, "nextToken": "garbage"}, "nextToken"),
]


@pytest.mark.parametrize(("event", "needle"), MALFORMED, ids=[str(i) for i in range(len(MALFORMED))])
def test_malformed_events(
    event: Any, needle: str, small_server: DemoServer, appflow_for: Callable[..., AppFlow]
) -> None:
    sim = appflow_for(small_server)
    sim.handler.runtime.secrets.secrets["arn:x"] = {"apiKey": small_server.api_key}  # type: ignore[attr-defined]
    response = sim.handler.lambda_handler(event, FakeContext())
    kind = event.get("type") if isinstance(event, dict) else None
    check_response(kind if kind in sim.handler.dispatch else "?", response)
    assert response["isSuccess"] is False
    assert response["errorDetails"]["errorCode"] in ("InvalidArgument", "InvalidCredentials")
    assert needle in response["errorDetails"]["errorMessage"]


def test_unreadable_entity_definition_is_ignored(small_server: DemoServer, appflow_for: Callable[..., AppFlow]) -> None:
    sim = appflow_for(small_server)
    event = {
        "type": "QueryDataRequest",
        "entityIdentifier": "accounts",
        "connectorContext": {
            **sim.context(),
            "entityDefinition": {"entity": {}, "fields": [{"fieldName": "x", "dataType": "Weird"}]},
        },
        "maxResults": 5,
    }
    response = sim.handler.lambda_handler(event, None)
    assert response["isSuccess"] and len(response["records"]) == 5


def test_a_token_from_another_query_is_refused(small_server: DemoServer, appflow_for: Callable[..., AppFlow]) -> None:
    sim = appflow_for(small_server)
    first = sim.query_page("accounts", max_results=2, filter_expression="id > 1")
    other = sim.query_page("accounts", max_results=2, token=first["nextToken"], filter_expression="id > 2")
    assert other["errorDetails"]["errorCode"] == "InvalidArgument"
    assert "different query" in other["errorDetails"]["errorMessage"]
    contacts = sim.query_page("contacts", max_results=2, token=first["nextToken"], filter_expression="id > 1")
    assert contacts["errorDetails"]["errorCode"] == "InvalidArgument"
    again = sim.query_page("accounts", max_results=2, token=first["nextToken"], filter_expression="id  >  1")
    assert again["isSuccess"]  # whitespace does not matter; AppFlow may retry a page with the same token
    retried = sim.query_page("accounts", max_results=2, token=first["nextToken"], filter_expression="id > 1")
    assert retried == again


# -- API failures -------------------------------------------------------------------------------------------
def _faults(server: DemoServer, rules: Any) -> None:
    requests.post(f"{server.admin_url}/faults", json=rules, timeout=10).raise_for_status()


def test_api_rejections(
    fresh_server: DemoServer, appflow_for: Callable[..., AppFlow], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sim = appflow_for(fresh_server)
    unknown_value = sim.query_page("accounts", max_results=5, filter_expression="industry = 'Pottery'")
    assert unknown_value["isSuccess"] and unknown_value["records"] == []  # matches nothing, as SQL would
    _faults(fresh_server, {"kind": "status", "code": 400, "count": 1, "entity": "accounts"})
    rejected = sim.query_page("accounts", max_results=5, filter_expression="industry = 'Retail'")
    err = rejected["errorDetails"]
    assert err["errorCode"] == "InvalidArgument" and "accounts" in err["errorMessage"]

    _faults(fresh_server, {"kind": "status", "code": 403, "count": 1, "entity": "deals"})
    denied = sim.query_page("deals", max_results=5)
    assert denied["errorDetails"]["errorCode"] == "AccessDenied" and "deals" in denied["errorDetails"]["errorMessage"]

    sim.handler.runtime.secrets.secrets[sim.secret_arn] = {"apiKey": "wrong-key-value"}  # type: ignore[attr-defined]
    refused = sim.query_page("contacts", max_results=5)
    assert refused["errorDetails"]["errorCode"] == "InvalidCredentials"
    assert "wrong-key-value" not in json.dumps(refused)
    assert "wrong-key-value" not in caplog.text  # masked in every log line too


def test_rate_limit_on_a_later_page_keeps_what_was_read(
    fresh_server: DemoServer, appflow_for: Callable[..., AppFlow]
) -> None:
    sim = appflow_for(fresh_server, flow_settings={"page_size": "10"})
    sim.describe_entity("accounts")
    _faults(fresh_server, {"kind": "rate_limit", "count": None, "after": 2, "entity": "accounts", "retry_after": 0})
    # 429s are retried until the invocation's deadline: short invocations end the storm soon. Pages are fetched
    # several at once (pagination.concurrency): which of them got the two answers the API gave depends on the order
    # they arrived in, but the first page is read alone, and the call keeps what it read.
    partial = sim.query_page("accounts", max_results=1000, budget_s=5.0)
    assert partial["isSuccess"] and len(partial["records"]) in (10, 20) and partial["nextToken"]
    again = sim.query_page("accounts", max_results=1000, token=partial["nextToken"], budget_s=5.0)
    assert again["errorDetails"]["errorCode"] == "RateLimitExceeded"  # nothing read in this call
    requests.delete(f"{fresh_server.admin_url}/faults", timeout=10)
    rest = sim.query_all("accounts", max_results=1000)
    assert len(rest.records) == 60
    resumed = sim.query_page("accounts", max_results=1000, token=partial["nextToken"])
    ids = [json.loads(r)["id"] for r in partial["records"] + resumed["records"]]
    assert sorted(ids) == sorted(r["id"] for r in dump(fresh_server, "accounts"))


def test_malformed_api_answers_are_server_errors(fresh_server: DemoServer, appflow_for: Callable[..., AppFlow]) -> None:
    sim = appflow_for(fresh_server)
    _faults(fresh_server, {"kind": "drift", "count": None, "entity": "deals", "field": "amount", "value": "lots"})
    drift = sim.query_page("deals", max_results=5)
    err = drift["errorDetails"]
    assert err["errorCode"] == "ServerError" and "amount" in err["errorMessage"] and "deals" in err["errorMessage"]


def test_retrieve_errors(small_server: DemoServer, appflow_for: Callable[..., AppFlow]) -> None:
    sim = appflow_for(small_server)

    def retrieve(entity: str, ids: list[str], id_field: str | None = "id") -> dict[str, Any]:
        return sim.call(
            {
                "type": "RetrieveDataRequest",
                "entityIdentifier": entity,
                "connectorContext": sim.context(),
                "idFieldName": id_field,
                "ids": ids,
            }
        )

    bad = retrieve("accounts", ["1", "abc"])
    assert bad["errorDetails"]["errorCode"] == "InvalidArgument" and "'id'" in bad["errorDetails"]["errorMessage"]
    found = retrieve("accounts", ["3", "999999", "1", "3"])
    assert [json.loads(r)["id"] for r in found["records"]] == [3, 1]
    activities = dump(small_server, "activities")
    wanted = [str(activities[-1]["id"]), str(activities[0]["id"])]
    scanned = retrieve("activities", wanted, id_field=None)  # no get path: found by scanning
    assert [str(json.loads(r)["id"]) for r in scanned["records"]] == wanted
    assert retrieve("accounts", [])["records"] == []
    assert "'nope'" in retrieve("accounts", ["1"], id_field="nope")["errorDetails"]["errorMessage"]


def test_list_entities_pages(small_server: DemoServer, appflow_for: Callable[..., AppFlow]) -> None:
    sim = appflow_for(small_server)
    names, token = [], None
    for _ in range(5):
        response = sim.call(
            {"type": "ListEntitiesRequest", "connectorContext": sim.context(), "maxResult": 2, "nextToken": token}
        )
        names += [e["entityIdentifier"] for e in response["entities"]]
        token = response["nextToken"]
        if token is None:
            break
    assert names == ["accounts", "contacts", "deals"]


def test_no_raise_even_when_the_spec_is_broken(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\napi: {name: x}\nentities: []\n")
    monkeypatch.setenv("SAAS_SPEC", str(bad))
    handler = ConnectorHandler()
    for kind in handler.dispatch:
        event = {
            "type": kind,
            "connectorContext": {"apiVersion": "v1"},
            "entityIdentifier": "x",
            "credentials": {"secretArn": "a", "authenticationType": "ApiKey"},
            "scope": "SOURCE",
            "connectorRuntimeSettings": {},
        }
        response = handler.lambda_handler(event, None)
        check_response(kind, response)
        assert response["errorDetails"]["errorCode"] == "ServerError", kind
        assert "spec" in response["errorDetails"]["errorMessage"]
