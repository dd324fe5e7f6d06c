"""HTTP to the SaaS API: one pooled session, credentials only to the configured origin, retries with
backoff that respect the deadline, the API's quota (``shared.quota``), and errors that name the entity and page.

Throttling (429) is back-pressure, not failure: it is retried for as long as the invocation's deadline allows,
whatever ``retry.max_attempts`` says (that still caps every other transient failure).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter

from shared.auth import Authenticator
from shared.clock import Clock
from shared.deadline import Deadline
from shared.errors import (
    ConfigError,
    DeadlineExceededError,
    PaginationError,
    RetryDeadlineError,
    SaaSAuthError,
    SaaSClientError,
    SaaSRateLimitedError,
    SaaSResponseError,
    SaaSTransientError,
)
from shared.quota import QuotaLimiter, limiter_for
from shared.redaction import redact, safe_url
from shared.retry import Backoff
from shared.spec.model import ApiSpec
from shared.urls import UnsafeURLError, request_origin

MAX_REDIRECTS = 5
DEADLINE_MARGIN_S = 0.5
ERROR_EXCERPT = 200
USER_AGENT = "saas-connectors/0.1"
THROTTLED_WITHOUT_DEADLINE_S = 900.0  # no deadline (local runs): keep retrying 429s as long as a Lambda could


@dataclass
class TransportStats:
    """Counters for metrics: what one call (or a whole read) cost."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0
    bytes: int = 0
    waited_s: float = 0.0

    def add(self, other: TransportStats) -> None:
        self.requests += other.requests
        self.retries += other.retries
        self.throttled += other.throttled
        self.bytes += other.bytes
        self.waited_s += other.waited_s


@dataclass
class Call:
    """One logical request; ``url`` is absolute or relative to the base URL."""

    method: str
    url: str
    params: list[tuple[str, str]] = field(default_factory=list)
    json_body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    entity: str | None = None
    page: int | None = None
    idempotent: bool = True


