"""DescribeConnectorConfiguration, ValidateConnectorRuntimeSettings, ValidateCredentials.

The capabilities are derived from the spec:

* modes: SOURCE, plus DESTINATION when an entity declares writes;
* authentication: the AppFlow types the spec's auth block can be fed from (``credentials.py``), always
  with a CustomAuth whose parameters are exactly the spec's ``{secret.*}`` names; OAuth2 defaults carry the
  spec's token URL (``{config.x}`` becomes AppFlow's ``{{x}}`` template);
* runtime settings: ``settings.py``;
* API versions: the ``vN`` segment of the base URL (else ``v1``);
* operators: all of the SDK's (the row filters are evaluated here; AppFlow performs the rest itself);
* trigger frequencies: all, except every-minute runs when no entity supports incremental pulls (each
  run would re-read everything); trigger types SCHEDULED and ONDEMAND;
* write operations: the spec's create/update/upsert/delete as INSERT/UPDATE/UPSERT/DELETE;
* logo: ``APPFLOW_CONNECTOR_LOGO_URL`` (an https URL) as ``logoURL``, else none.
"""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from appflow_connector import __version__, budget
from appflow_connector.credentials import API_KEY, BASIC, CUSTOM, OAUTH2, auth_needs, supported_types
from appflow_connector.errors import details, to_details
from appflow_connector.metadata import WRITE_OPS
from appflow_connector.runtime import Runtime
from appflow_connector.sdk import (
    AuthenticationConfig,
    AuthParameter,
    ConfigurationHandler,
    ConnectorModes,
    CustomAuthConfig,
    ErrorCode,
    OAuth2Defaults,
    OAuth2GrantType,
    TriggerFrequency,
    TriggerType,
    WriteOperationType,
    requests,
    responses,
    sdk_auth,
)
from appflow_connector.settings import declarations, label, resolve
from shared.errors import ConfigError
from shared.spec.model import SourceSpec

DEFAULT_OWNER = "saas-connectors"
OAUTH_AUTH_URL_ENV = "SAAS_OAUTH2_AUTH_URL"
LOGO_URL_ENV = "APPFLOW_CONNECTOR_LOGO_URL"
_LOGO_URL = re.compile(r"^https://[^\s/?#@]+(/\S*)?$")
_NOT_SENSITIVE = re.compile(r"(^|_)(id|user|username|user_name|login|tenant|account|region)$", re.IGNORECASE)


class _OAuth2Defaults(OAuth2Defaults):
    """The SDK's ``to_dict`` iterates ``add_basic_auth_header`` when it is True; emit the bool instead."""

    def __init__(self, *args: Any, basic_header: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, add_basic_auth_header=False, **kwargs)
        self.basic_header = basic_header

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = super().to_dict()
        out[sdk_auth.ADD_BASIC_AUTH_HEADER] = self.basic_header
        return out


def _appflow_template(url: str) -> str:
    """``https://{config.tenant}.example.com`` -> AppFlow's ``https://{{tenant}}.example.com``."""
    return re.sub(r"\{config\.([A-Za-z0-9_]+)\}", r"{{\1}}", url)


def _auth_url(token_url: str) -> str:
    configured = os.environ.get(OAUTH_AUTH_URL_ENV)
    if configured:
        return configured
    parts = urlsplit(token_url)
    path = re.sub(r"token/?$", "authorize", parts.path) if parts.path.rstrip("/").endswith("token") else parts.path
    return urlunsplit((parts.scheme, parts.netloc, path or "/authorize", "", ""))


def authentication_config(spec: SourceSpec) -> AuthenticationConfig:
    auth = spec.api.auth
    types = supported_types(auth)
    needs = auth_needs(auth)
    params = [
        AuthParameter(
            key=name,
            required=True,
            label=label(name),
            description=f"Used by the API's {auth.type.replace('_', ' ')} authentication",
            sensitive_field=not _NOT_SENSITIVE.search(name),
        )
        for name in needs.names
    ]
    oauth = None
    if OAUTH2 in types:
        token_url = str(auth.params.get("token_url", ""))
        grant = (
            OAuth2GrantType.CLIENT_CREDENTIALS
            if auth.type == "oauth2_client_credentials"
            else OAuth2GrantType.AUTHORIZATION_CODE
        )
        scope = str(auth.params.get("scope") or "")
        oauth = _OAuth2Defaults(
            token_url=[_appflow_template(token_url)],
            auth_url=[_appflow_template(_auth_url(token_url))],
            o_auth_2_grant_types_supported=[grant],
            o_auth_scopes=scope.split() or None,
            basic_header=str(auth.params.get("auth_style", "body")) == "basic",
        )
    return AuthenticationConfig(
        is_basic_auth_supported=BASIC in types,
        is_api_key_auth_supported=API_KEY in types,
        is_oauth_2_supported=OAUTH2 in types,
        is_custom_auth_supported=CUSTOM in types,
        o_auth_2_defaults=oauth,
        custom_auth_config=[CustomAuthConfig(authentication_type=spec.api.name, auth_parameters=params)],
    )


