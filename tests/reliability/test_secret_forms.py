"""No form of a secret in any log line or error message (issue 17, item 5).

Canary credentials with characters that every encoding changes (``+ / = & ~``, a space, a non-ASCII letter) are
sent, at DEBUG, through both Lambda entry points to an API on loopback that echoes the whole request (URL, the
Authorization header, the key header) into its error bodies, which become the user-visible errors. Every log
record of the process (message, arguments, extras, traceback) and every error message is then searched for the
canaries as they are, percent-encoded by ``quote`` and ``quote_plus`` (either hex case), JSON-escaped, base64,
and the Basic header's base64 of ``user:password``. KMS data keys are checked the same way in botocore's DEBUG
output, and a secret planted in an exception is checked through ``exc_info``.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import boto3
import pytest
from werkzeug.wrappers import Request, Response

from appflow_connector import handler as appflow_handler
from athena_connector.wire import GetTableRequest
from shared.redaction import register_secret
from tests.athena.connector.harness import CATALOG, IDENTITY, SPILL_BUCKET, Connector, table_name
from tests.reliability import drivers
from tests.reliability.secrets_scan import SuiteLogCapture
from tests.support.fake_saas import serve

API_KEY = "cnry+Key/9=&é Zx~Q"
USERNAME = "cnry-user"
PASSWORD = "cnry:pw+/ é9=Rt"
AUTHS = {
    "query_key": '{type: api_key, in: query, name: api_key, value: "{secret.api_key}"}',
    "header_key": '{type: api_key, in: header, name: X-API-Key, value: "{secret.api_key}"}',
    "basic": '{type: basic, username: "{secret.username}", password: "{secret.password}"}',
}

SPEC = """
version: 1
api:
  name: demo_crm  # the schema name the Athena harness uses
  base_url: {base}
  auth: {auth}
  timeout_s: {{connect: 2, read: 2}}
  retry: {{max_attempts: 1, base_delay_s: 0.01, max_delay_s: 0.01, retry_after_cap_s: 0.1}}
  pagination: {{type: none}}
entities:
  - name: items
    path: /items
    records: data
    primary_key: [id]
    fields: {{id: int64, name: string}}
