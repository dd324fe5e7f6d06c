"""Every auth kind against a real loopback API: what reaches the server, OAuth2 token caching, expiry and
refresh on 401, clear errors that never carry a secret, missing credentials, and hook auth."""

from __future__ import annotations

import base64
import contextlib
import json
import sys
import textwrap
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from shared.client import SaaSClient
from shared.errors import ConfigError, SaaSAuthError, SpecError
from shared.spec import SourceSpec, load_spec_text
from tests.support.clock import FakeClock
from tests.support.fake_saas import API_KEY as FAKE_KEY
from tests.support.fake_saas import FakeSaaS, fake_spec_text, make_records, serve

API_KEY = "k3y-0123456789abcdef"
TOKEN = "static-bearer-token-987"
USERNAME, PASSWORD = "svc-reader", "pa:ss w0rd!"
CLIENT_ID, CLIENT_SECRET = "client-abc", "cl1ent-s3cret-value"
REFRESH_TOKEN = "refresh-token-0000"
RECORDS = [{"id": 1, "name": "one"}, {"id": 2, "name": "two"}]


@dataclass
class AuthAPI:
    """``/items`` accepts a request when ``accept(request)`` says so (else 401, echoing what it got);
    ``/oauth/token`` is an OAuth2 token endpoint that counts its calls."""

    accept: Any = None
    expires_in: Any = 3600
    token_status: int = 200
    token_body: Any = None  # replaces the token response body when set
    rotate_refresh: bool = False
    api_calls: list[Request] = field(default_factory=list)
    api_status: list[int] = field(default_factory=list)
    token_calls: list[dict[str, Any]] = field(default_factory=list)
    valid_tokens: set[str] = field(default_factory=set)
    valid_refresh: set[str] = field(default_factory=lambda: {REFRESH_TOKEN})
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self.lock:
            if request.path == "/oauth/token":
                response = self._token(request)
            else:
                self.api_calls.append(request)
                ok = self.accept(request) if self.accept else self.bearer_ok(request)
                if ok:
                    response = _json({"data": RECORDS})
                else:
                    echoed = request.headers.get("X-API-Key") or request.args.get("api_key") or ""
                    response = _json({"message": f"invalid credentials {echoed}".strip()}, 401)
                self.api_status.append(response.status_code)
        return response(environ, start_response)

    def bearer_ok(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        return header.startswith("Bearer ") and header[len("Bearer ") :] in self.valid_tokens

    def revoke(self) -> None:
        """Invalidate every access token issued so far (the API forgets them before they expire)."""
        with self.lock:
            self.valid_tokens.clear()

    def _token(self, request: Request) -> Response:
        form = request.form.to_dict()
        auth = request.authorization
        self.token_calls.append(
            {"form": form, "basic": (auth.username, auth.password) if auth and auth.type == "basic" else None}
        )
        if self.token_status != 200:
            # a real endpoint may echo what it was sent: the client must not repeat it
            return _json({"error": "invalid_client", "error_description": f"bad secret {CLIENT_SECRET}"}, 401)
        if self.token_body is not None:
            return _json(self.token_body)
        client_id, client_secret = (
            (auth.username, auth.password) if auth else (form.get("client_id"), form.get("client_secret"))
        )
        if (client_id, client_secret) != (CLIENT_ID, CLIENT_SECRET):
            return _json({"error": "invalid_client"}, 401)
        n = len(self.token_calls)
        body: dict[str, Any] = {"access_token": f"access-{n}", "token_type": "Bearer"}
        if self.expires_in is not None:
            body["expires_in"] = self.expires_in
        if form.get("grant_type") == "refresh_token":
            if form.get("refresh_token") not in self.valid_refresh:
                return _json({"error": "invalid_grant"}, 400)
            if self.rotate_refresh:  # the old refresh token stops working once a new one is issued
                self.valid_refresh = {f"refresh-token-{n:04d}"}
                body["refresh_token"] = f"refresh-token-{n:04d}"
        self.valid_tokens.add(body["access_token"])
        return _json(body)


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def spec(base: str, auth: str, extra: str = "") -> SourceSpec:
    return load_spec_text(fake_spec_text(base, "none", 3, auth=auth, api_extra=extra), source="auth.yaml")


def read(client: SaaSClient) -> list[int]:
    return [r["id"] for r in client.iter_records(client.plan("items"))]


OAUTH_CC = (
    "{{type: oauth2_client_credentials, token_url: '{base}/oauth/token', client_id: '{{secret.client_id}}', "
    "client_secret: '{{secret.client_secret}}', scope: 'read:items', auth_style: {style}}}"
)
OAUTH_RT = (
    "{{type: oauth2_refresh_token, token_url: '{base}/oauth/token', client_id: '{{secret.client_id}}', "
    "client_secret: '{{secret.client_secret}}', refresh_token: '{{secret.refresh_token}}'}}"
)
OAUTH_SECRETS = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN}


