"""Credentials reach only the configured origin, judged by the host the HTTP stack connects to.

The audit's bypass: ``urllib.parse`` and urllib3 read ``http://localhost:<evil>\\@127.0.0.1:<api>/`` as different
hosts, so a check made with the first let the second connect elsewhere, carrying the API key (next links and
redirects alike, and an AppFlow write reported success). A second loopback server stands in for the attacker's
host and records every request that reaches it: none may, through either entry point, for the audit's URLs and
for a generated corpus of variants.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from demo_api.server import DemoServer
from shared.auth import build_auth
from shared.clock import SYSTEM_CLOCK
from shared.errors import ConfigError
from shared.spec import load_spec_text
from shared.transport import make_session
from shared.urls import UnsafeURLError, request_origin
from tests.reliability import drivers
from tests.support.fake_saas import API_KEY, fake_spec_text
from tests.support.url_variants import Recorder, api_transport, other_host, send_corpus


@pytest.fixture(scope="module")
def evil_host() -> Iterator[tuple[Recorder, str]]:
    with other_host() as host:
        yield host


@pytest.fixture
def evil(evil_host: tuple[Recorder, str]) -> tuple[Recorder, str]:
    evil_host[0].requests.clear()
    return evil_host


def _port(hostport: str) -> str:
    return hostport.rsplit(":", 1)[1]


def _audit_tricks(api: str, evil_port: str) -> list[str]:
    """The audit's forms: the authority the connection uses is ``localhost:<evil>``; ``urlsplit`` sees the API."""
    return [f"localhost:{evil_port}\\@{api}", f"localhost:{evil_port}\\\\@{api}", f"localhost:{evil_port}\t@{api}"]


def test_the_audit_url_is_refused_for_what_it_really_reaches() -> None:
    url = "http://localhost:28473\\@127.0.0.1:28470/api/v1/contacts"
    with pytest.raises(UnsafeURLError, match="backslash"):
        request_origin(url)
    assert request_origin("HTTP://127.0.0.1:28470/api/v1/x?y=1") == ("http", "127.0.0.1", 28470)
    assert request_origin("https://[::1]/x") == ("https", "::1", 443)
    for url, reason in [
        ("http://evil:1@127.0.0.1:2/", "user information"),
        ("http://127.0.0.1:2\n/x", "control character"),
        ("127.0.0.1:2/x", "http"),
        ("http://127.0.0.1:99999/", "valid URL"),
    ]:
        with pytest.raises(UnsafeURLError, match=reason):
            request_origin(url)


@pytest.mark.parametrize("entity", ["deals", "activities"])
def test_a_next_link_that_parsers_read_differently_is_refused_by_both(
    entity: str, athena: drivers.Athena, appflow: drivers.AppFlowRun, server: DemoServer, evil: tuple[Recorder, str]
) -> None:
    recorder, evil_host = evil
    for trick in _audit_tricks(server.base_url.split("://", 1)[1].split("/", 1)[0], _port(evil_host)):
        for read in (athena.read, appflow.read):
            server.set_faults([{"kind": "foreign_next", "entity": entity, "host": trick, "count": None}])
            outcome = read(entity)
            assert not outcome.ok and "refusing to follow a next-page link" in outcome.message, outcome.message
            assert f"entity '{entity}'" in outcome.message
            assert drivers.API_KEY not in outcome.message
    assert recorder.requests == [], "nothing, let alone credentials, went to the other host"


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_a_redirect_that_parsers_read_differently_is_refused_by_both(
    code: int, athena: drivers.Athena, appflow: drivers.AppFlowRun, server: DemoServer, evil: tuple[Recorder, str]
) -> None:
    recorder, evil_host = evil
    api = server.base_url.split("://", 1)[1].split("/", 1)[0]
    for trick in _audit_tricks(api, _port(evil_host)):
        location = f"http://{trick}"
        for read in (athena.read, appflow.read):
            server.set_faults([{"kind": "redirect", "entity": "accounts", "code": code, "location": location}])
            outcome = read("accounts")
            assert not outcome.ok and "refusing to follow a redirect" in outcome.message, outcome.message
    assert recorder.requests == []


@pytest.mark.parametrize("code", [302, 307, 308])
def test_an_appflow_write_redirected_by_a_trick_is_refused_not_reported_written(
    code: int, appflow: drivers.AppFlowRun, server: DemoServer, evil: tuple[Recorder, str]
) -> None:
    recorder, evil_host = evil
    api = server.base_url.split("://", 1)[1].split("/", 1)[0]
    location = f"http://localhost:{_port(evil_host)}\\@{api}"
    server.set_faults([{"kind": "redirect", "entity": "contacts", "code": code, "location": location}])
    event = {
        "type": "WriteDataRequest",
        "entityIdentifier": "contacts",
        "connectorContext": appflow.event("contacts")["connectorContext"],
        "operation": "INSERT",
        "idFieldNames": None,
        "records": [json.dumps({"first_name": "Eve", "last_name": "X", "email": "eve@example.com"})],
        "allOrNone": False,
    }
    response = appflow.call(event)
    results = response.get("writeRecordResults") or []
    assert not response["isSuccess"] or not any(r.get("isSuccess") for r in results), response
    assert "refusing to follow a redirect" in json.dumps(response)
    assert recorder.requests == []


def test_a_generated_corpus_of_url_variants_never_reaches_the_other_host() -> None:
    """Every variant is refused or reaches the API; the other host sees nothing. (Large run:
    ``benchmarks/fuzz_urls.py``.)"""
    outcomes, at_other_host, at_api = send_corpus(300)
    assert at_other_host == [], at_other_host[:3]
    assert outcomes["refused"] >= 250, outcomes
    assert all(r.headers.get("X-API-Key") == API_KEY for r in at_api)


def test_an_ambiguous_base_or_token_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="base URL .* backslash"):
        api_transport("http://localhost:1\\@127.0.0.1:2")
    spec = load_spec_text(
        fake_spec_text("http://127.0.0.1:1", "offset").replace(
            '{type: api_key, in: header, name: X-API-Key, value: "{secret.api_key}"}',
            "{type: oauth2_client_credentials, token_url: 'http://localhost:9\\\\@127.0.0.1:1/token', "
            'client_id: "{secret.client_id}", client_secret: "{secret.client_secret}"}',
        )
    )
    with pytest.raises(ConfigError, match="token_url .* backslash"):
        build_auth(
            spec.api.auth,
            {"client_id": "abcd", "client_secret": "efgh-secret"},
            {},
            session=make_session(),
            clock=SYSTEM_CLOCK,
            timeout=(1.0, 2.0),
            resolve_hook=lambda ref: None,  # type: ignore[arg-type,return-value]
        )