def api_version(spec: SourceSpec) -> str:
    match = re.search(r"/(v\d+(?:\.\d+)?)(?:/|$)", urlsplit(spec.api.base_url).path)
    return match.group(1) if match else "v1"


def connector_modes(spec: SourceSpec) -> list[ConnectorModes]:
    writable = any(e.writable for e in spec.entities)
    return [ConnectorModes.SOURCE, ConnectorModes.DESTINATION] if writable else [ConnectorModes.SOURCE]


def write_operations(spec: SourceSpec) -> list[WriteOperationType]:
    ops = {WRITE_OPS[op] for e in spec.entities for op in e.writes if op in WRITE_OPS}
    return [op for op in WriteOperationType if op in ops]


def trigger_frequencies(spec: SourceSpec) -> list[TriggerFrequency]:
    incremental = any(e.incremental_field for e in spec.entities)
    return [f for f in TriggerFrequency if incremental or f is not TriggerFrequency.BYMINUTE]


def logo_url() -> str | None:
    """The deployment's logo URL, or None; a malformed one is a configuration error (shown at registration)."""
    value = os.environ.get(LOGO_URL_ENV, "").strip()
    if not value:
        return None
    if len(value) > 2000 or not _LOGO_URL.match(value):
        example = "https://example.com/logo.png"
        raise ConfigError(f"{LOGO_URL_ENV} must be an https URL such as {example}, got {value[:80]!r}")
    return value


def describe_configuration(spec: SourceSpec) -> responses.DescribeConnectorConfigurationResponse:
    return responses.DescribeConnectorConfigurationResponse(
        connector_owner=os.environ.get("APPFLOW_CONNECTOR_OWNER", DEFAULT_OWNER),
        connector_name=os.environ.get("APPFLOW_CONNECTOR_NAME", spec.api.name),
        connector_version=__version__,
        connector_modes=connector_modes(spec),
        supported_api_versions=[api_version(spec)],
        is_success=True,
        trigger_frequencies_supported=trigger_frequencies(spec),
        supported_write_operations=write_operations(spec),
        supported_trigger_types=[TriggerType.SCHEDULED, TriggerType.ONDEMAND],
        authentication_config=authentication_config(spec),
        connector_runtime_setting=[d.to_sdk() for d in declarations(spec)],
        logo_url=logo_url(),
    )


def failed_configuration(error: Any) -> responses.DescribeConnectorConfigurationResponse:
    return responses.DescribeConnectorConfigurationResponse(
        connector_owner=os.environ.get("APPFLOW_CONNECTOR_OWNER", DEFAULT_OWNER),
        connector_name=os.environ.get("APPFLOW_CONNECTOR_NAME", "saas_connector"),
        connector_version=__version__,
        connector_modes=[ConnectorModes.SOURCE],
        supported_api_versions=[],
        is_success=False,
        authentication_config=AuthenticationConfig(),
        error_details=error,
    )


class ConnectorConfigurationHandler(ConfigurationHandler):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def describe_connector_configuration(
        self, request: requests.DescribeConnectorConfigurationRequest
    ) -> responses.DescribeConnectorConfigurationResponse:
        try:
            return describe_configuration(self.runtime.spec())
        except Exception as exc:
            return failed_configuration(to_details(exc))

    def validate_connector_runtime_settings(
        self, request: requests.ValidateConnectorRuntimeSettingsRequest
    ) -> responses.ValidateConnectorRuntimeSettingsResponse:
        try:
            raw = request.connector_runtime_settings
            if raw is not None and not isinstance(raw, dict):
                return responses.ValidateConnectorRuntimeSettingsResponse(
                    is_success=False,
                    error_details=details(ErrorCode.InvalidArgument, "connectorRuntimeSettings must be an object"),
                )
            _, errors = resolve(self.runtime.spec(), raw, strict=True, scope=request.scope)
            if not errors:
                return responses.ValidateConnectorRuntimeSettingsResponse(is_success=True)
            summary = "; ".join(errors[k] for k in sorted(errors))
            return responses.ValidateConnectorRuntimeSettingsResponse(
                is_success=False,
                errors_by_input_field={
                    k: details(ErrorCode.InvalidArgument, v).error_message for k, v in errors.items()
                },
                error_details=details(ErrorCode.InvalidArgument, summary),
            )
        except Exception as exc:
            return responses.ValidateConnectorRuntimeSettingsResponse(is_success=False, error_details=to_details(exc))

    def validate_credentials(
        self, request: requests.ValidateCredentialsRequest
    ) -> responses.ValidateCredentialsResponse:
        connection = None
        try:
            connection = self.runtime.connect(request.credentials, request.connector_runtime_settings)
            deadline = budget.current().deadline(budget.METADATA_TIME_BUDGET_S)
            connection.client.check_credentials(deadline)
            return responses.ValidateCredentialsResponse(is_success=True)
        except Exception as exc:
            self.runtime.forget_credentials(connection, exc)
            return responses.ValidateCredentialsResponse(is_success=False, error_details=to_details(exc))