"""


def forms(secret: str) -> set[str]:
    """Every encoding of ``secret`` that may appear on the wire, written independently of the product."""
    raw = secret.encode()
    out = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret), json.dumps(secret)[1:-1]}
    out |= {re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), f) for f in list(out)}
    out |= {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
    return out


BASIC = {base64.b64encode(f"{USERNAME}:{PASSWORD}".encode(codec)).decode() for codec in ("utf-8", "latin-1")}
CANARY_FORMS = forms(API_KEY) | forms(PASSWORD) | BASIC


def leaks(texts: list[str], patterns: set[str]) -> list[str]:
    return [t for t in texts if any(p in t for p in patterns)]


def echo(environ: dict[str, Any], start_response: Any) -> Any:
    """Refuses every request with a body that repeats it: URL, Authorization and X-API-Key."""
    request = Request(environ)
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or request.full_path
    said = f"bad request {raw} auth={request.headers.get('Authorization')} key={request.headers.get('X-API-Key')}"
    body = {"message": said[:150], "error": said}
    return Response(json.dumps(body), status=400, content_type="application/json")(environ, start_response)


class Secrets:
    def get(self, secret_arn: str, *, max_age_s: int) -> dict[str, str]:
        return {"apiKey": API_KEY, "username": USERNAME, "password": PASSWORD}

    def invalidate(self, secret_arn: str) -> None:
        return None


@pytest.fixture
def capture() -> Iterator[SuiteLogCapture]:
    """Every log record of the process at DEBUG (urllib3's and botocore's included), formatted with tracebacks."""
    handler = SuiteLogCapture()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.fixture(params=list(AUTHS))
def echo_api(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from athena_connector.runtime import reset_runtime

    with serve(echo) as base:
        spec = tmp_path / "echo.yaml"
        spec.write_text(SPEC.format(base=base, auth=AUTHS[request.param]))
        for name in ("SAAS_SECRET_ARN", "SAAS_ALLOWED_BASE_URLS", "SAAS_BASE_URL", "SAAS_API_KEY"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("SAAS_SPEC", str(spec))
        creds = {"api_key": API_KEY, "username": USERNAME, "password": PASSWORD}
        monkeypatch.setenv("SAAS_CREDENTIALS", json.dumps(creds))
        monkeypatch.setenv("spill_bucket", SPILL_BUCKET)
        monkeypatch.setattr(appflow_handler.HANDLER.runtime, "secrets", Secrets())
        reset_runtime()
        yield request.param
        reset_runtime()


def _appflow(event_type: str, auth: str, **body: Any) -> dict[str, Any]:
    kind = "BasicAuth" if auth == "basic" else "ApiKey"
    event = {
        "type": event_type,
        "connectorContext": {
            "apiVersion": "v1",
            "connectorRuntimeSettings": {},
            "credentials": {"secretArn": drivers.SECRET_ARN, "authenticationType": kind},
        },
        **body,
    }
    return json.loads(json.dumps(appflow_handler.lambda_handler(event, drivers.AppFlowContext(20))))


def test_appflow_errors_and_logs_hold_no_form_of_the_credentials(echo_api: str, capture: SuiteLogCapture) -> None:
    messages = []
    for _ in range(2):
        response = _appflow("QueryDataRequest", echo_api, entityIdentifier="items", maxResults=10)
        assert response["isSuccess"] is False
        messages.append(response["errorDetails"]["errorMessage"])
    response = _appflow("ValidateCredentialsRequest", echo_api, credentials=None)
    messages.append(json.dumps(response))
    planted = _appflow("QueryDataRequest", echo_api, entityIdentifier="items", nextToken=API_KEY)
    messages.append(json.dumps(planted))
    assert any("bad request" in m for m in messages), messages  # the echo did reach the user, masked
    if echo_api == "basic":
        assert any("auth=Basic ***" in m for m in messages), messages
    assert leaks(messages, CANARY_FORMS) == []
    assert capture.lines and leaks(capture.lines, CANARY_FORMS) == []


def test_athena_errors_and_logs_hold_no_form_of_the_credentials(
    echo_api: str, capture: SuiteLogCapture, aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = boto3.client("s3")
    if SPILL_BUCKET not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket=SPILL_BUCKET)
    connector = Connector(None, monkeypatch)
    connector.invoke(GetTableRequest(IDENTITY, "q-meta", CATALOG, table_name("items")))
    messages = []
    for _ in range(2):
        with pytest.raises(Exception) as err:
            connector.query("items")
        messages.append(f"{type(err.value).__name__}: {err.value}")
    assert any("bad request" in m for m in messages), messages
    assert leaks(messages, CANARY_FORMS) == []
    assert capture.lines and leaks(capture.lines, CANARY_FORMS) == []


def test_a_secret_in_an_exception_is_masked_in_the_logged_traceback(capture: SuiteLogCapture) -> None:
    register_secret(API_KEY)
    log = logging.getLogger("appflow_connector.test")
    for text in (API_KEY, quote_plus(API_KEY), quote(API_KEY, safe="")):
        try:
            raise ValueError(f"bad token {text!s}")
        except ValueError:
            log.exception("decoding a token failed")
            log.debug("with stack", stack_info=True, exc_info=True)
    assert sum("bad token ***" in line for line in capture.lines) >= 3
    assert leaks(capture.lines, forms(API_KEY)) == []


def test_kms_data_keys_never_reach_the_logs(capture: SuiteLogCapture, aws: str) -> None:
    """botocore logs KMS's response body at DEBUG before the key is known: its arguments are withheld."""
    from athena_connector.spill import KmsKeys

    kms = boto3.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    keys = [KmsKeys(key_id).new_key() for _ in range(3)]
    plaintexts = [k.key for k in keys if k is not None]
    assert len(plaintexts) == 3
    patterns = {base64.b64encode(p).decode() for p in plaintexts} | {p.hex() for p in plaintexts}
    assert any(line.startswith("DEBUG botocore") for line in capture.lines)
    assert leaks(capture.lines, patterns) == []
    secret_logs = logging.getLogger("botocore.parsers")
    secret_logs.debug("Response body:\n%s", b'{"SecretString": "' + API_KEY.encode() + b'"}')
    assert leaks(capture.lines, forms(API_KEY)) == []