def oauth_client(base: str, clock: FakeClock | None = None, style: str = "body") -> SaaSClient:
    return SaaSClient(spec(base, OAUTH_CC.format(base=base, style=style)), OAUTH_SECRETS, clock=clock or FakeClock())


# -- static credentials --------------------------------------------------------------------------------
def test_api_key_in_a_header() -> None:
    app = AuthAPI(accept=lambda r: r.headers.get("X-API-Key") == API_KEY and "api_key" not in r.args)
    with serve(app) as base:
        auth = '{type: api_key, in: header, name: X-API-Key, value: "{secret.api_key}"}'
        assert read(SaaSClient(spec(base, auth), {"api_key": API_KEY})) == [1, 2]
    assert app.api_status == [200]


def test_api_key_in_the_query_string() -> None:
    app = AuthAPI(accept=lambda r: r.args.get("api_key") == API_KEY and "X-API-Key" not in r.headers)
    with serve(app) as base:
        auth = '{type: api_key, in: query, name: api_key, value: "{secret.api_key}"}'
        assert read(SaaSClient(spec(base, auth), {"api_key": API_KEY})) == [1, 2]
    assert app.api_status == [200]
    assert app.api_calls[0].args.getlist("api_key") == [API_KEY]  # sent once, not duplicated


def test_bearer_token() -> None:
    app = AuthAPI(accept=lambda r: r.headers.get("Authorization") == f"Bearer {TOKEN}")
    with serve(app) as base:
        client = SaaSClient(spec(base, '{type: bearer, token: "{secret.token}"}'), {"token": TOKEN})
        assert read(client) == [1, 2]


def test_basic_auth_with_a_colon_and_a_space_in_the_password() -> None:
    app = AuthAPI(accept=lambda r: r.authorization is not None and r.authorization.type == "basic")
    with serve(app) as base:
        auth = '{type: basic, username: "{secret.username}", password: "{secret.password}"}'
        client = SaaSClient(spec(base, auth), {"username": USERNAME, "password": PASSWORD})
        assert read(client) == [1, 2]
    header = app.api_calls[0].headers["Authorization"]
    assert header == "Basic " + base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()


def test_a_rejected_static_key_is_an_auth_error_without_the_key_and_without_a_retry() -> None:
    app = AuthAPI(accept=lambda r: False)  # answers 401 and echoes the key it received
    with serve(app) as base:
        auth = '{type: api_key, in: header, name: X-API-Key, value: "{secret.api_key}"}'
        client = SaaSClient(spec(base, auth), {"api_key": API_KEY}, clock=FakeClock())
        with pytest.raises(SaaSAuthError) as err:
            read(client)
    assert err.value.status == 401
    assert err.value.entity == "items"
    assert err.value.page == 1
    assert "invalid credentials" in str(err.value)  # the API's message, with the echoed key masked
    assert API_KEY not in str(err.value)
    assert len(app.api_calls) == 1  # a static key cannot be refreshed: no second try


