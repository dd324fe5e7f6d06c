"""Security through both Lambda entry points: credentials only to the configured host, no request can point the
connector elsewhere or turn TLS verification off, spilled data is encrypted, hooks come only from the spec's
declared modules.

A second loopback server on another port (another origin) stands in for an attacker's host and records every
request it gets; the tests assert it gets none.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from athena_connector.wire import (
    Constraints,
    FederatedIdentity,
    GetSplitsRequest,
    GetTableLayoutRequest,
    GetTableRequest,
    decode_schema,
    decode_spill_object,
)
from athena_connector.wire.blocks import block_from_wire
from athena_connector.wire.splits import encryption_key_from_wire, split_from_wire
from demo_api.server import DemoServer
from tests.athena.connector.harness import CATALOG, IDENTITY, table_name
from tests.reliability import drivers
from tests.support.aws import free_port


@dataclass
class Capture:
    """An HTTP(S) server that records what reaches it (headers included) and answers 200 ``{}``."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.requests.append({"path": request.full_path, "headers": dict(request.headers)})
        return Response(json.dumps({"data": [], "results": [], "items": []}), content_type="application/json")(
            environ, start_response
        )


def _serve(app: Capture, tls: bool = False) -> Iterator[Capture]:
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True, ssl_context="adhoc" if tls else None)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    app.url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    try:
        yield app
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture(scope="module")
def evil_server() -> Iterator[Capture]:
    yield from _serve(Capture())


@pytest.fixture
def evil(evil_server: Capture) -> Capture:
    evil_server.requests.clear()
    return evil_server


@pytest.fixture(scope="module")
def tls_server() -> Iterator[Capture]:
    pytest.importorskip("cryptography")  # werkzeug's ad-hoc self-signed certificate
    yield from _serve(Capture(), tls=True)


def _host(url: str) -> str:
    return url.split("://", 1)[1]


# ------------------------------------------------------------------------------------ next links and redirects


@pytest.mark.parametrize("entity", ["deals", "activities"])
def test_a_next_link_to_another_host_is_refused_by_both(
    entity: str, athena: drivers.Athena, appflow: drivers.AppFlowRun, server: DemoServer, evil: Capture
) -> None:
    for read in (athena.read, appflow.read):
        server.set_faults([{"kind": "foreign_next", "entity": entity, "host": _host(evil.url), "count": None}])
        outcome = read(entity)
        assert not outcome.ok and "refusing to follow a next-page link" in outcome.message, outcome.message
        assert f"entity '{entity}'" in outcome.message and "page" in outcome.message
    assert evil.requests == [], "nothing, let alone credentials, went to the other host"


@pytest.mark.parametrize("code", [301, 302, 307, 308])
def test_a_redirect_to_another_host_is_refused_by_both(
    code: int, athena: drivers.Athena, appflow: drivers.AppFlowRun, server: DemoServer, evil: Capture
) -> None:
    for read in (athena.read, appflow.read):
        server.set_faults([{"kind": "redirect", "entity": "accounts", "code": code, "location": evil.url}])
        outcome = read("accounts")
        assert not outcome.ok and "refusing to follow a redirect" in outcome.message, outcome.message
        assert "entity 'accounts'" in outcome.message
    assert evil.requests == []


def test_a_redirect_within_the_api_is_followed(athena: drivers.Athena, server: DemoServer) -> None:
    source = server.store.all_records("accounts")
    server.set_faults([{"kind": "redirect", "entity": "accounts", "code": 307, "location": server.root_url}])
    outcome = athena.read("accounts")
    assert outcome.ok and outcome.rows == athena.expected("accounts", source), outcome.message


# ------------------------------------------------------------------- settings, passthrough and request options


def test_an_appflow_instance_url_cannot_point_elsewhere(appflow: drivers.AppFlowRun, evil: Capture) -> None:
    for url in (
        evil.url,
        evil.url + "/api/v1",
        f"http://127.0.0.1:1@{_host(evil.url)}",
        "file:///etc/passwd",
        f"{evil.url}?x=1",
    ):
        appflow.settings = {"instance_url": url}
        outcome = appflow.read("accounts")
        assert outcome.error_type == "InvalidArgument", (url, outcome.message)
        assert "instance_url" in outcome.message
    assert evil.requests == []


def test_appflow_settings_cannot_add_a_base_url_or_turn_tls_off(
    appflow: drivers.AppFlowRun, server: DemoServer, evil: Capture
) -> None:
    """Unknown settings are ignored by record calls (AppFlow merges profile and flow settings) and refused by
    ValidateConnectorRuntimeSettings; none of them changes where the connector goes."""
    sneaky = {"base_url": evil.url, "SAAS_BASE_URL": evil.url, "verify": "false", "verify_ssl": "false"}
    appflow.settings = sneaky
    outcome = appflow.read("accounts")
    assert outcome.ok and len(outcome.rows or []) == len(server.store.all_records("accounts"))
    response = appflow.call(
        {
            "type": "ValidateConnectorRuntimeSettingsRequest",
            "scope": "CONNECTOR_PROFILE",
            "connectorRuntimeSettings": sneaky,
        }
    )
    assert not response["isSuccess"] and set(response["errorsByInputField"]) == set(sneaky)
    assert evil.requests == []


