"""AppFlow credentials -> the values the spec's ``{secret.NAME}`` placeholders read.

AppFlow passes only ``{secretArn, authenticationType}``; the secret itself is read here from Secrets
Manager (powertools parameters, cached per ARN). Its key names are AppFlow's, not the spec's:

=============  ===========================================  ==============================================
AppFlow type   keys in the secret                           becomes
=============  ===========================================  ==============================================
ApiKey         ``apiKey``, ``apiSecretKey``                 the spec's first / second ``{secret.*}`` of an
                                                            ``api_key`` or ``bearer`` auth block
BasicAuth      ``username``, ``password``                   the placeholders of ``username`` / ``password``
OAuth2         ``accessToken`` (``refreshToken``)           sent as ``Authorization: Bearer``; AppFlow owns
                                                            the token grant and its refresh
CustomAuth     one key per declared auth parameter          used as is (parameter keys = placeholder names)
=============  ===========================================  ==============================================

The raw secret keys are passed through as well, so a spec may also name AppFlow's keys directly.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from appflow_connector.errors import ConnectorError, invalid_argument
from appflow_connector.sdk import Credentials, ErrorCode
from shared.aws import AwsTimeoutError
from shared.redaction import register_secret
from shared.spec.model import AuthSpec, SourceSpec
from shared.templating import placeholders

log = logging.getLogger(__name__)

SECRET_MAX_AGE_S = 300
OAUTH_SECRET_MAX_AGE_S = 60  # AppFlow rewrites OAuth2 secrets when it refreshes the token
TYPE_KEYS = ("customAuthenticationType", "authenticationType")
ACCESS_TOKEN_PLACEHOLDER = "appflow_access_token"

API_KEY, BASIC, OAUTH2, CUSTOM = "ApiKey", "BasicAuth", "OAuth2", "CustomAuth"


class SecretSource(Protocol):
    def get(self, secret_arn: str, *, max_age_s: int) -> Mapping[str, str]: ...

    def invalidate(self, secret_arn: str) -> None: ...


class PowertoolsSecrets:
    """Secrets Manager through a powertools cached provider whose reads end by the request's deadline
    (``shared.aws_secrets``); ``invalidate`` forces the next read."""

    def __init__(self) -> None:
        self._stale: set[str] = set()
        self._lock = threading.Lock()
        self._reader: Any = None

    def invalidate(self, secret_arn: str) -> None:
        with self._lock:
            self._stale.add(secret_arn)

    def get(self, secret_arn: str, *, max_age_s: int) -> Mapping[str, str]:
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

        from shared.aws_secrets import SecretsReader

        with self._lock:
            force = secret_arn in self._stale
            self._stale.discard(secret_arn)
            if self._reader is None:
                self._reader = SecretsReader()
            reader = self._reader
        try:
            raw = reader.get(secret_arn, max_age=max_age_s, force_fetch=force)
        except GetParameterError as exc:
            raise _secret_error(secret_arn, exc) from None
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8")
        return parse_secret(str(raw))


def _secret_error(secret_arn: str, exc: Exception) -> ConnectorError:
    cause = exc.__cause__ or exc.__context__
    name = secret_arn.rsplit(":", 1)[-1]
    if isinstance(cause, AwsTimeoutError):
        return ConnectorError(ErrorCode.RequestTimeout, f"cannot read the credentials secret '{name}': {cause}")
    code = ""
    response = getattr(cause, "response", None)
    if isinstance(response, dict):
        code = str(response.get("Error", {}).get("Code", ""))
    if code == "ResourceNotFoundException":
        return ConnectorError(
            ErrorCode.ResourceNotFoundError,
            f"the connection's credentials secret '{name}' does not exist (a new secret can take a few "
            "seconds to appear; try again)",
        )
    if code in ("AccessDeniedException", "AccessDenied"):
        return ConnectorError(
            ErrorCode.AccessDenied,
            f"the connector's Lambda role may not read the credentials secret '{name}' "
            "(secretsmanager:GetSecretValue, and kms:Decrypt for a customer-managed key)",
        )
    if code in ("DecryptionFailure", "KMSAccessDeniedException"):
        return ConnectorError(ErrorCode.AccessDenied, f"cannot decrypt the credentials secret '{name}'")
    # Only the class of a non-AWS error: its text could quote a response body, which would hold the secret.
    reason = code or (f"GetSecretValue: {type(cause).__name__}" if cause is not None else "unknown error")
    return ConnectorError(ErrorCode.ServiceUnavailable, f"cannot read the credentials secret '{name}' ({reason})")


def parse_secret(text: str) -> dict[str, str]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise ConnectorError(ErrorCode.InvalidCredentials, "the credentials secret is not a JSON object") from None
    if not isinstance(data, dict):
        raise ConnectorError(ErrorCode.InvalidCredentials, "the credentials secret is not a JSON object")
    values = {str(k): str(v) for k, v in data.items() if v is not None and not isinstance(v, dict | list)}
    for key, value in values.items():
        if key not in TYPE_KEYS:
            register_secret(value)
    return values


# -- what the spec's auth block needs ----------------------------------------------------------------
@dataclass(frozen=True)
class AuthNeeds:
    """The secret placeholders of a spec's auth block, in order, and per parameter."""

    kind: str
    by_param: dict[str, list[str]]

    @property
    def names(self) -> list[str]:
        seen: list[str] = []
        for names in self.by_param.values():
            seen.extend(n for n in names if n not in seen)
        return seen


