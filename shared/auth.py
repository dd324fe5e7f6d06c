"""Request authentication built from the spec's ``auth`` block.

Each kind is a ``requests`` auth object plus ``refresh()``: the transport calls it once on a 401 and
retries when it returns True (OAuth2 fetches a new token; static credentials cannot refresh).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from requests.auth import AuthBase, HTTPBasicAuth

from shared.clock import Clock
from shared.errors import ConfigError, SaaSAuthError
from shared.redaction import register_basic, register_secret, safe_url
from shared.spec.model import AuthSpec
from shared.templating import render
from shared.urls import UnsafeURLError, request_origin

TOKEN_EXPIRY_SKEW_S = 60.0
DEFAULT_TOKEN_LIFETIME_S = 3600.0


class Authenticator(AuthBase):
    """Base: no authentication."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        return r

    def refresh(self) -> bool:
        return False

    def scrub_url(self, url: str) -> str:
        """A URL with any credential this authenticator puts in query strings removed (for tokens)."""
        return url


def _without_param(url: str, name: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


class ApiKeyAuth(Authenticator):
    def __init__(self, name: str, value: str, location: str = "header") -> None:
        self.name, self.value, self.location = name, value, location
        register_secret(value)

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        if self.location == "query":
            r.prepare_url(_without_param(r.url or "", self.name), {self.name: self.value})
        else:
            r.headers[self.name] = self.value
        return r

    def scrub_url(self, url: str) -> str:
        return _without_param(url, self.name) if self.location == "query" else url


class BearerAuth(Authenticator):
    def __init__(self, token: str) -> None:
        self.token = token
        register_secret(token)

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self.token}"
        return r


class BasicAuth(Authenticator):
    def __init__(self, username: str, password: str) -> None:
        self._basic = HTTPBasicAuth(username, password)
        register_basic(username, password)

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        return self._basic(r)


@dataclass
class _Token:
    access_token: str
    expires_at: float
    refresh_token: str | None


# Access tokens outlive one invocation; Lambda reuses the process, so caching them saves a round trip.
_TOKEN_CACHE: dict[tuple[str, str, str], _Token] = {}
_TOKEN_LOCK = threading.Lock()


class OAuth2Auth(Authenticator):
    """Client credentials or refresh-token grant; token cached until shortly before it expires."""

    def __init__(
        self,
        *,
        grant: str,
        token_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str | None,
        scope: str | None,
        auth_style: str,
        session: requests.Session,
        clock: Clock,
        timeout: tuple[float, float],
    ) -> None:
        try:
            request_origin(token_url)
        except UnsafeURLError as exc:
            raise ConfigError(f"the OAuth2 token_url {safe_url(token_url)!r} cannot be used: {exc}") from None
        self.grant, self.token_url = grant, token_url
        self.client_id, self.client_secret = client_id, client_secret
        self.refresh_token, self.scope, self.auth_style = refresh_token, scope, auth_style
        self.session, self.clock, self.timeout = session, clock, timeout
        for secret in (client_secret, refresh_token):
            register_secret(secret)
        # Connections differ by secret, refresh token and scope too: never hand one tenant another's token.
        digest = hashlib.sha256(f"{client_secret}\0{refresh_token or ''}\0{scope or ''}".encode()).hexdigest()
        self._key = (token_url, client_id, grant, digest)
        self._sent = threading.local()  # the token this thread last sent (pages are fetched by several threads)

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        token = self._token().access_token
        self._sent.token = token
        r.headers["Authorization"] = f"Bearer {token}"
        return r

    def refresh(self) -> bool:
        """Replace the token this thread's request was refused with. When another thread has replaced it already
        (requests in flight together all meet the expiry), the new one is used as it is: fetching one per thread
        would revoke the others' at an API that keeps one token per client."""
        with _TOKEN_LOCK:
            cached = _TOKEN_CACHE.get(self._key)
            if cached is not None and cached.access_token != getattr(self._sent, "token", None):
                return True
            if cached is not None:  # expire it but keep a rotated refresh token for the next grant
                cached.expires_at = 0.0
        self._token()
        return True

    def _token(self) -> _Token:
        with _TOKEN_LOCK:
            cached = _TOKEN_CACHE.get(self._key)
            if cached and cached.expires_at - TOKEN_EXPIRY_SKEW_S > self.clock.time():
                return cached
            token = self._fetch(cached.refresh_token if cached and cached.refresh_token else self.refresh_token)
            _TOKEN_CACHE[self._key] = token
            return token

    def _fetch(self, refresh_token: str | None) -> _Token:
        data: dict[str, str] = {"grant_type": self.grant}
        if self.grant == "refresh_token":
            data["refresh_token"] = refresh_token or ""
        if self.scope:
            data["scope"] = self.scope
        auth = None
        if self.auth_style == "basic":
            auth = HTTPBasicAuth(self.client_id, self.client_secret)
        else:
            data.update(client_id=self.client_id, client_secret=self.client_secret)
        try:
            response = self.session.post(
                self.token_url, data=data, auth=auth, timeout=self.timeout, allow_redirects=False, verify=True
            )
        except requests.RequestException as exc:
            raise SaaSAuthError(f"cannot reach the OAuth2 token endpoint: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise SaaSAuthError(
                f"the OAuth2 token endpoint refused the credentials (HTTP {response.status_code})",
                status=response.status_code,
            )
        try:
            body = response.json()
            access = str(body["access_token"])
        except (ValueError, KeyError, TypeError):
            raise SaaSAuthError("the OAuth2 token endpoint answered without an access_token") from None
        register_secret(access)
        new_refresh = body.get("refresh_token")
        if new_refresh:
            register_secret(str(new_refresh))
        expires_in = body.get("expires_in")
        try:
            lifetime = float(expires_in) if expires_in is not None else DEFAULT_TOKEN_LIFETIME_S
        except (TypeError, ValueError):
            lifetime = DEFAULT_TOKEN_LIFETIME_S
        if not lifetime > 0:
            lifetime = DEFAULT_TOKEN_LIFETIME_S
        return _Token(access, self.clock.time() + lifetime, str(new_refresh) if new_refresh else refresh_token)