class Session(requests.Session):
    """A requests session that reads the environment's proxy and CA-bundle settings once per origin.

    requests reads and parses ``os.environ`` again for every request (``merge_environment_settings``), about
    0.5 ms each with a Lambda-sized environment; the environment does not change during an invocation, and our
    requests go to one or two origins (the API, perhaps an OAuth token endpoint)."""

    def __init__(self) -> None:
        super().__init__()
        self._environment: dict[tuple[Any, ...], dict[str, Any]] = {}

    def merge_environment_settings(
        self, url: str | bytes | None, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        if proxies or not self.trust_env or not isinstance(url, str):
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        key = (*urlsplit(url)[:2], stream, verify, cert)
        settings = self._environment.get(key)
        if settings is None:
            settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
            self._environment[key] = settings
        return {**settings, "proxies": dict(settings["proxies"])}


def make_session(pool_size: int = 16) -> requests.Session:
    session = Session()
    adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session


@dataclass
class _Throttling:
    """The 429s one call met: how many, and how long it waited for them (for the message when time runs out)."""

    responses: int = 0
    waited_s: float = 0.0


class Transport:
    def __init__(
        self,
        api: ApiSpec,
        auth: Authenticator,
        *,
        clock: Clock,
        session: requests.Session,
        base_url: str | None = None,
        credentials: Mapping[str, str] | None = None,
    ) -> None:
        self.api = api
        self.auth = auth
        self.clock = clock
        self.session = session
        self.base_url = (base_url or api.base_url).rstrip("/")
        try:
            self.origin = request_origin(self.base_url)
        except UnsafeURLError as exc:
            raise ConfigError(f"the API base URL {safe_url(self.base_url)!r} cannot be used: {exc}") from None
        self.backoff = Backoff(api.retry, clock)
        self.limiter: QuotaLimiter | None = None
        if api.rate_limit is not None:
            scheme, host, port = self.origin
            self.limiter = limiter_for(f"{scheme}://{host}:{port}", credentials or {}, api.rate_limit, clock)

    def absolute(self, url: str) -> str:
        if url.startswith(("http://", "https://")):
            return url
        return self.base_url + ("" if url.startswith("/") else "/") + url

    def check_origin(self, url: str, call: Call, what: str = "URL") -> None:
        """Refuse to send credentials anywhere but the configured scheme, host and port, judged by the host the
        HTTP stack will connect to (``shared.urls``)."""
        try:
            target = request_origin(url)
        except UnsafeURLError as exc:
            raise PaginationError(
                f"refusing to follow a {what} to {safe_url(url)}: {exc} (credentials are only sent to the "
                f"configured API origin {self.origin})",
                entity=call.entity,
                page=call.page,
            ) from None
        if target != self.origin:
            raise PaginationError(
                f"refusing to follow a {what} to {safe_url(url)}: it is not on the configured API origin "
                f"{self.origin} (credentials are only sent there)",
                entity=call.entity,
                page=call.page,
            )

    def send(self, call: Call, deadline: Deadline, stats: TransportStats) -> requests.Response:
        """Send with retries; return a 2xx response whose body has been read completely."""
        url = self.absolute(call.url)
        self.check_origin(url, call)
        attempt = 0
        refreshed = False
        throttling = _Throttling()
        retry_allowed = call.idempotent or call.method in ("GET", "HEAD", "PUT", "DELETE")
        while True:
            attempt += 1
            self._throttle(call, url, deadline, stats, throttling)
            failure: str
            retry_after: str | None = None
            status: int | None = None
            try:
                response = self._send_once(call, url, deadline)
                stats.requests += 1
                status = response.status_code
                stats.bytes += len(response.content)
            except UnicodeError:  # a value that cannot be sent as text (a lone surrogate from a JSON escape)
                raise SaaSClientError(
                    f"cannot send {call.method} {safe_url(url)}: a parameter or body value is not valid Unicode text",
                    entity=call.entity,
                    page=call.page,
                ) from None
            except requests.RequestException as exc:
                stats.requests += 1
                _refuse_configuration_error(exc, call, url)
                failure = _describe_exception(exc)
                if not retry_allowed:
                    raise SaaSTransientError(
                        f"{call.method} {safe_url(url)} failed: {failure} (not retried: the request is not idempotent)",
                        entity=call.entity,
                        page=call.page,
                    ) from None
            else:
                if 200 <= status < 300:
                    if self.limiter is not None:
                        self.limiter.on_success()
                    return response
                if status == 401 and not refreshed:
                    refreshed = True
                    if self.auth.refresh():
                        attempt -= 1
                        continue
                if status in (401, 403):
                    raise SaaSAuthError(
                        f"the API rejected the credentials (HTTP {status}) for {call.method} {safe_url(url)}"
                        f"{_excerpt(response)}",
                        entity=call.entity,
                        page=call.page,
                        status=status,
                    )
                if self.backoff.should_retry_status(status) and not retry_allowed and status != 429:
                    raise SaaSTransientError(
                        f"HTTP {status} for {call.method} {safe_url(url)}{_excerpt(response)} (not retried: the "
                        "request is not idempotent)",
                        entity=call.entity,
                        page=call.page,
                        status=status,
                    )
                if not self.backoff.should_retry_status(status):
                    raise SaaSClientError(
                        f"HTTP {status} for {call.method} {safe_url(url)}{_excerpt(response)}",
                        entity=call.entity,
                        page=call.page,
                        status=status,
                    )
                failure = f"HTTP {status}"
                retry_after = response.headers.get("Retry-After")
                if status == 429:
                    stats.throttled += 1
            if status == 429:
                attempt -= 1  # back-pressure, not failure: it does not use up retry.max_attempts
                throttling.responses += 1
                wait = self.backoff.wait(throttling.responses, retry_after, throttled=True)
                if self.limiter is not None:
                    self.limiter.on_throttle(wait)  # slows and pauses every request of this process
                if wait + DEADLINE_MARGIN_S >= self._time_for_throttling(deadline, throttling):
                    raise SaaSRateLimitedError(
                        self._throttled_message(call, url, throttling, wait),
                        entity=call.entity,
                        page=call.page,
                        status=status,
                    )
                throttling.waited_s += wait
                stats.retries += 1
                stats.waited_s += wait
                self.clock.sleep(wait)
                continue
            if status == 503 and self.limiter is not None:
                self.limiter.on_throttle()  # an overloaded API: slow down as for a 429, retried as a failure
            if attempt >= self.api.retry.max_attempts:
                raise SaaSTransientError(
                    f"{call.method} {safe_url(url)} failed after {attempt} attempts: {failure}",
                    entity=call.entity,
                    page=call.page,
                    status=status,
                )
            wait = self.backoff.wait(attempt, retry_after)
            if wait + DEADLINE_MARGIN_S >= deadline.remaining():
                # A failure that cannot be retried in the time left is the deadline's doing, and says so.
                raise RetryDeadlineError(
                    f"{call.method} {safe_url(url)} failed ({failure}) and the {wait:.1f}s wait before "
                    f"retrying would pass the invocation's deadline",
                    entity=call.entity,
                    page=call.page,
                    status=status,
                )
            stats.retries += 1
            stats.waited_s += wait
            self.clock.sleep(wait)

    def _time_for_throttling(self, deadline: Deadline, throttling: _Throttling) -> float:
        """The time left to wait out 429s: the invocation's, or (no deadline) what a Lambda's longest would allow."""
        remaining = deadline.remaining()
        if math.isinf(remaining):
            return THROTTLED_WITHOUT_DEADLINE_S - throttling.waited_s
        return remaining

    def _throttled_message(self, call: Call, url: str, throttling: _Throttling, wait: float) -> str:
        quota = self.limiter.describe() if self.limiter is not None else "no quota declared in the spec's rate_limit"
        return (
            f"{call.method} {safe_url(url)}: the API kept answering 429 (too many requests): "
            f"{throttling.responses} responses 429 after {throttling.waited_s:.1f}s of waiting, and waiting "
            f"{wait:.1f}s more would pass the invocation's deadline (quota: {quota})"
        )

    def _throttle(
        self, call: Call, url: str, deadline: Deadline, stats: TransportStats, throttling: _Throttling
    ) -> None:
        if deadline.remaining() <= DEADLINE_MARGIN_S:
            raise DeadlineExceededError(
                "no time left in this invocation to call the API", entity=call.entity, page=call.page
            )
        if self.limiter is None:
            return
        pace = self.limiter.reserve(deadline.remaining() - DEADLINE_MARGIN_S)
        wait = pace.wait_s
        if wait <= 0 and not pace.refused:
            return
        if pace.refused or wait + DEADLINE_MARGIN_S >= deadline.remaining():
            if throttling.responses:  # slowed down by the API's 429s: say so
                raise SaaSRateLimitedError(
                    self._throttled_message(call, url, throttling, wait), entity=call.entity, page=call.page, status=429
                )
            raise SaaSRateLimitedError(
                f"the API's quota ({self.limiter.describe()}) has no request left for this invocation before its "
                f"deadline: the next one is {wait:.1f}s away",
                entity=call.entity,
                page=call.page,
            )
        stats.waited_s += wait
        self.clock.sleep(wait)

    def _send_once(self, call: Call, url: str, deadline: Deadline) -> requests.Response:
        read_timeout = max(0.1, min(self.api.read_timeout_s, deadline.remaining() - DEADLINE_MARGIN_S))
        timeout = (min(self.api.connect_timeout_s, read_timeout), read_timeout)
        headers = {**self.api.headers, **call.headers}
        method, params, body = call.method, call.params or None, call.json_body
        for _ in range(MAX_REDIRECTS + 1):
            response = self.session.request(
                method,
                url,
                params=params,
                json=body,
                headers=headers,
                auth=self.auth,
                timeout=timeout,
                allow_redirects=False,
                verify=True,
            )
            if response.status_code not in (301, 302, 303, 307, 308) or "Location" not in response.headers:
                _ = response.content  # read the body now, so a truncated body is retried here
                return response
            url = urljoin(response.url, response.headers["Location"])
            self.check_origin(url, call, "redirect")
            params = None
            if response.status_code == 303:
                method, body = "GET", None
        raise SaaSClientError(
            f"too many redirects for {call.method} {safe_url(url)}", entity=call.entity, page=call.page
        )

    def json(self, call: Call, deadline: Deadline, stats: TransportStats) -> tuple[Any, requests.Response]:
        """Send and decode JSON; a body that does not decode is retried like a transient failure."""
        attempt = 0
        while True:
            attempt += 1
            response = self.send(call, deadline, stats)
            if not response.content.strip():
                return None, response
            try:
                return json.loads(response.content), response
            except (ValueError, UnicodeDecodeError) as exc:
                if attempt >= self.api.retry.max_attempts or not call.idempotent:
                    raise SaaSResponseError(
                        f"the API answered {call.method} {safe_url(response.url)} with a body that is "
                        f"not valid JSON ({_short(str(exc))}) after {attempt} attempts",
                        entity=call.entity,
                        page=call.page,
                    ) from None
                wait = self.backoff.wait(attempt)
                if wait + DEADLINE_MARGIN_S >= deadline.remaining():
                    raise SaaSResponseError(
                        "the API answered with malformed JSON and there is no time left to retry",
                        entity=call.entity,
                        page=call.page,
                    ) from None
                stats.retries += 1
                self.clock.sleep(wait)


_PLAIN_HTTP_SIGNS = ("WRONG_VERSION_NUMBER", "wrong version number", "record layer failure", "http request")


def _refuse_configuration_error(exc: requests.RequestException, call: Call, url: str) -> None:
    """Raise at once for a failure that retrying cannot fix: a URL requests cannot send, TLS spoken to a server
    that answers plain HTTP (a ConfigError: the base URL's scheme is wrong), a certificate that does not verify
    (the same SaaSTransientError as before, but without the futile retries)."""
    where = f"{call.method} {safe_url(url)}"
    suffix = f" (entity '{call.entity}')" if call.entity else ""
    if isinstance(exc, requests.exceptions.InvalidSchema | requests.exceptions.MissingSchema):
        raise ConfigError(f"{where}: the URL's scheme is not http or https, so it cannot be sent{suffix}") from None
    if isinstance(exc, requests.exceptions.InvalidURL):
        raise ConfigError(f"{where}: the URL is malformed ({_short(str(exc))}){suffix}") from None
    if isinstance(exc, requests.exceptions.SSLError):
        text = str(exc)
        if any(sign in text for sign in _PLAIN_HTTP_SIGNS):
            raise ConfigError(
                f"{where}: the server answered the TLS handshake with plain HTTP: it serves http, not https "
                f"(change the base URL's scheme){suffix}"
            ) from None
        if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
            raise SaaSTransientError(
                f"{where} failed: {_describe_exception(exc)} (not retried: a certificate does not change between "
                "attempts)",
                entity=call.entity,
                page=call.page,
            ) from None


def _describe_exception(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError):
        return "the response body was cut short"
    if isinstance(exc, requests.exceptions.SSLError):
        return "the TLS handshake failed (the server's certificate could not be verified; verification is always on)"
    if isinstance(exc, requests.ConnectionError):
        text = str(exc)
        if "NameResolutionError" in text or "Name or service not known" in text:
            return "could not connect: the host name does not resolve (check the base URL's host)"
        if "Connection refused" in text:
            return "could not connect: the connection was refused (nothing listens at that host and port?)"
        return "could not connect or the connection was reset"
    return type(exc).__name__


def _short(text: str) -> str:
    return text if len(text) <= ERROR_EXCERPT else text[:ERROR_EXCERPT] + "..."


def _excerpt(response: requests.Response) -> str:
    """The API's own error message, briefly and with secrets masked (it may echo what we sent)."""
    try:
        body = response.json()
        if isinstance(body, dict):
            for key in ("message", "error_description", "error", "detail", "title"):
                if isinstance(body.get(key), str):
                    return ": " + redact(_short(body[key]))
    except ValueError:
        pass
    text = response.text.strip()
    return (": " + redact(_short(text))) if text and len(text) < 500 else ""
