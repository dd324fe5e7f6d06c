"""API-key and OAuth2 authentication."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import requests

from demo_api import DemoServer

if TYPE_CHECKING:
    from conftest import DemoClient


def _token(srv: DemoServer, **form: str) -> requests.Response:
    return requests.post(srv.token_url, data=form, timeout=10)


def _client_credentials(srv: DemoServer) -> dict[str, str]:
    r = _token(srv, grant_type="client_credentials", client_id=srv.client_id, client_secret=srv.client_secret)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _me(srv: DemoServer, token: str) -> requests.Response:
    return requests.get(f"{srv.base_url}/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)


def test_api_key_required(api: DemoClient) -> None:
    url = f"{api.srv.base_url}/contacts"
    for headers in ({}, {"X-API-Key": "wrong"}, {"Authorization": "Basic Zm9vOmJhcg=="}):
        r = requests.get(url, headers=headers, timeout=10)
        assert r.status_code == 401
        body = r.json()
        assert body["error"] == "invalid_api_key" and body["message"]
    assert api.ok("/me") == {
        "tenant": "acme-demo",
        "plan": "enterprise",
        "auth": "api_key",
        "server_time": "2025-07-01T00:00:00Z",
    }


def test_health_and_admin_need_no_credentials(srv: DemoServer) -> None:
    assert requests.get(f"{srv.root_url}/health", timeout=10).json() == {"status": "ok"}
    assert requests.get(f"{srv.admin_url}/faults", timeout=10).status_code == 200


def test_custom_api_key() -> None:
    with DemoServer(port=0, scale=0.01, api_key="k-123") as srv:
        assert srv.api_key == "k-123"
        ok = requests.get(f"{srv.base_url}/me", headers={"X-API-Key": "k-123"}, timeout=10)
        default = requests.get(f"{srv.base_url}/me", headers={"X-API-Key": "demo-secret-key"}, timeout=10)
        assert (ok.status_code, default.status_code) == (200, 401)


def test_client_credentials_then_bearer(srv: DemoServer) -> None:
    token = _client_credentials(srv)
    assert token["token_type"] == "Bearer" and token["expires_in"] == 3600 and token["refresh_token"]
    r = _me(srv, token["access_token"])
    assert r.status_code == 200 and r.json()["auth"] == "bearer"
    # client_secret_basic works too
    r = requests.post(
        srv.token_url, data={"grant_type": "client_credentials"}, auth=(srv.client_id, srv.client_secret), timeout=10
    )
    assert r.status_code == 200 and _me(srv, r.json()["access_token"]).status_code == 200


def test_token_endpoint_errors(srv: DemoServer) -> None:
    r = _token(srv, grant_type="client_credentials", client_id=srv.client_id, client_secret="nope")
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = _token(srv, grant_type="password", username="u", password="p")
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"
    r = _token(srv, grant_type="refresh_token", refresh_token="rt_made_up")
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    r = _me(srv, "at_made_up")
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"
    assert "invalid_token" in r.headers["WWW-Authenticate"]


def test_expire_all_then_refresh(srv: DemoServer) -> None:
    token = _client_credentials(srv)
    assert _me(srv, token["access_token"]).status_code == 200
    assert requests.post(f"{srv.admin_url}/tokens/expire", timeout=10).json()["expired"] >= 1
    assert _me(srv, token["access_token"]).status_code == 401
    refreshed = _token(srv, grant_type="refresh_token", refresh_token=token["refresh_token"])
    assert refreshed.status_code == 200
    assert _me(srv, refreshed.json()["access_token"]).status_code == 200
    # revoking refresh tokens forces a new client_credentials grant
    requests.post(f"{srv.admin_url}/tokens/expire", json={"revoke_refresh": True}, timeout=10)
    again = _token(srv, grant_type="refresh_token", refresh_token=refreshed.json()["refresh_token"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_tokens_expire_after_ttl() -> None:
    with DemoServer(port=0, scale=0.01, token_ttl_s=0.8) as srv:
        token = _client_credentials(srv)
        assert token["expires_in"] == 0.8
        assert _me(srv, token["access_token"]).status_code == 200
        time.sleep(0.9)
        assert _me(srv, token["access_token"]).status_code == 401