def clear_token_cache() -> None:
    with _TOKEN_LOCK:
        _TOKEN_CACHE.clear()


def build_auth(
    spec: AuthSpec,
    secrets: Mapping[str, str],
    settings: Mapping[str, Any],
    *,
    session: requests.Session,
    clock: Clock,
    timeout: tuple[float, float],
    resolve_hook: Callable[[str], Callable[..., Any]],
) -> Authenticator:
    """Render the auth block's placeholders and build its authenticator."""
    scopes = {"secret": secrets, "config": settings}

    def val(key: str, default: str | None = None) -> str | None:
        raw = spec.params.get(key, default)
        return None if raw is None else render(str(raw), scopes, where=f"api.auth.{key}")

    kind = spec.type
    if kind == "none":
        return Authenticator()
    if kind == "api_key":
        return ApiKeyAuth(val("name") or "", val("value") or "", val("in", "header") or "header")
    if kind == "bearer":
        return BearerAuth(val("token") or "")
    if kind == "basic":
        return BasicAuth(val("username") or "", val("password") or "")
    if kind in ("oauth2_client_credentials", "oauth2_refresh_token"):
        return OAuth2Auth(
            grant="client_credentials" if kind == "oauth2_client_credentials" else "refresh_token",
            token_url=val("token_url") or "",
            client_id=val("client_id") or "",
            client_secret=val("client_secret") or "",
            refresh_token=val("refresh_token"),
            scope=val("scope"),
            auth_style=val("auth_style", "body") or "body",
            session=session,
            clock=clock,
            timeout=timeout,
        )
    if kind == "hook":
        factory = resolve_hook(str(spec.params["function"]))
        auth = factory(secrets=secrets, settings=settings)
        if not isinstance(auth, AuthBase):
            raise ConfigError(f"auth hook {spec.params['function']} must return a requests AuthBase")
        if not isinstance(auth, Authenticator):
            inner = auth

            class _Wrapped(Authenticator):
                def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
                    return inner(r)

                def refresh(self) -> bool:
                    return bool(getattr(inner, "refresh", lambda: False)())

            return _Wrapped()
        return auth
    raise ConfigError(f"unsupported auth type {kind!r}")
