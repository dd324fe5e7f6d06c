"""The AppFlow custom connector calls, as AppFlow makes them: the SDK's JSON events (``type`` plus the
request's keys, the shared ``connectorContext``) sent through an :class:`~saas_cli.invoker.Invoker`, each
answer checked (``isSuccess``, ``errorDetails``, records as JSON strings)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from saas_cli.errors import CliError, ProtocolError
from saas_cli.invoker import Invoker

DEFAULT_API_VERSION = "v1"
LOCAL_SECRET_NAME = "appflow!000000000000-saas-connectors-local"


class ConnectorRefused(CliError):
    """The connector answered ``isSuccess: false``."""

    def __init__(self, request: str, details: dict[str, Any] | None) -> None:
        details = details or {}
        self.error_code = str(details.get("errorCode") or "UnknownError")
        self.error_message = str(details.get("errorMessage") or "no errorDetails")
        super().__init__(f"{request}: {self.error_code}: {self.error_message}")


@dataclass
class AppFlowCall:
    request: str
    seconds: float
    ok: bool
    detail: str = ""


@dataclass
class Connection:
    """What a connector profile (and a flow's source settings) hands the connector."""

    secret_arn: str | None
    auth_type: str = "CustomAuth"
    api_version: str = DEFAULT_API_VERSION
    profile_settings: dict[str, str] = field(default_factory=dict)
    flow_settings: dict[str, str] = field(default_factory=dict)
    flow_name: str = "saas-connectors-flow"
    execution_id: str = "local"
    profile_label: str = "saas-connectors-profile"

    def credentials(self) -> dict[str, str] | None:
        if not self.secret_arn:
            return None
        return {"secretArn": self.secret_arn, "authenticationType": self.auth_type}


@dataclass
class AppFlowCalls:
    invoker: Invoker
    connection: Connection
    calls: list[AppFlowCall] = field(default_factory=list)
    definitions: dict[str, dict[str, Any]] = field(default_factory=dict)

    def _send(self, event: dict[str, Any], detail: str = "", *, check: bool = True) -> dict[str, Any]:
        kind = event["type"]
        started = time.perf_counter()
        out = self.invoker.invoke(event)
        ok = out.get("isSuccess") is True
        self.calls.append(AppFlowCall(kind, time.perf_counter() - started, ok, detail))
        if not isinstance(out.get("isSuccess"), bool):
            raise ProtocolError(f"{kind}: the response has no boolean isSuccess")
        if check and not ok:
            raise ConnectorRefused(kind, out.get("errorDetails"))
        return out

    def context(self, entity: str | None = None) -> dict[str, Any]:
        c = self.connection
        ctx: dict[str, Any] = {
            "apiVersion": c.api_version,
            "connectorRuntimeSettings": {**c.profile_settings, **c.flow_settings},
            "credentials": c.credentials(),
            "flowName": c.flow_name,
            "executionId": c.execution_id,
            "connectorProfileLabel": c.profile_label,
        }
        if entity is not None and entity in self.definitions:
            ctx["entityDefinition"] = self.definitions[entity]
        return ctx

    # -- configuration ---------------------------------------------------------------------------------
    def describe_connector(self) -> dict[str, Any]:
        return self._send({"type": "DescribeConnectorConfigurationRequest", "locale": "en-US"})

    def validate_settings(self, scope: str, settings: dict[str, str], *, check: bool = True) -> dict[str, Any]:
        event = {
            "type": "ValidateConnectorRuntimeSettingsRequest",
            "scope": scope,
            "connectorRuntimeSettings": settings,
        }
        out = self._send(event, scope, check=False)
        if check and not out["isSuccess"]:
            problems = out.get("errorsByInputField") or {}
            if problems:
                text = "; ".join(f"{k}: {v}" for k, v in problems.items())
                raise CliError(f"ValidateConnectorRuntimeSettings ({scope}): {text}")
            raise ConnectorRefused("ValidateConnectorRuntimeSettingsRequest", out.get("errorDetails"))
        return out

    def validate_credentials(self) -> dict[str, Any]:
        event = {
            "type": "ValidateCredentialsRequest",
            "credentials": self.connection.credentials(),
            "connectorRuntimeSettings": self.connection.profile_settings,
        }
        return self._send(event)

    # -- metadata --------------------------------------------------------------------------------------
    def list_entities(self, path: str | None = None) -> list[dict[str, Any]]:
        entities: list[dict[str, Any]] = []
        token = None
        while True:
            event = {
                "type": "ListEntitiesRequest",
                "connectorContext": self.context(),
                "entitiesPath": path,
                "maxResult": 1000,
                "nextToken": token,
            }
            out = self._send(event, path or "")
            entities += out.get("entities") or []
            new_token = out.get("nextToken")
            if not new_token or new_token == token:
                return entities
            token = new_token

    def all_entities(self) -> list[str]:
        """The entity tree, walked as the console does (recursing on hasNestedEntities)."""
        found: list[str] = []
        pending: list[str | None] = [None]
        while pending:
            path = pending.pop(0)
            for e in self.list_entities(path):
                name = str(e["entityIdentifier"])
                if name not in found:
                    found.append(name)
                    if e.get("hasNestedEntities"):
                        pending.append(name)
        return found

    def describe_entity(self, entity: str) -> dict[str, Any]:
        event = {"type": "DescribeEntityRequest", "entityIdentifier": entity, "connectorContext": self.context()}
        out = self._send(event, entity)
        definition = out.get("entityDefinition")
        if not isinstance(definition, dict) or not isinstance(definition.get("fields"), list):
            raise ProtocolError(f"DescribeEntity {entity}: no entityDefinition with fields")
        self.definitions[entity] = definition
        return definition

    # -- records ---------------------------------------------------------------------------------------
    def query_page(
        self,
        entity: str,
        *,
        fields: list[str] | None,
        filter_expression: str | None,
        max_results: int | None,
        token: str | None,
    ) -> tuple[list[str], str | None]:
        event = {
            "type": "QueryDataRequest",
            "entityIdentifier": entity,
            "connectorContext": self.context(entity),
            "selectedFieldNames": fields,
            "filterExpression": filter_expression,
            "maxResults": max_results,
            "nextToken": token,
        }
        out = self._send(event, entity)
        records = out.get("records") or []
        if not isinstance(records, list) or not all(isinstance(r, str) for r in records):
            raise ProtocolError(f"QueryData {entity}: records must be a list of JSON strings")
        next_token = out.get("nextToken")
        if next_token is not None and not isinstance(next_token, str):
            raise ProtocolError(f"QueryData {entity}: nextToken must be a string or null")
        return records, next_token

    def write_records(
        self, entity: str, operation: str, records: list[dict[str, Any]], id_fields: list[str] | None
    ) -> dict[str, Any]:
        event = {
            "type": "WriteDataRequest",
            "entityIdentifier": entity,
            "connectorContext": self.context(entity),
            "operation": operation,
            "idFieldNames": id_fields,
            "records": [json.dumps(r, ensure_ascii=False) for r in records],
            "allOrNone": False,
        }
        return self._send(event, f"{operation} {len(records)}", check=False)
