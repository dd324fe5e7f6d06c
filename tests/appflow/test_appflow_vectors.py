"""Every request vector in ``tests/fixtures/appflow-vectors`` through ``lambda_handler``.

1. All of them (the top-level vectors and the upstream fixtures, stale ones included) against the demo
   spec: the call never raises, and the answer is serialisable, typed as the SDK emits it and in budget.
2. The top-level vectors against an API that reproduces the vectors' own demo connector (``orders``):
   our records must equal the vector responses', except where the reference is knowingly different
   (token format; see the asserts).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from appflow_connector import handler as handler_module
from demo_api.server import DemoServer
from tests.appflow.conftest import VECTOR_ARN, VECTORS, FakeSecrets, demo_secrets
from tests.appflow.orders_api import ORDERS_KEY, serve_orders
from tests.appflow.simulator import FakeContext, check_response


def _request_vectors() -> list[Path]:
    found = []
    for path in sorted(VECTORS.rglob("*.json")):
        try:
            data = json.loads(path.read_text())
        except ValueError:
            continue
        if isinstance(data, dict) and "type" in data and not str(data["type"]).endswith("Response"):
            found.append(path)
    return found


REQUEST_VECTORS = _request_vectors()
TOP_LEVEL = sorted(VECTORS.glob("*.request.json"))


def _load(path: Path) -> Any:
    return json.loads(path.read_text())


@pytest.fixture
def module_handler(monkeypatch: pytest.MonkeyPatch) -> Callable[[FakeSecrets], None]:
    """Swap the module-level handler's Secrets Manager for a fake (the entry point stays the real one)."""

    def use(secrets: FakeSecrets) -> None:
        monkeypatch.setattr(handler_module.HANDLER.runtime, "secrets", secrets)

    return use


def test_vectors_exist() -> None:
    assert len(TOP_LEVEL) == 12, f"AppFlow vectors missing from the repository: {VECTORS}"
    assert len(REQUEST_VECTORS) > len(TOP_LEVEL)


@pytest.mark.parametrize("path", REQUEST_VECTORS, ids=lambda p: str(p.relative_to(VECTORS)))
def test_every_vector_through_lambda_handler(
    path: Path, demo_server: DemoServer, use_api: Callable[..., None], module_handler: Callable[..., None]
) -> None:
    use_api(demo_server.base_url)
    module_handler(demo_secrets(demo_server.api_key))
    event = _load(path)
    response = handler_module.lambda_handler(event, FakeContext())
    kind = event["type"]
    check_response(kind, response)
    if kind == "DescribeConnectorConfigurationRequest":
        assert response["isSuccess"]
    if kind not in handler_module.REQUEST_CLASSES:
        assert response == {"isSuccess": False, "errorDetails": response["errorDetails"]}
        assert response["errorDetails"]["errorCode"] == "InvalidArgument"


def test_top_level_vectors_against_the_demo_spec(
    demo_server: DemoServer, use_api: Callable[..., None], module_handler: Callable[..., None]
) -> None:
    """What each top-level vector gives against the demo CRM (whose entities are not ``orders``)."""
    assert TOP_LEVEL, f"AppFlow vectors missing from the repository: {VECTORS}"
    use_api(demo_server.base_url)
    module_handler(demo_secrets(demo_server.api_key))
    results = {p.name.removesuffix(".request.json"): handler_module.lambda_handler(_load(p), None) for p in TOP_LEVEL}
    assert results["describe_connector_configuration"]["isSuccess"]
    assert results["validate_credentials"]["isSuccess"]  # a real GET /me with the key from the secret
    assert results["list_entities"]["isSuccess"]
    assert [e["entityIdentifier"] for e in results["list_entities"]["entities"]] == ["accounts", "contacts", "deals"]
    for name in ("describe_entity", "query_data", "retrieve_data", "write_data", "list_entities_nested"):
        err = results[name]["errorDetails"]
        assert err["errorCode"] == "InvalidArgument", name
        assert "orders" in err["errorMessage"] or "reports" in err["errorMessage"], err
    settings = results["validate_connector_runtime_settings"]
    assert not settings["isSuccess"] and "baseUrl" in settings["errorsByInputField"]


# -- record-for-record against the vectors' own demo connector -------------------------------------------
@pytest.fixture
def orders_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with serve_orders(tmp_path) as (_app, base, spec_path):
        monkeypatch.setenv("SAAS_SPEC", str(spec_path))
        monkeypatch.setenv("SAAS_BASE_URL", base)
        monkeypatch.setattr(
            handler_module.HANDLER.runtime, "secrets", FakeSecrets({VECTOR_ARN: {"apiKey": ORDERS_KEY}})
        )
        yield


def _records(response: dict[str, Any]) -> list[dict[str, Any]]:
    return [json.loads(r) for r in response["records"]]


def _expected(name: str) -> dict[str, Any]:
    return _load(VECTORS / f"{name}.response.json")  # type: ignore[no-any-return]


