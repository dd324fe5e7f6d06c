"""The environment's proxy settings apply to the SaaS API's requests (a Lambda in a VPC may reach the internet only
through one), read once per origin rather than on every request."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from werkzeug.wrappers import Request, Response

from shared.client import SaaSClient
from shared.spec import load_spec_text
from tests.support.clock import FakeClock
from tests.support.fake_saas import API_KEY, FakeSaaS, fake_spec_text, make_records, serve

UNREACHABLE = "http://api.saas.invalid:8080"  # resolvable only by the proxy below


class ForwardProxy:
    """A plain-HTTP forward proxy for one upstream: requests arrive with the absolute URL of the real API."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.seen: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.seen.append(request.url)
        target = request.url.replace(UNREACHABLE, self.upstream)
        with requests.Session() as direct:
            direct.trust_env = False  # the proxy itself goes straight to the upstream
            answer = direct.get(target, headers={"X-API-Key": request.headers.get("X-API-Key", "")}, timeout=10)
        return Response(answer.content, status=answer.status_code, content_type="application/json")(
            environ, start_response
        )


def test_requests_go_through_the_environment_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    app = FakeSaaS(make_records(25), style="offset")
    with serve(app) as upstream:
        proxy = ForwardProxy(upstream)
        with serve(proxy) as proxy_url:
            monkeypatch.setenv("HTTP_PROXY", proxy_url)
            monkeypatch.delenv("NO_PROXY", raising=False)
            monkeypatch.delenv("no_proxy", raising=False)
            spec = load_spec_text(fake_spec_text(UNREACHABLE, "offset"), source="fake.yaml")
            client = SaaSClient(spec, {"api_key": API_KEY}, clock=FakeClock())
            ids = [r["id"] for r in client.iter_records(client.plan("items"))]
    assert ids == list(range(1, 26))
    assert len(proxy.seen) == 3 and all(url.startswith(f"{UNREACHABLE}/items?") for url in proxy.seen)


def test_no_proxy_sends_the_api_requests_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    app = FakeSaaS(make_records(5), style="offset")
    proxy = ForwardProxy("http://127.0.0.1:9")
    with serve(app) as upstream, serve(proxy) as proxy_url:
        monkeypatch.setenv("HTTP_PROXY", proxy_url)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        spec = load_spec_text(fake_spec_text(upstream, "offset"), source="fake.yaml")
        client = SaaSClient(spec, {"api_key": API_KEY}, clock=FakeClock())
        assert [r["id"] for r in client.iter_records(client.plan("items"))] == [1, 2, 3, 4, 5]
        assert proxy.seen == []