def test_athena_config_options_cannot_point_the_connector_elsewhere(
    athena: drivers.Athena, server: DemoServer, evil: Capture
) -> None:
    identity = FederatedIdentity(
        IDENTITY.account,
        IDENTITY.arn,
        config_options={
            "SAAS_BASE_URL": evil.url,
            "base_url": evil.url,
            "verify": "false",
            "disable_spill_encryption": "true",
            "SAAS_SPEC": "/etc/passwd",
        },
    )
    out = athena.c.invoke(GetTableRequest(identity, "q", CATALOG, table_name("accounts")))
    assert decode_schema(out["schema"]).names[0] == "id"
    assert evil.requests == []


@pytest.mark.parametrize(
    "query",
    [
        "{evil}/api/v1/accounts",
        "//{host}/accounts",
        "../_admin/dump/contacts",
        "accounts/../../_admin/reset",
        "_admin/reset",
        "accounts/1",
        "contacts?cursor=Y29udGFjdHM6MA",
        "accounts?offset=10",
        "accounts?limit=5",
        "contacts?page_size=1",
        "deals?per_page=1",
    ],
)
def test_passthrough_reaches_only_declared_entities(
    query: str, athena: drivers.Athena, server: DemoServer, evil: Capture
) -> None:
    text = query.format(evil=evil.url, host=_host(evil.url))
    args = {"schemaFunctionName": "SYSTEM.QUERY", "QUERY": text}
    with pytest.raises(Exception) as info:
        athena.c.invoke(GetTableRequest(IDENTITY, "q", CATALOG, table_name("query"), args))
    assert type(info.value).__name__ == "InvalidInputException", info.value
    assert "system.query" in str(info.value)
    assert evil.requests == []
    assert server.app.stats.snapshot()["requests_total"] == 0, "not even the API itself was called"


def test_passthrough_parameters_stay_query_parameters(athena: drivers.Athena, server: DemoServer) -> None:
    """Whatever a parameter holds (a URL, a path, an encoded newline) it is sent as a query value to the entity's
    own path; the demo API then refuses or ignores it."""
    args = {"QUERY": "contacts?status=http%3A%2F%2Fevil.example%2F&x=%0d%0aHost:%20evil"}
    out = athena.c.invoke(GetTableRequest(IDENTITY, "q", CATALOG, table_name("query"), args))
    schema = decode_schema(out["schema"])
    constraints = Constraints(query_passthrough_arguments=args)
    layout = athena.c.invoke(
        GetTableLayoutRequest(IDENTITY, "q", CATALOG, table_name("query"), constraints, schema, ())
    )
    splits = athena.c.invoke(
        GetSplitsRequest(
            IDENTITY,
            "q",
            CATALOG,
            table_name("query"),
            block_from_wire(layout["partitions"], "p"),
            (),
            constraints,
            None,
        )
    )
    (split,) = [split_from_wire(s, "s") for s in splits["splits"]]
    table, _ = athena.c.read_split("query", split, schema, constraints)
    assert table.num_rows == 0  # an unknown status matches nothing; no other path or host was reached


# --------------------------------------------------------------------------------------------------------- TLS


def test_tls_verification_cannot_be_turned_off(
    athena: drivers.Athena,
    appflow: drivers.AppFlowRun,
    env: pytest.MonkeyPatch,
    tls_server: Capture,
) -> None:
    """A self-signed API: both connectors fail with a typed error, whatever the request says about
    verification; the server never sees a request (the handshake fails first)."""
    from athena_connector.runtime import reset_runtime

    tls_server.requests.clear()
    base = tls_server.url + "/api/v1"
    env.setenv("SAAS_ALLOWED_BASE_URLS", tls_server.url)
    appflow.settings = {"instance_url": base, "verify": "false", "verify_ssl": "false", "insecure": "true"}
    outcome = appflow.read("accounts")
    assert outcome.error_type == "ServiceUnavailable" and "TLS" in outcome.message, outcome.message
    env.setenv("SAAS_BASE_URL", base)
    env.setenv("CURL_CA_BUNDLE", "")  # once a way to switch requests' verification off
    reset_runtime()
    identity = FederatedIdentity(IDENTITY.account, IDENTITY.arn, config_options={"verify": "false"})
    outcome = athena.read("activities")  # GetSplits reads the parent contacts
    assert outcome.error_type == "InternalServiceException" and "TLS" in outcome.message, outcome.message
    with pytest.raises(Exception, match="TLS"):
        athena.c.invoke(
            GetSplitsRequest(
                identity, "q", CATALOG, table_name("activities"), athena.c.layout("activities"), (), Constraints(), None
            )
        )
    appflow.settings = {}
    outcome = appflow.read("accounts")  # the deployment's own base URL, self-signed: refused too
    assert outcome.error_type == "ServiceUnavailable" and "TLS" in outcome.message, outcome.message
    assert tls_server.requests == []