def _call(name: str, **changes: Any) -> dict[str, Any]:
    event = {**_load(VECTORS / f"{name}.request.json"), **changes}
    response = handler_module.lambda_handler(event, FakeContext())
    return check_response(event["type"], response)


@pytest.mark.usefixtures("orders_api")
class TestAgainstTheVectorsOwnConnector:
    def test_query_pages(self) -> None:
        first = _call("query_data")
        assert first["isSuccess"] and _records(first) == _records(_expected("query_data"))
        assert first["nextToken"] is not None  # ours is opaque, theirs is "10"
        second = _call("query_data_next_page", nextToken=first["nextToken"])
        assert _records(second) == _records(_expected("query_data_next_page"))
        third = _call("query_data_next_page", nextToken=second["nextToken"])
        assert [r["id"] for r in _records(third)] == [f"o{i}" for i in range(20, 25)]
        assert third["nextToken"] is None

    def test_their_token_is_refused_clearly(self) -> None:
        response = _call("query_data_next_page")  # nextToken "10" was issued by another connector
        assert response["errorDetails"]["errorCode"] == "InvalidArgument"
        assert "nextToken" in response["errorDetails"]["errorMessage"]

    def test_null_paging(self) -> None:
        response = _call("query_data_null_paging")
        assert response == {**_expected("query_data_null_paging"), "records": response["records"]}
        assert _records(response) == _records(_expected("query_data_null_paging"))

    def test_incremental_window_is_inclusive(self) -> None:
        """The reference's demo treats BETWEEN as inclusive at both ends (it returns o11, stamped exactly at the
        upper bound), as SQL does; so do we. The next window starting at that stamp returns o11 again: a
        duplicate on the shared edge, recoverable by primary key, where a half-open reading could lose it."""
        response = _call("query_data_incremental")
        expected = _records(_expected("query_data_incremental"))
        assert expected[-1]["updated_at"] == "2024-01-12T00:00:00Z"
        assert _records(response) == expected
        nxt = _call(
            "query_data_incremental",
            filterExpression="amount > 10 and updated_at between 2024-01-12T00:00:00.000Z and 2024-01-14T00:00:00.000Z",
        )
        assert [r["id"] for r in _records(nxt)] == ["o11", "o12", "o13"]
        assert _records(nxt)[-1]["updated_at"] == "2024-01-14T00:00:00Z"  # on the upper bound: kept

    def test_retrieve(self) -> None:
        response = _call("retrieve_data")
        assert response == {**_expected("retrieve_data"), "records": response["records"]}
        assert _records(response) == _records(_expected("retrieve_data"))

    def test_write_to_a_source_only_entity(self) -> None:
        response = _call("write_data")
        expected = _expected("write_data")
        assert response["isSuccess"] is False and response["writeRecordResults"] is None
        assert response["errorDetails"]["errorCode"] == expected["errorDetails"]["errorCode"]
        assert "orders" in response["errorDetails"]["errorMessage"]

    def test_validate_credentials(self) -> None:
        assert _call("validate_credentials") == _expected("validate_credentials")

    def test_list_entities(self) -> None:
        response = _call("list_entities")
        assert response["isSuccess"] and response["nextToken"] is None
        orders = response["entities"][0]
        assert orders == _expected("list_entities")["entities"][0]
        assert response["cacheControl"] == _expected("list_entities")["cacheControl"]

    def test_describe_entity(self) -> None:
        response = _call("describe_entity")
        ours = response["entityDefinition"]
        theirs = _expected("describe_entity")["entityDefinition"]
        assert ours["entity"] == theirs["entity"]
        assert response["cacheControl"] == _expected("describe_entity")["cacheControl"]
        for mine, ref in zip(ours["fields"], theirs["fields"], strict=True):
            assert mine["fieldName"] == ref["fieldName"]
            assert mine["dataType"] == ref["dataType"]
            assert bool(mine["isPrimaryKey"]) == bool(ref["isPrimaryKey"])
            for key in ("isRetrievable", "isNullable", "isTimestampFieldForIncrementalQueries"):
                assert mine["readProperties"][key] == ref["readProperties"][key], (mine["fieldName"], key)
        # Operators come from the spec's filters, not the SDK's per-type defaults: only updated_at has one.
        ops = {f["fieldName"]: f["filterOperators"] for f in ours["fields"]}
        assert ops["id"] == [] and ops["amount"] == []
        assert set(ops["updated_at"]) >= {"GREATER_THAN", "GREATER_THAN_OR_EQUAL_TO", "LESS_THAN", "BETWEEN"}

    def test_describe_connector_configuration(self) -> None:
        response = _call("describe_connector_configuration")
        expected = _expected("describe_connector_configuration")
        assert set(response) == set(expected)
        assert response["connectorModes"] == ["SOURCE"]
        assert response["supportedApiVersions"] == ["v1"]
        assert response["authenticationConfig"]["isApiKeyAuthSupported"] is True
        assert response["supportedWriteOperations"] == []
        assert response["operatorsSupported"] == expected["operatorsSupported"]
        assert response["supportedTriggerTypes"] == expected["supportedTriggerTypes"]
