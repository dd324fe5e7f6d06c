"""Where credentials come from: one small interface over Secrets Manager (in Lambda) and the environment.

A secret is a JSON object of named values (``{"api_key": "..."}``) that the spec's auth block reads as
``{secret.api_key}``. A secret that is a plain string is taken as ``api_key``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any, Protocol

from shared.errors import ConfigError
from shared.redaction import register_secret

SECRET_CACHE_S = 300


class CredentialsProvider(Protocol):
    def get(self) -> Mapping[str, str]: ...


class StaticCredentials:
    """Credentials already in hand (AppFlow passes them; tests build them)."""

    def __init__(self, values: Mapping[str, object]) -> None:
        self._values = {str(k): str(v) for k, v in values.items() if v is not None}
        for value in self._values.values():
            register_secret(value)

    def get(self) -> Mapping[str, str]:
        return self._values


class EnvironmentCredentials:
    """Local runs: ``SAAS_CREDENTIALS`` (a JSON object) plus ``SAAS_API_KEY`` as ``api_key``."""

    def get(self) -> Mapping[str, str]:
        values: dict[str, str] = {}
        raw = os.environ.get("SAAS_CREDENTIALS")
        if raw:
            values.update(_parse_secret(raw, "SAAS_CREDENTIALS"))
        if os.environ.get("SAAS_API_KEY"):
            values["api_key"] = os.environ["SAAS_API_KEY"]
        for value in values.values():
            register_secret(value)
        return values


class SecretsManagerCredentials:
    """A Secrets Manager secret, cached for ``max_age`` (5 minutes); the read ends by the request's deadline
    (``shared.aws_secrets``), else the typed timeout error."""

    def __init__(self, secret_id: str, max_age_s: int = SECRET_CACHE_S) -> None:
        self.secret_id = secret_id
        self.max_age_s = max_age_s
        self._reader: Any = None

    def get(self) -> Mapping[str, str]:
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

        from shared.aws_secrets import SecretsReader, timeout_behind

        if self._reader is None:
            self._reader = SecretsReader()
        try:
            raw = self._reader.get(self.secret_id, max_age=self.max_age_s)
        except GetParameterError as exc:
            timeout = timeout_behind(exc)
            if timeout is not None:
                raise timeout from None
            raise ConfigError(f"cannot read the credentials secret '{self.secret_id}': {_reason(exc)}") from None
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8")
        values = _parse_secret(str(raw), f"secret '{self.secret_id}'")
        for value in values.values():
            register_secret(value)
        return values


def _reason(exc: Exception) -> str:
    text = str(exc)
    return text.split(":", 1)[-1].strip() if ":" in text else text


def _parse_secret(raw: str, where: str) -> dict[str, str]:
    text = raw.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{where} is not valid JSON (line {exc.lineno}, column {exc.colno})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{where} must be a JSON object of named values")
        return {str(k): str(v) for k, v in data.items() if v is not None}
    register_secret(text)
    return {"api_key": text}


def credentials_from_environment() -> CredentialsProvider:
    """``SAAS_SECRET_ARN`` when set (Lambda), else the local environment variables."""
    arn = os.environ.get("SAAS_SECRET_ARN")
    if arn:
        return SecretsManagerCredentials(arn)
    return EnvironmentCredentials()