# -- OAuth2 --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("style", ["body", "basic"])
def test_client_credentials_token_is_fetched_once_and_cached_across_clients(style: str) -> None:
    app = AuthAPI()
    with serve(app) as base:
        first = oauth_client(base, style=style)
        assert read(first) == [1, 2]
        assert read(first) == [1, 2]
        second = oauth_client(base, style=style)  # a new client in the same process (a warm Lambda)
        assert read(second) == [1, 2]
    assert len(app.token_calls) == 1
    call = app.token_calls[0]
    assert call["form"]["grant_type"] == "client_credentials"
    assert call["form"]["scope"] == "read:items"
    if style == "basic":
        assert call["basic"] == (CLIENT_ID, CLIENT_SECRET)
        assert "client_secret" not in call["form"]
    else:
        assert call["basic"] is None
        assert (call["form"]["client_id"], call["form"]["client_secret"]) == (CLIENT_ID, CLIENT_SECRET)
    assert {r.headers["Authorization"] for r in app.api_calls} == {"Bearer access-1"}


def test_an_expiring_token_is_refreshed_a_minute_early_on_the_clock() -> None:
    app = AuthAPI(expires_in=300)
    clock = FakeClock()
    with serve(app) as base:
        client = oauth_client(base, clock)
        read(client)
        clock.now += 239  # 61 s left: still used
        read(client)
        assert len(app.token_calls) == 1
        clock.now += 1  # 60 s left: inside the skew, fetched anew before the request
        read(client)
        assert len(app.token_calls) == 2
        clock.now += 200
        read(client)
    assert len(app.token_calls) == 2
    assert [r.headers["Authorization"] for r in app.api_calls] == [
        "Bearer access-1",
        "Bearer access-1",
        "Bearer access-2",
        "Bearer access-2",
    ]
    assert app.api_status == [200] * 4


def test_a_token_without_expires_in_is_kept_for_an_hour() -> None:
    app = AuthAPI(expires_in=None)
    clock = FakeClock()
    with serve(app) as base:
        client = oauth_client(base, clock)
        read(client)
        clock.now += 3539
        read(client)
        assert len(app.token_calls) == 1
        clock.now += 2
        read(client)
    assert len(app.token_calls) == 2


def test_a_401_refreshes_once_and_retries_then_succeeds() -> None:
    app = AuthAPI()
    with serve(app) as base:
        client = oauth_client(base)
        read(client)
        app.revoke()  # the API drops the token before its expiry
        assert read(client) == [1, 2]
    assert app.api_status == [200, 401, 200]
    assert len(app.token_calls) == 2
    assert app.api_calls[-1].headers["Authorization"] == "Bearer access-2"


def test_a_second_401_after_the_refresh_is_an_auth_error() -> None:
    app = AuthAPI(accept=lambda r: False)
    with serve(app) as base:
        client = oauth_client(base)
        with pytest.raises(SaaSAuthError) as err:
            read(client)
    assert app.api_status == [401, 401]  # exactly one refresh and one retry
    assert len(app.token_calls) == 2
    assert err.value.status == 401
    assert err.value.entity == "items"
    assert CLIENT_SECRET not in str(err.value)


def test_a_refused_token_request_is_a_clear_auth_error_without_the_secret() -> None:
    app = AuthAPI(token_status=401)  # its error body echoes the client secret
    with serve(app) as base:
        client = oauth_client(base)
        with pytest.raises(SaaSAuthError) as err:
            read(client)
    message = str(err.value)
    assert "token endpoint" in message
    assert "401" in message
    assert CLIENT_SECRET not in message
    assert app.api_calls == []  # nothing was sent to the API without a token


def test_a_token_response_without_an_access_token_is_an_auth_error() -> None:
    app = AuthAPI(token_body={"token_type": "Bearer", "note": "no token here"})
    with serve(app) as base, pytest.raises(SaaSAuthError, match="without an access_token"):
        read(oauth_client(base))
    assert app.api_calls == []


def test_an_unreachable_token_endpoint_is_an_auth_error() -> None:
    app = AuthAPI()
    with serve(app) as base:
        dead = "http://127.0.0.1:9"  # discard port: nothing listens there
        auth = OAUTH_CC.format(base=dead, style="body")
        client = SaaSClient(spec(base, auth), OAUTH_SECRETS, clock=FakeClock())
        with pytest.raises(SaaSAuthError, match="cannot reach the OAuth2 token endpoint") as err:
            read(client)
    assert CLIENT_SECRET not in str(err.value)
    assert app.api_calls == []