# ------------------------------------------------------------------------------------------------------- spill


def test_spilled_blocks_are_encrypted_by_default(athena: drivers.Athena, server: DemoServer) -> None:
    """Their bytes do not contain the plaintext; decrypting with the split's key gives the batch."""
    source = server.store.all_records("contacts")
    emails = [r["email"] for r in source if r.get("email")]
    result = athena.c.query("contacts", ["id", "email"], max_inline=1)  # force every split to spill
    assert result.remote, "the read should have spilled"
    s3 = boto3.client("s3")
    seen = []
    for out in result.remote:
        schema = decode_schema(out["schema"])
        key = encryption_key_from_wire(out["encryptionKey"], "encryptionKey")
        assert key is not None, "encrypted by default"
        for loc in out["remoteBlocks"]:
            data = s3.get_object(Bucket=loc["bucket"], Key=loc["key"])["Body"].read()
            assert not any(e.encode() in data for e in emails), "plaintext in a spilled object"
            batch = decode_spill_object(data, schema, key)
            seen += batch.to_pylist()
    assert sorted(r["id"] for r in seen) == [r["id"] for r in source]
    assert {r["id"]: r["email"] for r in seen} == {r["id"]: r["email"] for r in source}


def test_a_split_without_a_key_still_spills_encrypted(athena: drivers.Athena, server: DemoServer) -> None:
    """A ReadRecords request whose split carries no encryption key cannot turn encryption off."""
    from dataclasses import replace

    splits, _ = athena.c.splits("accounts")
    schema = pa.schema([athena.c.table_schema("accounts").field("name")])
    bare = replace(splits[0], encryption_key=None)
    _, out = athena.c.read_split("accounts", bare, schema, max_inline=1)
    assert out["@type"] == "RemoteReadRecordsResponse"
    key = encryption_key_from_wire(out["encryptionKey"], "encryptionKey")
    assert key is not None, "the connector made its own key"
    names = [r["name"] for r in server.store.all_records("accounts")]
    s3 = boto3.client("s3")
    for loc in out["remoteBlocks"]:
        data = s3.get_object(Bucket=loc["bucket"], Key=loc["key"])["Body"].read()
        assert not any(n.encode() in data for n in names)
        assert decode_spill_object(data, decode_schema(out["schema"]), key).num_rows > 0


# ------------------------------------------------------------------------------------------------------- hooks

MARKER = "tests.reliability.hook_target"


def _spec_with_hook(tmp_path: Path, modules: list[str], hook: str) -> Path:
    data = drivers.fast_spec_data()
    data["api"]["hooks"] = {"modules": modules}
    data["entities"][0]["hooks"] = {"transform": hook}
    return drivers.write_spec(tmp_path / "hooked.yaml", data)


@pytest.mark.parametrize(
    ("modules", "hook"),
    [
        ([], f"{MARKER}:transform"),
        (["tests.reliability.other"], f"{MARKER}:transform"),
        (["tests.rel"], f"{MARKER}:transform"),  # a prefix of a name is not its package
        (["tests.reliability.hook_target_x"], f"{MARKER}:transform"),
        ([MARKER], "os:system"),
    ],
)
def test_hooks_load_only_from_declared_modules(
    modules: list[str],
    hook: str,
    tmp_path: Path,
    athena: drivers.Athena,
    appflow: drivers.AppFlowRun,
    env: pytest.MonkeyPatch,
) -> None:
    from athena_connector.runtime import reset_runtime

    sys.modules.pop(MARKER, None)
    env.setenv("SAAS_SPEC", str(_spec_with_hook(tmp_path, modules, hook)))
    reset_runtime()
    a = athena.read("accounts")
    b = appflow.read("accounts")
    assert a.error_type == "InternalServiceException" and "not declared in api.hooks.modules" in a.message, a
    assert b.error_type == "ServerError" and "not declared in api.hooks.modules" in b.message, b
    assert MARKER not in sys.modules, "the undeclared module was never imported"


def test_a_declared_hook_module_is_used(
    tmp_path: Path, athena: drivers.Athena, appflow: drivers.AppFlowRun, env: pytest.MonkeyPatch, server: DemoServer
) -> None:
    from athena_connector.runtime import reset_runtime

    env.setenv("SAAS_SPEC", str(_spec_with_hook(tmp_path, [MARKER], f"{MARKER}:transform")))
    reset_runtime()
    for outcome in (athena.read("accounts", ["id", "name"]), appflow.read("accounts", fields=["id", "name"])):
        assert outcome.ok, outcome.message
        assert all(r["name"].startswith("hooked:") for r in outcome.rows or [])
