"""Credentials go only to the configured origin, and no secret reaches a log line or an error message."""

from __future__ import annotations

import logging

import pytest

from shared.client import SaaSClient
from shared.errors import PaginationError, SaaSAuthError, SaaSClientError
from shared.redaction import redact, safe_url
from shared.spec import load_spec_text
from tests.support.clock import FakeClock
from tests.support.fake_saas import API_KEY, FakeSaaS, fake_spec_text, make_records, serve

QUERY_KEY_SPEC = fake_spec_text("{base}", "offset").replace(
    '{type: api_key, in: header, name: X-API-Key, value: "{secret.api_key}"}',
    '{type: api_key, in: query, name: api_key, value: "{secret.api_key}"}',
)


def test_secrets_never_reach_the_logs_even_in_urls(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # urllib3 logs every request line, query string included
    app = FakeSaaS(make_records(25), style="offset", faults={2: "503", 4: "400"})
    with serve(app) as base:
        spec = load_spec_text(QUERY_KEY_SPEC.replace("{base}", base))
        client = SaaSClient(spec, {"api_key": API_KEY}, clock=FakeClock())
        with pytest.raises(SaaSClientError, match="bad filter") as err:
            list(client.iter_records(client.plan("items")))
    assert any("api_key=" in r.getMessage() for r in caplog.records), "urllib3 should have logged the URL"
    assert API_KEY not in caplog.text
    assert API_KEY not in str(err.value)
    assert app.requests[0].args["api_key"] == API_KEY  # it was really sent, to the right host


def test_a_redirect_to_another_host_is_not_followed_with_credentials() -> None:
    app = FakeSaaS(make_records(3))
    with serve(app) as base:
        spec = load_spec_text(
            fake_spec_text(base, "none").replace("path: /items", "path: /redirect?to=http://evil.invalid/x")
        )
        client = SaaSClient(spec, {"api_key": API_KEY}, clock=FakeClock())
        with pytest.raises(PaginationError, match="refusing to follow a redirect to http://evil.invalid/x"):
            list(client.iter_records(client.plan("items")))


def test_wrong_credentials_give_a_clear_auth_error_without_the_secret() -> None:
    app = FakeSaaS(make_records(3))
    with serve(app) as base:
        client = SaaSClient(
            load_spec_text(fake_spec_text(base, "offset")), {"api_key": "wrong-key-9876"}, clock=FakeClock()
        )
        with pytest.raises(SaaSAuthError) as err:
            list(client.iter_records(client.plan("items")))
    assert "rejected the credentials (HTTP 401)" in str(err.value)
    assert "wrong-key-9876" not in str(err.value)
    assert err.value.entity == "items"


def test_safe_url_masks_sensitive_parameters_and_userinfo() -> None:
    url = "https://user:pw@api.example.com:8443/x?token=abc&page=2&api_key=zzz"
    assert safe_url(url) == "https://api.example.com:8443/x?token=%2A%2A%2A&page=2&api_key=%2A%2A%2A"
    assert redact("nothing registered here") == "nothing registered here"


def test_tls_verification_is_always_requested(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[object] = []
    app = FakeSaaS(make_records(2), style="none")
    with serve(app) as base:
        client = SaaSClient(load_spec_text(fake_spec_text(base, "none")), {"api_key": API_KEY}, clock=FakeClock())
        original = client.session.request

        def spy(*args: object, **kwargs: object) -> object:
            seen.append(kwargs.get("verify"))
            return original(*args, **kwargs)

        monkeypatch.setattr(client.session, "request", spy)
        list(client.iter_records(client.plan("items")))
    assert seen == [True]
