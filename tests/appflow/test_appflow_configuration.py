"""Connector configuration derived from the spec, runtime-setting validation, the instance-URL
allow-list, and credentials (the AppFlow secret's key names, OAuth2, Secrets Manager through powertools)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from moto import mock_aws

from appflow_connector.configuration import describe_configuration
from appflow_connector.credentials import PowertoolsSecrets, map_secret
from appflow_connector.errors import ConnectorError
from appflow_connector.handler import ConnectorHandler
from appflow_connector.settings import check_instance_url, resolve
from demo_api.server import DemoServer
from shared.spec.loader import load_spec_text
from shared.spec.model import AuthSpec
from tests.appflow.conftest import SIM_ARN, FakeSecrets
from tests.appflow.simulator import AppFlow

SPEC_TEMPLATE = """
version: 1
api:
  name: acme
  base_url: {base_url}
  auth: {auth}
  {extra}
entities:
  - name: things
    path: /things
    records: data
    primary_key: [id]
    fields:
      id: {{type: int64, nullable: false}}
"""


def spec_with(auth: str, base_url: str = "https://api.acme.test/v2", extra: str = "") -> Any:
    return load_spec_text(SPEC_TEMPLATE.format(auth=auth, base_url=base_url, extra=extra))


def config_of(spec: Any) -> dict[str, Any]:
    out = describe_configuration(spec).to_dict()
    json.dumps(out)
    return out  # type: ignore[no-any-return]


# -- authentication types from the spec --------------------------------------------------------------------
def test_basic_auth() -> None:
    auth = config_of(spec_with('{type: basic, username: "{secret.user_name}", password: "{secret.password}"}'))
    cfg = auth["authenticationConfig"]
    assert (cfg["isBasicAuthSupported"], cfg["isApiKeyAuthSupported"], cfg["isOAuth2Supported"]) == (True, False, False)
    params = {p["key"]: p["sensitiveField"] for p in cfg["customAuthConfig"][0]["authParameters"]}
    assert params == {"user_name": False, "password": True}
    assert auth["supportedApiVersions"] == ["v2"]
    assert auth["connectorModes"] == ["SOURCE"] and auth["supportedWriteOperations"] == []
    assert "BYMINUTE" not in auth["triggerFrequenciesSupported"]  # no incremental entity


def test_bearer_is_an_api_key() -> None:
    cfg = config_of(spec_with('{type: bearer, token: "{secret.token}"}'))["authenticationConfig"]
    assert cfg["isApiKeyAuthSupported"] and not cfg["isBasicAuthSupported"]


def test_oauth2_client_credentials_defaults() -> None:
    spec = spec_with(
        "{type: oauth2_client_credentials, token_url: 'https://{config.tenant}.acme.test/oauth/token', "
        "client_id: '{secret.client_id}', client_secret: '{secret.client_secret}', scope: 'read write', "
        "auth_style: basic}",
        base_url="https://{config.tenant}.acme.test/api",
        extra="settings: {tenant: {required: true, pattern: '[a-z0-9-]+'}}",
    )
    cfg = config_of(spec)["authenticationConfig"]
    assert cfg["isOAuth2Supported"] and cfg["isCustomAuthSupported"]
    oauth = cfg["oAuth2Defaults"]
    assert oauth["tokenURL"] == ["https://{{tenant}}.acme.test/oauth/token"]
    assert oauth["authURL"] == ["https://{{tenant}}.acme.test/oauth/authorize"]
    assert oauth["oAuth2GrantTypesSupported"] == ["CLIENT_CREDENTIALS"]
    assert oauth["oAuthScopes"] == ["read", "write"]
    assert oauth["addBasicAuthHeader"] is True  # the SDK's own to_dict would crash on True
    settings = {s["key"]: s for s in config_of(spec)["connectorRuntimeSetting"]}
    assert settings["tenant"]["required"] is True and settings["tenant"]["scope"] == "CONNECTOR_PROFILE"


def test_oauth2_refresh_token_is_authorization_code() -> None:
    spec = spec_with(
        "{type: oauth2_refresh_token, token_url: 'https://login.acme.test/token', client_id: '{secret.cid}', "
        "client_secret: '{secret.csecret}', refresh_token: '{secret.refresh_token}'}"
    )
    oauth = config_of(spec)["authenticationConfig"]["oAuth2Defaults"]
    assert oauth["oAuth2GrantTypesSupported"] == ["AUTHORIZATION_CODE"]
    assert oauth["authURL"] == ["https://login.acme.test/authorize"]
    assert oauth["addBasicAuthHeader"] is False


def test_no_auth_and_hooks_are_custom_only() -> None:
    cfg = config_of(spec_with("{type: none}"))["authenticationConfig"]
    assert (cfg["isCustomAuthSupported"], cfg["isApiKeyAuthSupported"], cfg["isOAuth2Supported"]) == (
        True,
        False,
        False,
    )


def test_secret_key_names() -> None:
    api_key = AuthSpec("api_key", {"name": "X-Key", "value": "{secret.key}:{secret.other}"})
    values, override = map_secret("ApiKey", {"apiKey": "k1", "apiSecretKey": "k2"}, api_key)
    assert (values["key"], values["other"], override) == ("k1", "k2", None)
    basic = AuthSpec("basic", {"username": "{secret.u}", "password": "{secret.p}"})
    values, _ = map_secret("BasicAuth", {"username": "me", "password": "pw"}, basic)
    assert (values["u"], values["p"]) == ("me", "pw")
    values, override = map_secret("OAuth2", {"accessToken": "tok", "refreshToken": "r"}, basic)
    assert override is not None and override.type == "bearer" and values["appflow_access_token"] == "tok"
    values, _ = map_secret("CustomAuth", {"u": "a", "p": "b", "customAuthenticationType": "acme"}, basic)
    assert values == {"u": "a", "p": "b"}
    for kind, secret in (
        ("ApiKey", {"secretKey": "x"}),
        ("BasicAuth", {"userName": "x", "password": "y"}),
        ("OAuth2", {"refreshToken": "r"}),
        ("CustomAuth", {"u": "a"}),
    ):
        auth = api_key if kind == "ApiKey" else basic
        with pytest.raises(ConnectorError) as info:
            map_secret(kind, secret, auth)
        assert info.value.code.name == "InvalidCredentials"


# -- runtime settings ---------------------------------------------------------------------------------------
TENANT_SPEC = spec_with(
    '{type: api_key, name: X-Key, value: "{secret.key}"}',
    base_url="https://{config.tenant}.acme.test/api/v1",
    extra="settings: {tenant: {required: true}, strict: {type: boolean, default: false}, "
    "limit: {type: integer, pattern: '[0-9]+'}}",
)


@pytest.mark.parametrize(
    ("settings", "scope", "errors"),
    [
        ({"tenant": "blue"}, "CONNECTOR_PROFILE", {}),
        ({}, "CONNECTOR_PROFILE", {"tenant": "is required"}),
        ({}, "SOURCE", {}),
        ({"tenant": "evil.test/x?"}, "CONNECTOR_PROFILE", {"tenant": "part of the API address"}),
        ({"tenant": "a", "strict": "yes"}, "CONNECTOR_PROFILE", {"strict": "true or false"}),
        ({"tenant": "a", "limit": "-4"}, "CONNECTOR_PROFILE", {"limit": "pattern"}),
        ({"tenant": "a", "limit": "x"}, "CONNECTOR_PROFILE", {"limit": "whole number"}),
        ({"page_size": "0"}, "SOURCE", {"page_size": "between 1 and"}),
        ({"page_size": "250"}, "SOURCE", {}),
        ({"pageSize": "250"}, "SOURCE", {"pageSize": "unknown setting"}),
        ({"tenant": "a", "instance_url": "https://a.acme.test/api/v2"}, "CONNECTOR_PROFILE", {}),
        (
            {"tenant": "a", "instance_url": "https://b.acme.test/api"},
            "CONNECTOR_PROFILE",
            {"instance_url": "not an allowed"},
        ),
        (
            {"tenant": "a", "instance_url": "https://u:p@a.acme.test/"},
            "CONNECTOR_PROFILE",
            {"instance_url": "user name"},
        ),
        ({"tenant": "a", "instance_url": "https://a.acme.test/?x=1"}, "CONNECTOR_PROFILE", {"instance_url": "query"}),
        ({"tenant": "a", "instance_url": "ftp://a.acme.test/"}, "CONNECTOR_PROFILE", {"instance_url": "http(s)"}),
        (
            {"tenant": "a", "instance_url": "http://a.acme.test/api"},
            "CONNECTOR_PROFILE",
            {"instance_url": "not an allowed"},
        ),
    ],
)
def test_settings_validation(settings: dict[str, str], scope: str, errors: dict[str, str]) -> None:
    from appflow_connector.sdk import ConnectorRuntimeSettingScope

    _, found = resolve(TENANT_SPEC, settings, strict=True, scope=ConnectorRuntimeSettingScope[scope])
    assert set(found) == set(errors), found
    for key, needle in errors.items():
        assert needle in found[key] and f"'{key}'" in found[key]


def test_allow_list(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = spec_with("{type: none}", base_url="https://api.acme.test/v1")
    with pytest.raises(ValueError, match="not an allowed API host"):
        check_instance_url(spec, "https://eu.acme.test/v1", {})
    monkeypatch.setenv("SAAS_ALLOWED_BASE_URLS", "https://*.acme.test, https://sandbox.partner.test:8443")
    assert check_instance_url(spec, "https://eu.acme.test/v1/", {}) == "https://eu.acme.test/v1"
    assert (
        check_instance_url(spec, "https://sandbox.partner.test:8443/api", {}) == "https://sandbox.partner.test:8443/api"
    )
    for refused in (
        "https://eu.acme.test.evil.test/v1",
        "https://a.b.acme.test/v1",
        "https://acme.test/v1",
        "http://eu.acme.test/v1",
        "https://sandbox.partner.test/api",
        "https://evil.test#@eu.acme.test/",
    ):
        with pytest.raises(ValueError):
            check_instance_url(spec, refused, {})


def test_instance_url_in_a_flow(demo_server: DemoServer, appflow_for: Callable[..., AppFlow]) -> None:
    sim = appflow_for(demo_server, profile_settings={"instance_url": demo_server.base_url})
    assert sim.validate_credentials()["isSuccess"]
    assert sim.query_page("accounts", max_results=5)["isSuccess"]
    elsewhere = demo_server.base_url.replace("127.0.0.1", "localhost")
    sim.profile_settings = {"instance_url": elsewhere}
    response = sim.query_page("accounts", max_results=5)
    assert response["errorDetails"]["errorCode"] == "InvalidArgument"
    assert "instance_url" in response["errorDetails"]["errorMessage"]
    assert sim.validate_settings("CONNECTOR_PROFILE", {"instance_url": elsewhere})["errorsByInputField"]["instance_url"]


# -- credentials end to end ---------------------------------------------------------------------------------
def test_validate_credentials_does_a_real_call(demo_server: DemoServer, appflow_for: Callable[..., AppFlow]) -> None:
    sim = appflow_for(demo_server)
    assert sim.validate_credentials() == {"isSuccess": True, "errorDetails": None}
    sim.handler.runtime.secrets.secrets[SIM_ARN] = {"apiKey": "not-the-key"}  # type: ignore[attr-defined]
    response = sim.validate_credentials()
    assert response["errorDetails"]["errorCode"] == "InvalidCredentials"
    assert "not-the-key" not in json.dumps(response)
    sim.secret_arn = "arn:aws:secretsmanager:us-east-1:111122223333:secret:missing-AbCdEf"
    assert sim.validate_credentials()["errorDetails"]["errorCode"] == "ResourceNotFoundError"
    sim.auth_type = "BasicAuth"
    response = sim.validate_credentials()
    assert (
        response["errorDetails"]["errorCode"] == "InvalidArgument"
        and "ApiKey" in response["errorDetails"]["errorMessage"]
    )


@pytest.fixture
def oauth_spec(tmp_path: Path, demo_server: DemoServer) -> Path:
    demo = (resources.files("shared.specs") / "demo.yaml").read_text()
    auth = (
        "auth: {type: oauth2_client_credentials, token_url: '" + demo_server.token_url + "', "
        "client_id: '{secret.client_id}', client_secret: '{secret.client_secret}'}"
    )
    lines = [
        line[: len(line) - len(line.lstrip())] + auth if line.strip().startswith("auth:") else line
        for line in demo.splitlines()
    ]
    path = tmp_path / "demo_oauth.yaml"
    path.write_text("\n".join(lines))
    return path


def test_oauth2_access_token_from_appflow(
    oauth_spec: Path, demo_server: DemoServer, use_api: Callable[..., None]
) -> None:
    token = requests.post(
        demo_server.token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": demo_server.client_id,
            "client_secret": demo_server.client_secret,
        },
        timeout=10,
    ).json()["access_token"]
    use_api(demo_server.base_url, spec=str(oauth_spec))
    secrets = FakeSecrets({SIM_ARN: {"accessToken": token, "refreshToken": "r", "clientId": "x"}})
    sim = AppFlow(ConnectorHandler(secrets), auth_type="OAuth2")
    assert sim.describe_connector()["authenticationConfig"]["isOAuth2Supported"]
    assert sim.validate_credentials()["isSuccess"]
    assert sim.query_page("deals", max_results=3)["isSuccess"]
    demo_server.expire_tokens()
    response = sim.query_page("deals", max_results=3)
    assert response["errorDetails"]["errorCode"] == "InvalidCredentials"  # AppFlow refreshes and retries
    assert secrets.invalidated == [SIM_ARN]  # and we re-read the refreshed secret next time


def test_custom_auth_uses_the_spec_names(demo_server: DemoServer, use_api: Callable[..., None]) -> None:
    use_api(demo_server.base_url)
    sim = AppFlow(
        ConnectorHandler(
            FakeSecrets({SIM_ARN: {"api_key": demo_server.api_key, "customAuthenticationType": "demo_crm"}})
        ),
        auth_type="CustomAuth",
    )
    assert sim.validate_credentials()["isSuccess"]


# -- Secrets Manager through powertools (moto) --------------------------------------------------------------
@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for key, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        from aws_lambda_powertools.utilities import parameters

        parameters.clear_caches()
        yield boto3.client("secretsmanager", region_name="us-east-1")
        parameters.clear_caches()


def test_powertools_secret_source(aws: Any) -> None:
    arn = aws.create_secret(Name="appflow!123-demo-profile", SecretString=json.dumps({"apiKey": "k-1"}))["ARN"]
    source = PowertoolsSecrets()
    assert source.get(arn, max_age_s=300) == {"apiKey": "k-1"}
    aws.put_secret_value(SecretId=arn, SecretString=json.dumps({"apiKey": "k-2"}))
    assert source.get(arn, max_age_s=300) == {"apiKey": "k-1"}  # cached
    source.invalidate(arn)
    assert source.get(arn, max_age_s=300) == {"apiKey": "k-2"}
    with pytest.raises(ConnectorError) as info:
        source.get(arn.replace("profile", "other"), max_age_s=300)
    assert info.value.code.name == "ResourceNotFoundError"
    bad = aws.create_secret(Name="not-json", SecretString="plain text")["ARN"]
    with pytest.raises(ConnectorError) as info:
        source.get(bad, max_age_s=300)
    assert info.value.code.name == "InvalidCredentials" and "plain text" not in info.value.message


def test_the_real_entry_point_reads_the_secret(
    aws: Any, demo_server: DemoServer, use_api: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    from appflow_connector import handler as handler_module

    use_api(demo_server.base_url)
    arn = aws.create_secret(Name="appflow!123-demo", SecretString=json.dumps({"apiKey": demo_server.api_key}))["ARN"]
    monkeypatch.setattr(handler_module.HANDLER.runtime, "secrets", PowertoolsSecrets())
    event = {"type": "ValidateCredentialsRequest", "credentials": {"secretArn": arn, "authenticationType": "ApiKey"}}
    assert handler_module.lambda_handler(event, None) == {"isSuccess": True, "errorDetails": None}
