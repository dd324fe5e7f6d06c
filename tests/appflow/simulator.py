"""An AppFlow stand-in: it sends the events AppFlow sends, checks every answer against the protocol, and
pages a query until ``nextToken`` comes back null, the way a flow run does.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from appflow_connector import budget
from appflow_connector.handler import ConnectorHandler
from appflow_connector.sdk import (
    ConnectorModes,
    ConnectorOperator,
    ErrorCode,
    FieldDataType,
    TriggerFrequency,
    TriggerType,
    WriteOperationType,
)

LAMBDA_LIMIT_BYTES = 6 * 1024 * 1024
COMMON_KEYS = {"isSuccess", "errorDetails"}
RESPONSE_KEYS = {
    "DescribeConnectorConfigurationRequest": {
        "connectorOwner",
        "connectorName",
        "connectorVersion",
        "connectorModes",
        "authenticationConfig",
        "supportedApiVersions",
        "connectorRuntimeSetting",
        "logoURL",
        "operatorsSupported",
        "triggerFrequenciesSupported",
        "supportedWriteOperations",
        "supportedTriggerTypes",
    },
    "ValidateCredentialsRequest": set(),
    "ValidateConnectorRuntimeSettingsRequest": {"errorsByInputField"},
    "ListEntitiesRequest": {"entities", "nextToken", "cacheControl"},
    "DescribeEntityRequest": {"entityDefinition", "cacheControl"},
    "RetrieveDataRequest": {"records"},
    "QueryDataRequest": {"records", "nextToken"},
    "WriteDataRequest": {"writeRecordResults"},
}
ERROR_CODES = set(ErrorCode.__members__)


class FakeContext:
    """The part of the Lambda context the connector reads."""

    aws_request_id = "test-request"

    def __init__(self, budget_s: float = 30.0) -> None:
        self.end = time.monotonic() + budget_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.end - time.monotonic()) * 1000))


def check_response(kind: str, response: Any, *, selected: list[str] | None = None) -> dict[str, Any]:
    """Assert the protocol: serialisable, typed as the SDK emits it, under the size budget."""
    assert isinstance(response, dict), f"{kind}: response is {type(response).__name__}"
    text = json.dumps(response)  # what the Lambda runtime does
    assert len(text.encode()) < budget.MAX_RESPONSE_BYTES <= LAMBDA_LIMIT_BYTES, f"{kind}: {len(text)} bytes"
    assert isinstance(response["isSuccess"], bool)
    if kind in RESPONSE_KEYS:
        assert set(response) == COMMON_KEYS | RESPONSE_KEYS[kind], f"{kind}: keys {sorted(response)}"
    else:
        assert set(response) == COMMON_KEYS
    err = response["errorDetails"]
    if not response["isSuccess"]:
        assert isinstance(err, dict), f"{kind}: failure without errorDetails"
    if err is not None:
        assert set(err) == {"errorCode", "errorMessage", "retryAfterSeconds"}
        assert err["errorCode"] in ERROR_CODES
        assert isinstance(err["errorMessage"], str) and 0 < len(err["errorMessage"]) <= 1024
    if "records" in response and response["records"] is not None:
        assert isinstance(response["records"], list)
        for rec in response["records"]:
            assert isinstance(rec, str), f"{kind}: a record is {type(rec).__name__}, not a JSON string"
            obj = json.loads(rec)
            assert isinstance(obj, dict)
            if selected is not None:
                assert list(obj) == selected
    if "nextToken" in response:
        assert response["nextToken"] is None or isinstance(response["nextToken"], str)
    _check_types(kind, response)
    return response


def _names(values: Any, enum: Any) -> None:
    assert isinstance(values, list) and all(v in enum.__members__ for v in values), values


def _check_types(kind: str, response: dict[str, Any]) -> None:
    """The value types the SDK's to_dict produces (and the Java side of AppFlow parses)."""
    if kind == "WriteDataRequest" and response["writeRecordResults"] is not None:
        for result in response["writeRecordResults"]:
            assert set(result) == {"isSuccess", "recordId", "errorMessage"}
            assert isinstance(result["isSuccess"], bool)
            assert result["recordId"] is None or isinstance(result["recordId"], str)
            assert (result["errorMessage"] is None) == result["isSuccess"]
    if kind == "ValidateConnectorRuntimeSettingsRequest" and response["errorsByInputField"] is not None:
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in response["errorsByInputField"].items())
    if kind == "ListEntitiesRequest" and response["entities"] is not None:
        for entity in response["entities"]:
            assert isinstance(entity["entityIdentifier"], str)
            assert isinstance(entity["hasNestedEntities"], bool) and isinstance(entity["isWritable"], bool)
    if kind == "DescribeEntityRequest" and response["entityDefinition"] is not None:
        for f in response["entityDefinition"]["fields"]:
            assert f["dataType"] in FieldDataType.__members__
            _names(f["filterOperators"], ConnectorOperator)
            assert all(isinstance(v, bool) for v in f["readProperties"].values())
    if kind == "DescribeConnectorConfigurationRequest" and response["isSuccess"]:
        _names(response["connectorModes"], ConnectorModes)
        _names(response["operatorsSupported"], ConnectorOperator)
        _names(response["triggerFrequenciesSupported"], TriggerFrequency)
        _names(response["supportedWriteOperations"], WriteOperationType)
        _names(response["supportedTriggerTypes"], TriggerType)
        assert all(isinstance(v, str) for v in response["supportedApiVersions"])


