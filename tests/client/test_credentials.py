"""Credentials through the one interface: the environment locally, Secrets Manager (moto's server) in
Lambda, and a spec loaded from S3."""

from __future__ import annotations

import json

import boto3
import pytest

from shared.credentials import (
    EnvironmentCredentials,
    SecretsManagerCredentials,
    StaticCredentials,
    credentials_from_environment,
)
from shared.errors import ConfigError, SpecError
from shared.redaction import redact
from shared.spec import load_spec


def test_environment_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAAS_CREDENTIALS", json.dumps({"client_id": "abc", "client_secret": "s3cr3t-value"}))
    monkeypatch.setenv("SAAS_API_KEY", "env-api-key-1")
    monkeypatch.delenv("SAAS_SECRET_ARN", raising=False)
    provider = credentials_from_environment()
    assert isinstance(provider, EnvironmentCredentials)
    assert provider.get() == {"client_id": "abc", "client_secret": "s3cr3t-value", "api_key": "env-api-key-1"}
    assert redact("the secret is s3cr3t-value") == "the secret is ***"


def test_malformed_environment_credentials_are_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAAS_CREDENTIALS", '{"api_key": "half-open-value"')
    with pytest.raises(ConfigError, match="SAAS_CREDENTIALS is not valid JSON") as err:
        EnvironmentCredentials().get()
    assert "half-open" not in str(err.value)


def test_secrets_manager_json_and_plain_string(aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    sm = boto3.client("secretsmanager")
    arn = sm.create_secret(Name="saas/json", SecretString=json.dumps({"api_key": "from-secrets-manager"}))["ARN"]
    plain = sm.create_secret(Name="saas/plain", SecretString="plain-secret-key")["ARN"]
    monkeypatch.setenv("SAAS_SECRET_ARN", arn)
    provider = credentials_from_environment()
    assert isinstance(provider, SecretsManagerCredentials)
    assert provider.get() == {"api_key": "from-secrets-manager"}
    assert SecretsManagerCredentials(plain).get() == {"api_key": "plain-secret-key"}
    assert "from-secrets-manager" not in redact("x from-secrets-manager y")


def test_a_missing_secret_is_a_clear_config_error(aws: str) -> None:
    with pytest.raises(ConfigError, match="cannot read the credentials secret 'saas/nope'"):
        SecretsManagerCredentials("saas/nope", max_age_s=0).get()


def test_static_credentials_drop_nulls() -> None:
    assert StaticCredentials({"a": "x1234", "b": None}).get() == {"a": "x1234"}


def test_spec_from_s3(aws: str) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="specs")
    from importlib import resources

    s3.put_object(Bucket="specs", Key="crm.yaml", Body=(resources.files("shared.specs") / "demo.yaml").read_bytes())
    spec = load_spec("s3://specs/crm.yaml")
    assert spec.api.name == "demo_crm"
    assert spec.source == "s3://specs/crm.yaml"
    with pytest.raises(SpecError, match="cannot read spec from S3"):
        load_spec("s3://specs/missing.yaml")
