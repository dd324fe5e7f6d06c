"""Authentication: a static API key, or OAuth2 bearer tokens from ``POST /oauth/token``."""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from urllib.parse import unquote

from werkzeug.wrappers import Request

from .errors import ApiError


@dataclass
class Credentials:
    api_key: str
    client_id: str
    client_secret: str
    token_ttl_s: float


def _oauth_error(status: int, code: str, description: str) -> ApiError:
    # RFC 6749 section 5.2 shape, plus "message" like every other error of this API.
    return ApiError(status, code, description, error_description=description)


class Authenticator:
    """Checks API requests and issues/refreshes tokens. Token expiry uses real (monotonic) time."""

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials
        self._access: dict[str, float] = {}  # access token -> monotonic expiry
        self._refresh: set[str] = set()
        self._lock = threading.Lock()
        self.tokens_issued = 0

    # -- request authentication -------------------------------------------------------------------
    def authenticate(self, request: Request) -> str:
        """``"api_key"`` or ``"bearer"``; raises a 401 ApiError otherwise."""
        key = request.headers.get("X-API-Key")
        if key is not None and hmac.compare_digest(key.encode(), self.credentials.api_key.encode()):
            return "api_key"
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            if self._token_valid(token.strip()):
                return "bearer"
            raise ApiError(
                401,
                "invalid_token",
                "the access token is invalid or has expired",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        message = "missing or invalid API key (send it in the X-API-Key header)"
        raise ApiError(401, "invalid_api_key", message, headers={"WWW-Authenticate": "Bearer"})

    def _token_valid(self, token: str) -> bool:
        with self._lock:
            expiry = self._access.get(token)
            if expiry is None:
                return False
            if time.monotonic() >= expiry:
                del self._access[token]
                return False
            return True

    # -- token endpoint ---------------------------------------------------------------------------
    def token(self, request: Request) -> dict[str, object]:
        form = request.form
        grant = form.get("grant_type", "")
        if grant == "client_credentials":
            client_id, client_secret = self._client(request)
            creds = self.credentials
            if not (
                hmac.compare_digest(client_id.encode(), creds.client_id.encode())
                and hmac.compare_digest(client_secret.encode(), creds.client_secret.encode())
            ):
                raise _oauth_error(401, "invalid_client", "unknown client or wrong client secret")
            return self._issue()
        if grant == "refresh_token":
            refresh = form.get("refresh_token", "")
            with self._lock:
                known = refresh in self._refresh
            if not known:
                raise _oauth_error(400, "invalid_grant", "unknown or revoked refresh token")
            return self._issue()
        if not grant:
            raise _oauth_error(400, "invalid_request", "missing grant_type")
        raise _oauth_error(400, "unsupported_grant_type", f"grant_type {grant!r} is not supported")

    @staticmethod
    def _client(request: Request) -> tuple[str, str]:
        """Client credentials from HTTP Basic (client_secret_basic) or the form (client_secret_post)."""
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "basic" and encoded:
            try:
                user, _, password = base64.b64decode(encoded.strip()).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                raise _oauth_error(401, "invalid_client", "malformed Basic credentials") from None
            return unquote(user), unquote(password)
        return request.form.get("client_id", ""), request.form.get("client_secret", "")

    def _issue(self) -> dict[str, object]:
        access = "at_" + secrets.token_urlsafe(24)
        refresh = "rt_" + secrets.token_urlsafe(24)
        ttl = self.credentials.token_ttl_s
        with self._lock:
            now = time.monotonic()
            self._access = {t: e for t, e in self._access.items() if e > now}
            self._access[access] = now + ttl
            self._refresh.add(refresh)
            self.tokens_issued += 1
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": int(ttl) if float(ttl).is_integer() else ttl,
            "refresh_token": refresh,
        }

    # -- admin ------------------------------------------------------------------------------------
    def expire_all(self, revoke_refresh: bool = False) -> int:
        """Invalidate every access token (and optionally every refresh token); returns how many."""
        with self._lock:
            n = len(self._access)
            self._access.clear()
            if revoke_refresh:
                self._refresh.clear()
            return n
