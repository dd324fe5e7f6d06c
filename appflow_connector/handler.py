"""Lambda entry point: ``appflow_connector.handler.lambda_handler``.

Built on the SDK's ``BaseLambdaConnectorHandler`` and its request/response classes, but its dispatch is
replaced: the SDK turns every exception (a missing ``type``, an assertion in ``from_dict``, a
``KeyError`` on an unknown ``authenticationType``) into a bare ``RuntimeError``, which AppFlow shows as
an opaque failure. Here a malformed event is answered like any other failure, with ``isSuccess: false``
and an InvalidArgument that says what is wrong, in the response shape of the request type.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from appflow_connector import budget
from appflow_connector.configuration import ConnectorConfigurationHandler, failed_configuration
from appflow_connector.credentials import SecretSource
from appflow_connector.errors import details, to_details
from appflow_connector.metadata import ConnectorMetadataHandler
from appflow_connector.records import ConnectorRecordHandler
from appflow_connector.runtime import Runtime
from appflow_connector.sdk import (
    DESCRIBE_CONNECTOR_CONFIGURATION,
    DESCRIBE_ENTITY,
    LIST_ENTITIES,
    QUERY_DATA,
    RETRIEVE_DATA,
    VALIDATE_CONNECTOR_RUNTIME_SETTINGS,
    VALIDATE_CREDENTIALS,
    WRITE_DATA,
    AuthenticationType,
    BaseLambdaConnectorHandler,
    ConnectorRuntimeSettingScope,
    ErrorCode,
    ErrorDetails,
    WriteOperationType,
    requests,
    responses,
)
from shared.coldstart import imports_done

log = logging.getLogger("appflow_connector")

REQUEST_CLASSES: dict[str, Any] = {
    VALIDATE_CONNECTOR_RUNTIME_SETTINGS: requests.ValidateConnectorRuntimeSettingsRequest,
    VALIDATE_CREDENTIALS: requests.ValidateCredentialsRequest,
    DESCRIBE_CONNECTOR_CONFIGURATION: requests.DescribeConnectorConfigurationRequest,
    LIST_ENTITIES: requests.ListEntitiesRequest,
    DESCRIBE_ENTITY: requests.DescribeEntityRequest,
    RETRIEVE_DATA: requests.RetrieveDataRequest,
    WRITE_DATA: requests.WriteDataRequest,
    QUERY_DATA: requests.QueryDataRequest,
}

FAILURES: dict[str, Callable[[ErrorDetails], Any]] = {
    VALIDATE_CONNECTOR_RUNTIME_SETTINGS: lambda d: responses.ValidateConnectorRuntimeSettingsResponse(
        is_success=False, error_details=d
    ),
    VALIDATE_CREDENTIALS: lambda d: responses.ValidateCredentialsResponse(is_success=False, error_details=d),
    DESCRIBE_CONNECTOR_CONFIGURATION: failed_configuration,
    LIST_ENTITIES: lambda d: responses.ListEntitiesResponse(is_success=False, error_details=d),
    DESCRIBE_ENTITY: lambda d: responses.DescribeEntityResponse(is_success=False, error_details=d),
    RETRIEVE_DATA: lambda d: responses.RetrieveDataResponse(is_success=False, error_details=d),
    WRITE_DATA: lambda d: responses.WriteDataResponse(is_success=False, error_details=d),
    QUERY_DATA: lambda d: responses.QueryDataResponse(is_success=False, error_details=d),
}

REQUIRED_KEYS: dict[str, tuple[str, ...]] = {
    VALIDATE_CONNECTOR_RUNTIME_SETTINGS: ("scope", "connectorRuntimeSettings"),
    VALIDATE_CREDENTIALS: ("credentials",),
    LIST_ENTITIES: ("connectorContext",),
    DESCRIBE_ENTITY: ("entityIdentifier", "connectorContext"),
    RETRIEVE_DATA: ("entityIdentifier", "connectorContext"),
    WRITE_DATA: ("entityIdentifier", "connectorContext"),
    QUERY_DATA: ("entityIdentifier", "connectorContext"),
}


class MalformedRequest(ValueError):
    pass


_JSON_NAMES = {str: "a string", int: "an integer", bool: "true or false", list: "an array", dict: "an object"}
# The request fields the handlers read, by JSON type (null is always allowed here; required keys are above).
FIELD_TYPES: dict[str, type] = {
    "entityIdentifier": str,
    "entitiesPath": str,
    "nextToken": str,
    "maxResult": int,
    "maxResults": int,
    "selectedFieldNames": list,
    "filterExpression": str,
    "idFieldName": str,
    "idFieldNames": list,
    "ids": list,
    "records": list,
    "operation": str,
    "allOrNone": bool,
    "locale": str,
    "scope": str,
    "credentials": dict,
    "connectorRuntimeSettings": dict,
    "connectorContext": dict,
}
CONTEXT_TYPES: dict[str, type] = {"apiVersion": str, "credentials": dict, "connectorRuntimeSettings": dict}


def _check_types(values: dict[str, Any], types: dict[str, type], where: str = "") -> None:
    for key, expected in types.items():
        value = values.get(key)
        if value is None:
            continue
        ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
        if not ok:
            raise MalformedRequest(f"{where}{key} must be {_JSON_NAMES[expected]}, got {type(value).__name__}")
    for key in ("selectedFieldNames", "idFieldNames", "records"):
        items = values.get(key)
        if isinstance(items, list) and not all(isinstance(v, str) for v in items):
            raise MalformedRequest(f"{where}{key} must be an array of strings")


def _is_member(value: Any, names: Any) -> bool:
    """``value in names`` for any JSON value (a list or an object in the event is not a name, not a TypeError)."""
    return isinstance(value, str) and value in names


def _show(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check_credentials(value: Any, where: str) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        raise MalformedRequest(f"{where} must be an object")
    kind = value.get("authenticationType")
    if kind is None:
        raise MalformedRequest(
            f"{where}.authenticationType is missing ({where} must be {{secretArn, authenticationType}}; "
            "inline credentials are not supported)"
        )
    if not _is_member(kind, AuthenticationType.__members__):
        raise MalformedRequest(
            f"{where}.authenticationType must be one of {', '.join(AuthenticationType.__members__)}, got {_show(kind)}"
        )
    arn = value.get("secretArn")
    if arn is not None and not isinstance(arn, str):
        raise MalformedRequest(f"{where}.secretArn must be a string (a Secrets Manager ARN), got {type(arn).__name__}")


def check_event(kind: str, event: dict[str, Any]) -> None:
    """What the SDK's ``from_dict`` would trip over, reported as a sentence instead of an exception."""
    missing = [k for k in REQUIRED_KEYS.get(kind, ()) if k not in event]
    if missing:
        raise MalformedRequest(f"{kind} is missing {', '.join(missing)}")
    _check_types(event, FIELD_TYPES)
    if "connectorContext" in REQUIRED_KEYS.get(kind, ()):
        ctx = event["connectorContext"]
        if not isinstance(ctx, dict):
            raise MalformedRequest("connectorContext must be an object")
        if "apiVersion" not in ctx:
            raise MalformedRequest("connectorContext.apiVersion is missing")
        _check_types(ctx, CONTEXT_TYPES, "connectorContext.")
        _check_credentials(ctx.get("credentials"), "connectorContext.credentials")
        settings = ctx.get("connectorRuntimeSettings")
        if settings is not None and not isinstance(settings, dict):
            raise MalformedRequest("connectorContext.connectorRuntimeSettings must be an object")
    if kind == VALIDATE_CREDENTIALS:
        if event["credentials"] is None:
            raise MalformedRequest("credentials must not be null")
        _check_credentials(event["credentials"], "credentials")
    if kind == VALIDATE_CONNECTOR_RUNTIME_SETTINGS:
        scope = event["scope"]
        if not _is_member(scope, ConnectorRuntimeSettingScope.__members__):
            raise MalformedRequest(
                f"scope must be one of {', '.join(ConnectorRuntimeSettingScope.__members__)}, got {_show(scope)}"
            )
    if (
        kind == WRITE_DATA
        and "operation" in event
        and not _is_member(event["operation"], WriteOperationType.__members__)
    ):
        raise MalformedRequest(
            f"operation must be one of {', '.join(WriteOperationType.__members__)}, got {_show(event['operation'])}"
        )


