"""Secrets never reach logs or messages: representative operations of both connectors with every logger at DEBUG
(urllib3's request lines included) and stdout/stderr captured (the Athena connector's structured logger writes
there), then a scan of all of it for the test secrets: the API key (in a header and in the query string), the
OAuth client secret, and every access and refresh token the demo API issued during the test.

The whole reliability suite's log output is scanned again at the end of the session (``conftest.suite_logs``).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
import requests

from demo_api.server import DemoServer
from tests.athena.connector.harness import FakeContext
from tests.reliability import drivers
from tests.reliability.secrets_scan import ISSUED, find_secrets, known_secrets


def _issued(server: DemoServer) -> set[str]:
    auth = server.app.auth
    return set(getattr(auth, "_access", {})) | set(getattr(auth, "_refresh", set()))


def _spec(tmp_path: Path, name: str, auth: dict[str, Any]) -> Path:
    data = drivers.fast_spec_data()
    data["api"]["auth"] = auth
    return drivers.write_spec(tmp_path / f"{name}.yaml", data)


def _scan(caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str], extra: list[str]) -> None:
    lines = [f"{r.getMessage()} | {r.msg!r} | {r.args!r} | {r.__dict__!r}" for r in caplog.records]
    out, err = capfd.readouterr()
    lines += out.splitlines() + err.splitlines() + extra
    assert len(lines) > 50, "the operations should have logged plenty"
    secrets = known_secrets()
    assert len(secrets) >= 4
    leaks = find_secrets(lines, secrets)
    assert not leaks, f"{len(leaks)} line(s) hold a secret, e.g. {leaks[0][:400]!r}"


def test_no_secret_in_any_log_line_or_message(
    athena: drivers.Athena,
    appflow: drivers.AppFlowRun,
    server: DemoServer,
    env: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    from athena_connector.runtime import reset_runtime

    caplog.set_level(logging.DEBUG)
    logging.getLogger("urllib3").setLevel(logging.DEBUG)
    messages: list[str] = []

    def run_both(
        entity: str = "accounts", faults: list[dict[str, Any]] | None = None, seconds: float | None = None
    ) -> None:
        """``seconds``: a shorter invocation for faults that are waited out until the deadline (429s)."""
        for connector in ("athena", "appflow"):
            if faults:
                server.set_faults(faults)
            if seconds is None:
                outcome = athena.read(entity) if connector == "athena" else appflow.read(entity)
            elif connector == "athena":
                athena.c.setenv("deadline_margin_seconds", "0.5")
                outcome = athena.read(entity, context=FakeContext(seconds * 1000))
            else:
                outcome = appflow.read(entity, budget_s=seconds)
            messages.append(outcome.message)
            messages.append(json.dumps(outcome.rows, default=str)[:2000])
        server.clear_faults()

    # 1. API key in a header: reads, throttling, server errors, malformed bodies, refused redirects, a bad key.
    run_both("contacts")
    run_both("deals", [{"kind": "rate_limit", "entity": "deals", "count": None}], seconds=3.0)
    run_both(
        "accounts",
        [
            {
                "kind": "status",
                "code": 500,
                "entity": "accounts",
                "count": None,
                "message": f"upstream echoed X-API-Key: {drivers.API_KEY}",
            }
        ],
    )
    run_both("accounts", [{"kind": "malformed", "entity": "accounts", "count": None}])
    run_both("accounts", [{"kind": "redirect", "entity": "accounts", "location": "http://127.0.0.1:9"}])
    env.setenv("SAAS_API_KEY", drivers.API_KEY + "-wrong")  # a wrong key is still a secret: registered too
    reset_runtime()
    messages.append(athena.read("accounts").message)

    # 2. API key in the query string (the demo API refuses it: the 401 path logs and reports the URL).
    env.setenv("SAAS_API_KEY", drivers.API_KEY)
    env.setenv(
        "SAAS_SPEC",
        str(
            _spec(
                tmp_path,
                "query_key",
                {"type": "api_key", "in": "query", "name": "api_key", "value": "{secret.api_key}"},
            )
        ),
    )
    reset_runtime()
    run_both("accounts")

    # 3. OAuth2 client credentials, with every token expired mid-read (refresh on 401).
    oauth = {
        "type": "oauth2_client_credentials",
        "token_url": server.token_url,
        "client_id": "{secret.client_id}",
        "client_secret": "{secret.client_secret}",
    }
    env.setenv("SAAS_SPEC", str(_spec(tmp_path, "oauth", oauth)))
    env.setenv("SAAS_CREDENTIALS", json.dumps({"client_id": drivers.CLIENT_ID, "client_secret": drivers.CLIENT_SECRET}))
    reset_runtime()
    appflow.settings = {}
    env.setattr(
        "appflow_connector.handler.HANDLER.runtime.secrets",
        _CustomSecrets({"client_id": drivers.CLIENT_ID, "client_secret": drivers.CLIENT_SECRET}),
    )
    for read in (athena.read, lambda e: appflow_custom(appflow, e)):
        outcome = read("contacts")
        assert outcome.ok, outcome.message
        ISSUED.update(_issued(server))
        server.expire_tokens()
        outcome = read("deals")
        assert outcome.ok, outcome.message

    # 4. OAuth2 refresh-token grant, with the refresh token revoked half way (a typed auth failure).
    grant = requests.post(
        server.token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": drivers.CLIENT_ID,
            "client_secret": drivers.CLIENT_SECRET,
        },
        timeout=10,
    ).json()
    refresh = {**oauth, "type": "oauth2_refresh_token", "refresh_token": "{secret.refresh_token}"}
    env.setenv("SAAS_SPEC", str(_spec(tmp_path, "refresh", refresh)))
    env.setenv(
        "SAAS_CREDENTIALS",
        json.dumps(
            {
                "client_id": drivers.CLIENT_ID,
                "client_secret": drivers.CLIENT_SECRET,
                "refresh_token": grant["refresh_token"],
            }
        ),
    )
    reset_runtime()
    assert athena.read("accounts").ok
    ISSUED.update(_issued(server) | {grant["access_token"], grant["refresh_token"]})
    server.expire_tokens(revoke_refresh=True)
    from shared.auth import clear_token_cache

    clear_token_cache()
    failed = athena.read("accounts")
    assert failed.error_type == "InvalidCredentialsException", failed.message
    messages.append(failed.message)

    ISSUED.update(_issued(server))
    assert ISSUED, "tokens were issued"
    _scan(caplog, capfd, messages)


class _CustomSecrets:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def get(self, secret_arn: str, *, max_age_s: int) -> dict[str, str]:
        return dict(self.values)

    def invalidate(self, secret_arn: str) -> None:
        return None


def appflow_custom(run: drivers.AppFlowRun, entity: str) -> drivers.Outcome:
    """QueryData with CustomAuth credentials (the connector runs the OAuth2 grant itself)."""
    original = run.event

    def event(entity: str, **kwargs: Any) -> dict[str, Any]:
        out = original(entity, **kwargs)
        out["connectorContext"]["credentials"]["authenticationType"] = "CustomAuth"
        return out

    run.event = event  # type: ignore[method-assign]
    try:
        return run.read(entity)
    finally:
        run.event = original  # type: ignore[method-assign]