def test_a_malformed_expires_in_is_not_a_crash() -> None:
    app = AuthAPI(expires_in="soon")
    with serve(app) as base:
        client = oauth_client(base)
        with contextlib.suppress(SaaSAuthError):  # a clear auth error is fine
            assert read(client) == [1, 2]  # and so is a default lifetime


def test_refresh_token_grant_sends_the_refresh_token_and_follows_rotation_on_expiry() -> None:
    app = AuthAPI(expires_in=120, rotate_refresh=True)
    clock = FakeClock()
    with serve(app) as base:
        client = SaaSClient(spec(base, OAUTH_RT.format(base=base)), OAUTH_SECRETS, clock=clock)
        read(client)
        clock.now += 61
        read(client)  # expired: refreshed with the refresh token the endpoint rotated to
        other = SaaSClient(spec(base, OAUTH_RT.format(base=base)), OAUTH_SECRETS, clock=clock)
        read(other)  # cached across clients
    forms = [c["form"] for c in app.token_calls]
    assert [f["grant_type"] for f in forms] == ["refresh_token", "refresh_token"]
    assert [f["refresh_token"] for f in forms] == [REFRESH_TOKEN, "refresh-token-0001"]
    assert app.api_status == [200, 200, 200]


def test_a_401_refresh_uses_the_rotated_refresh_token() -> None:
    app = AuthAPI(rotate_refresh=True)
    with serve(app) as base:
        client = SaaSClient(spec(base, OAUTH_RT.format(base=base)), OAUTH_SECRETS, clock=FakeClock())
        read(client)  # refresh-token-0000 -> access-1, and the endpoint rotates to refresh-token-0001
        app.revoke()
        assert read(client) == [1, 2]
    assert [c["form"]["refresh_token"] for c in app.token_calls] == [REFRESH_TOKEN, "refresh-token-0001"]


@pytest.mark.parametrize("differs", ["refresh_token", "scope"])
def test_connections_with_different_grants_do_not_share_a_cached_token(differs: str) -> None:
    app = AuthAPI(valid_refresh={REFRESH_TOKEN, "refresh-token-of-user-b"})
    with serve(app) as base:
        if differs == "refresh_token":
            auth = OAUTH_RT.format(base=base)
            secrets_b = {**OAUTH_SECRETS, "refresh_token": "refresh-token-of-user-b"}
            spec_a = spec_b = spec(base, auth)
        else:
            secrets_b = OAUTH_SECRETS
            spec_a = spec(base, OAUTH_CC.format(base=base, style="body"))
            spec_b = spec(base, OAUTH_CC.format(base=base, style="body").replace("read:items", "admin:all"))
        read(SaaSClient(spec_a, OAUTH_SECRETS, clock=FakeClock()))
        read(SaaSClient(spec_b, secrets_b, clock=FakeClock()))
    assert len(app.token_calls) == 2
    assert app.api_calls[0].headers["Authorization"] != app.api_calls[1].headers["Authorization"]


@pytest.mark.parametrize("style", ["next_url", "link_header"])
def test_an_api_key_in_the_query_never_reaches_a_resume_token(style: str) -> None:
    app = FakeSaaS(make_records(25), style=style)  # its next links repeat every query parameter
    with serve(app) as base:
        text = fake_spec_text(base, style).replace("in: header, name: X-API-Key", "in: query, name: api_key")
        client = SaaSClient(load_spec_text(text), {"api_key": FAKE_KEY}, clock=FakeClock())
        ids, token = [], None
        while True:
            page = client.fetch_page(client.plan("items"), token)
            ids.extend(r["id"] for r in page.records)
            token = page.next_token
            if token is None:
                break
            payload = token[len("sc1.") :]
            raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
            assert FAKE_KEY.encode() not in (zlib.decompress(raw[1:]) if raw.startswith(b"z") else raw)
    assert ids == list(range(1, 26))
    assert all(r.args.getlist("api_key") == [FAKE_KEY] for r in app.requests)