def auth_needs(auth: AuthSpec) -> AuthNeeds:
    by_param: dict[str, list[str]] = {}
    for key, value in auth.params.items():
        if isinstance(value, str):
            by_param[key] = [name for scope, name in placeholders(value) if scope == "secret"]
    return AuthNeeds(auth.type, by_param)


def supported_types(auth: AuthSpec) -> list[str]:
    """The AppFlow authentication types this spec's auth block can be fed from."""
    kind = auth.type
    if kind in ("api_key", "bearer"):
        return [API_KEY, CUSTOM]
    if kind == "basic":
        return [BASIC, CUSTOM]
    if kind in ("oauth2_client_credentials", "oauth2_refresh_token"):
        return [OAUTH2, CUSTOM]
    return [CUSTOM]


def _require(secret: Mapping[str, str], key: str, kind: str) -> str:
    value = secret.get(key)
    if not value:
        raise ConnectorError(ErrorCode.InvalidCredentials, f"the {kind} credentials secret has no '{key}' value")
    return value


def map_secret(kind: str, secret: Mapping[str, str], auth: AuthSpec) -> tuple[dict[str, str], AuthSpec | None]:
    """Spec-side credential values (and, for OAuth2, the auth block to use instead of the spec's)."""
    needs = auth_needs(auth)
    values = {k: v for k, v in secret.items() if k not in TYPE_KEYS}
    if kind == API_KEY:
        main = needs.by_param.get("value") or needs.by_param.get("token") or needs.names
        names = [*main, *(n for n in needs.names if n not in main)]
        if names:
            values[names[0]] = _require(secret, "apiKey", kind)
        if len(names) > 1 and secret.get("apiSecretKey"):
            values[names[1]] = secret["apiSecretKey"]
        return values, None
    if kind == BASIC:
        for param, key in (("username", "username"), ("password", "password")):
            for name in needs.by_param.get(param, []):
                values[name] = _require(secret, key, kind)
        return values, None
    if kind == OAUTH2:
        values[ACCESS_TOKEN_PLACEHOLDER] = _require(secret, "accessToken", kind)
        return values, AuthSpec("bearer", {"token": "{secret." + ACCESS_TOKEN_PLACEHOLDER + "}"})
    missing = [n for n in needs.names if not values.get(n)]
    if missing:
        raise ConnectorError(
            ErrorCode.InvalidCredentials,
            f"the custom credentials secret has no value for {', '.join(repr(m) for m in missing)}",
        )
    return values, None


def resolve(
    credentials: Credentials | None, spec: SourceSpec, secrets: SecretSource
) -> tuple[dict[str, str], AuthSpec | None, str | None]:
    """``(values, auth override, secret ARN)`` for a request's credentials."""
    if credentials is None:
        if spec.api.auth.type == "none":
            return {}, None, None
        raise ConnectorError(ErrorCode.InvalidCredentials, "the request carries no credentials")
    kind = credentials.authentication_type.name if credentials.authentication_type else ""
    allowed = supported_types(spec.api.auth)
    if kind not in allowed:
        raise invalid_argument(
            f"authentication type {kind or 'none'} is not supported by this connector (supported: {', '.join(allowed)})"
        )
    if not credentials.secret_arn:
        raise ConnectorError(ErrorCode.InvalidCredentials, "the request's credentials carry no secretArn")
    max_age = OAUTH_SECRET_MAX_AGE_S if kind == OAUTH2 else SECRET_MAX_AGE_S
    secret = secrets.get(credentials.secret_arn, max_age_s=max_age)
    values, override = map_secret(kind, secret, spec.api.auth)
    return values, override, credentials.secret_arn