@dataclass
class QueryRun:
    records: list[dict[str, Any]]
    pages: list[int] = field(default_factory=list)  # records per response
    tokens: list[str | None] = field(default_factory=list)

    def ids(self, key: str = "id") -> list[Any]:
        return [r[key] for r in self.records]


@dataclass
class AppFlow:
    handler: ConnectorHandler
    secret_arn: str = "arn:aws:secretsmanager:us-east-1:111122223333:secret:appflow!111122223333-demo-profile-AbCdEf"
    auth_type: str = "ApiKey"
    profile_settings: dict[str, str] = field(default_factory=dict)
    flow_settings: dict[str, str] = field(default_factory=dict)
    api_version: str = "v1"
    call_seconds: list[float] = field(default_factory=list)
    definitions: dict[str, dict[str, Any]] = field(default_factory=dict)

    # -- plumbing ------------------------------------------------------------------------------------
    def call(
        self, event: dict[str, Any], *, budget_s: float = 30.0, selected: list[str] | None = None
    ) -> dict[str, Any]:
        wire = json.loads(json.dumps(event))
        started = time.monotonic()
        response = self.handler.lambda_handler(wire, FakeContext(budget_s))
        elapsed = time.monotonic() - started
        self.call_seconds.append(elapsed)
        assert elapsed < budget_s, f"{event['type']} took {elapsed:.1f}s"
        return check_response(event["type"], response, selected=selected)

    def credentials(self) -> dict[str, str]:
        return {"secretArn": self.secret_arn, "authenticationType": self.auth_type}

    def context(self, entity: str | None = None) -> dict[str, Any]:
        ctx: dict[str, Any] = {
            "apiVersion": self.api_version,
            "connectorRuntimeSettings": {**self.profile_settings, **self.flow_settings},
            "credentials": self.credentials(),
            "flowName": "sim-flow",
            "executionId": "sim-execution",
            "connectorProfileLabel": "sim-profile",
        }
        if entity is not None and entity in self.definitions:
            ctx["entityDefinition"] = self.definitions[entity]
        return ctx

    # -- the steps of a flow ---------------------------------------------------------------------------
    def describe_connector(self) -> dict[str, Any]:
        return self.call({"type": "DescribeConnectorConfigurationRequest", "locale": "en-US"})

    def validate_settings(self, scope: str, settings: dict[str, str]) -> dict[str, Any]:
        return self.call(
            {"type": "ValidateConnectorRuntimeSettingsRequest", "scope": scope, "connectorRuntimeSettings": settings}
        )

    def validate_credentials(self) -> dict[str, Any]:
        return self.call(
            {
                "type": "ValidateCredentialsRequest",
                "credentials": self.credentials(),
                "connectorRuntimeSettings": self.profile_settings,
            }
        )

    def list_entities(self, path: str | None = None) -> dict[str, Any]:
        return self.call(
            {
                "type": "ListEntitiesRequest",
                "connectorContext": self.context(),
                "entitiesPath": path,
                "maxResult": 1000,
                "nextToken": None,
            }
        )

    def all_entities(self) -> list[str]:
        """Walk the entity tree the way the console does (recursing on hasNestedEntities)."""
        found: list[str] = []
        pending: list[str | None] = [None]
        while pending:
            path = pending.pop(0)
            response = self.list_entities(path)
            assert response["isSuccess"], response
            for e in response["entities"]:
                name = e["entityIdentifier"]
                if name not in found:
                    found.append(name)
                    if e["hasNestedEntities"]:
                        pending.append(name)
        return found

    def describe_entity(self, entity: str) -> dict[str, Any]:
        response = self.call(
            {"type": "DescribeEntityRequest", "entityIdentifier": entity, "connectorContext": self.context()}
        )
        assert response["isSuccess"], response
        self.definitions[entity] = response["entityDefinition"]
        return response["entityDefinition"]  # type: ignore[no-any-return]

    def query_page(
        self,
        entity: str,
        *,
        max_results: int | None,
        token: str | None = None,
        filter_expression: str | None = None,
        fields: list[str] | None = None,
        budget_s: float = 30.0,
    ) -> dict[str, Any]:
        event = {
            "type": "QueryDataRequest",
            "entityIdentifier": entity,
            "connectorContext": self.context(entity),
            "selectedFieldNames": fields,
            "filterExpression": filter_expression,
            "maxResults": max_results,
            "nextToken": token,
        }
        return self.call(event, budget_s=budget_s, selected=fields)

    def query_all(
        self,
        entity: str,
        *,
        max_results: int | None,
        filter_expression: str | None = None,
        fields: list[str] | None = None,
        between_pages: Callable[[int], None] | None = None,
        budget_s: float = 30.0,
        max_calls: int = 20_000,
    ) -> QueryRun:
        """Page until nextToken is null; fail on an error, an oversize page, or no progress."""
        if fields is None and entity in self.definitions:
            fields = [f["fieldName"] for f in self.definitions[entity]["fields"]]
        run = QueryRun([])
        token: str | None = None
        for call in range(max_calls):
            response = self.query_page(
                entity,
                max_results=max_results,
                token=token,
                filter_expression=filter_expression,
                fields=fields,
                budget_s=budget_s,
            )
            assert response["isSuccess"], response["errorDetails"]
            records = response["records"]
            if max_results is not None:
                assert len(records) <= max_results
            run.records.extend(json.loads(r) for r in records)
            run.pages.append(len(records))
            new_token = response["nextToken"]
            run.tokens.append(new_token)
            if new_token is None:
                return run
            assert new_token != token, "the same nextToken twice: no progress"
            token = new_token
            if between_pages is not None:
                between_pages(call)
        raise AssertionError(f"no end after {max_calls} calls")