# -- missing credentials -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("auth", "given", "missing"),
    [
        ('{type: api_key, name: X-API-Key, value: "{secret.api_key}"}', {"token": "unrelated-value-1"}, "api_key"),
        ('{type: bearer, token: "{secret.token}"}', {"api_key": "unrelated-value-2"}, "token"),
        (
            '{type: basic, username: "{secret.username}", password: "{secret.password}"}',
            {"username": "unrelated-value-3"},
            "password",
        ),
        (
            "{type: oauth2_client_credentials, token_url: 'http://127.0.0.1:9/t', client_id: '{secret.client_id}', "
            "client_secret: '{secret.client_secret}'}",
            {"client_id": "unrelated-value-4"},
            "client_secret",
        ),
    ],
)
def test_a_missing_credential_names_the_placeholder_not_any_value(
    auth: str, given: dict[str, str], missing: str
) -> None:
    app = AuthAPI(accept=lambda r: True)
    with serve(app) as base:
        client = SaaSClient(spec(base, auth), given, clock=FakeClock())
        with pytest.raises(ConfigError) as err:
            read(client)
    message = str(err.value)
    assert "{secret." + missing + "}" in message
    assert "api.auth." in message
    for value in given.values():
        assert value not in message
    assert app.api_calls == []


# -- hook auth -----------------------------------------------------------------------------------------
HOOK_MODULE = '''
from requests.auth import AuthBase

CREATED = []


class Signer(AuthBase):
    """A plain requests auth (not our Authenticator) with its own refresh()."""

    def __init__(self, key):
        self.key = key
        self.generation = 0

    def __call__(self, r):
        r.headers["X-Signature"] = f"{self.key}/{self.generation}"
        return r

    def refresh(self):
        self.generation += 1
        return True


def make_auth(secrets, settings):
    auth = Signer(secrets["signing_key"] + "@" + settings["region"])
    CREATED.append(auth)
    return auth


def not_auth(secrets, settings):
    return "a string is not an auth object"
'''


@pytest.fixture
def hook_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[str]:
    name = f"authhook_{request.node.name.split('[')[0][-20:]}".replace("-", "_")
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(HOOK_MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    yield name
    sys.modules.pop(name, None)


def hook_spec(base: str, module: str, function: str = "make_auth", declared: str | None = None) -> str:
    declared = module if declared is None else declared
    extra = f"  hooks: {{modules: [{declared}]}}\n  settings: {{region: {{default: eu-west-1}}}}"
    return fake_spec_text(base, "none", 3, auth=f"{{type: hook, function: '{module}:{function}'}}", api_extra=extra)


def test_hook_auth_from_a_declared_module_signs_and_refreshes(hook_module: str) -> None:
    accepted = "sign-key-42@eu-west-1/1"
    app = AuthAPI(accept=lambda r: r.headers.get("X-Signature") == accepted)
    with serve(app) as base:
        client = SaaSClient(load_spec_text(hook_spec(base, hook_module)), {"signing_key": "sign-key-42"})
        assert read(client) == [1, 2]  # generation 0 is refused, refresh() -> generation 1 accepted
    assert [r.headers["X-Signature"] for r in app.api_calls] == ["sign-key-42@eu-west-1/0", accepted]
    assert app.api_status == [401, 200]
    assert len(sys.modules[hook_module].CREATED) == 1


def test_hook_auth_from_an_undeclared_module_is_refused_at_load(hook_module: str) -> None:
    with pytest.raises(SpecError, match=r"not declared in api\.hooks\.modules"):
        load_spec_text(hook_spec("http://127.0.0.1:9", hook_module, declared="some_other_module"))
    assert hook_module not in sys.modules  # refused before anything was imported


def test_hook_auth_must_return_an_auth_object(hook_module: str) -> None:
    app = AuthAPI(accept=lambda r: True)
    with serve(app) as base:
        client = SaaSClient(load_spec_text(hook_spec(base, hook_module, "not_auth")), {"signing_key": "x"})
        with pytest.raises(ConfigError, match="must return a requests AuthBase"):
            read(client)
    assert app.api_calls == []