def build_request(kind: str, event: dict[str, Any]) -> Any:
    check_event(kind, event)
    cls = REQUEST_CLASSES[kind]
    try:
        return cls.from_dict(event)
    except (AssertionError, KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
        # ArithmeticError: the SDK reads some numbers with Decimal(), whose syntax error is an InvalidOperation
        ctx = event.get("connectorContext")
        if isinstance(ctx, dict) and "entityDefinition" in ctx:
            # The definition is only an echo of describe_entity; the spec is what counts.
            log.warning("ignoring an unreadable connectorContext.entityDefinition: %s", _show(exc, 200))
            return cls.from_dict(
                {**event, "connectorContext": {k: v for k, v in ctx.items() if k != "entityDefinition"}}
            )
        text = str(exc)
        text = text if len(text) <= 300 else text[:297] + "..."
        raise MalformedRequest(f"malformed {kind}: {type(exc).__name__} {text}") from None


class ConnectorHandler(BaseLambdaConnectorHandler):
    def __init__(self, secrets: SecretSource | None = None) -> None:
        self.runtime = Runtime(secrets)
        super().__init__(
            ConnectorMetadataHandler(self.runtime),
            ConnectorRecordHandler(self.runtime),
            ConnectorConfigurationHandler(self.runtime),
        )
        self.dispatch: dict[str, Callable[[Any], Any]] = {
            VALIDATE_CONNECTOR_RUNTIME_SETTINGS: self.configuration_handler.validate_connector_runtime_settings,
            VALIDATE_CREDENTIALS: self.configuration_handler.validate_credentials,
            DESCRIBE_CONNECTOR_CONFIGURATION: self.configuration_handler.describe_connector_configuration,
            LIST_ENTITIES: self.metadata_handler.list_entities,
            DESCRIBE_ENTITY: self.metadata_handler.describe_entity,
            RETRIEVE_DATA: self.record_handler.retrieve_data,
            WRITE_DATA: self.record_handler.write_data,
            QUERY_DATA: self.record_handler.query_data,
        }

    def lambda_handler(self, event: Any, context: Any) -> dict[str, Any]:
        if not isinstance(event, dict):
            return _bare_failure(f"the event must be a JSON object, got {type(event).__name__}")
        kind = event.get("type")
        if not _is_member(kind, self.dispatch):
            return _bare_failure(f"unknown request type {_show(kind)}; expected one of {', '.join(self.dispatch)}")
        with budget.invocation(context, event) as inv:
            log.info("handling %s %s", kind, inv.log_keys)
            try:
                request = build_request(kind, event)
                response = self.dispatch[kind](request)
                return response.to_dict()  # type: ignore[no-any-return]
            except MalformedRequest as exc:
                log.warning("malformed request: %s", exc)
                return FAILURES[kind](details(ErrorCode.InvalidArgument, str(exc))).to_dict()  # type: ignore[no-any-return]
            except Exception as exc:  # last resort: never raise into the Lambda runtime
                return FAILURES[kind](to_details(exc)).to_dict()  # type: ignore[no-any-return]


def _bare_failure(message: str) -> dict[str, Any]:
    log.warning("rejected event: %s", message)
    return {"isSuccess": False, "errorDetails": details(ErrorCode.InvalidArgument, message).to_dict()}


log.setLevel(os.environ.get("LOG_LEVEL", "INFO"))

HANDLER = ConnectorHandler()


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    """The function AppFlow invokes (set the Lambda handler to ``appflow_connector.handler.lambda_handler``)."""
    return HANDLER.lambda_handler(event, context)


imports_done()  # last: everything this module needs is imported
