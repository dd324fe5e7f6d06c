"""Retries with a FakeClock: Retry-After parsing, full-jitter backoff, and through the client against
scripted faults: recovery, exact waits, exhaustion errors naming entity and page, deadlines, malformed
and truncated bodies, non-retried 4xx and POSTs, and redirects (same origin followed, others refused)."""

from __future__ import annotations

import io
import json
import math
import socket
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from shared.client import SaaSClient
from shared.clock import SYSTEM_CLOCK
from shared.deadline import Deadline
from shared.errors import (
    DeadlineExceededError,
    PaginationError,
    SaaSClientError,
    SaaSRateLimitedError,
    SaaSRequestError,
    SaaSResponseError,
    SaaSTransientError,
)
from shared.retry import Backoff, parse_retry_after
from shared.spec import load_spec_text
from shared.spec.model import RetrySpec
from tests.support.clock import FakeClock
from tests.support.fake_saas import API_KEY, FakeSaaS, fake_spec_text, make_records, serve

NOW = 1_700_000_000.0  # FakeClock's wall-clock start

WRITES = """    write:
      create: {method: POST, path: /items}
      upsert: {method: PUT, path: "/items/{id}"}"""


def make_client(
    base: str, clock: FakeClock, *, attempts: int = 4, cap: float = 5, check: str = "", extra: str = ""
) -> SaaSClient:
    if check:
        extra += f"\n  check: {{path: '{check}'}}"
    text = fake_spec_text(base, "offset", attempts, cap=cap, api_extra=extra, entity_extra=WRITES)
    spec = load_spec_text(text, source="retry.yaml")
    return SaaSClient(spec, {"api_key": API_KEY}, clock=clock)


def read_ids(client: SaaSClient, deadline: Deadline | None = None) -> list[int]:
    return [r["id"] for r in client.iter_records(client.plan("items"), deadline=deadline)]


@dataclass
class Scripted:
    """Answers each scripted ``(status, headers, body)`` in turn, then a one-page success."""

    script: list[tuple[int, dict[str, str], Any]]
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self.lock:
            self.requests.append(request)
            n = len(self.requests)
        if n <= len(self.script):
            status, headers, body = self.script[n - 1]
        else:
            status, headers, body = 200, {}, {"data": [{"id": 1}, {"id": 2}], "total": 2}
        text = body if isinstance(body, str) else json.dumps(body)
        return Response(text, status=status, headers=headers, content_type="application/json")(environ, start_response)


def recording_bodies(app: Any, bodies: list[Any]) -> Any:
    """Wrap a WSGI app to keep each request's JSON body (the fake itself never reads bodies)."""

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        bodies.append(json.loads(raw) if raw else None)
        environ["wsgi.input"] = io.BytesIO(raw)
        return app(environ, start_response)

    return wsgi


# -- parse_retry_after ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2", 2.0),
        ("  7 ", 7.0),
        ("0", 0.0),
        ("1.5", 1.5),
        (None, None),
        ("", None),
        ("   ", None),
        ("soon", None),
        ("2 minutes", None),
        ("Wed, 32 Foo 2023 99:00:00 GMT", None),
        ("NaN", None),
        ("nan", None),
        ("-5", 0.0),  # never a negative wait
        (formatdate(NOW + 30, usegmt=True), 30.0),  # IMF-fixdate, relative to the clock's wall time
        (formatdate(NOW - 600, usegmt=True), 0.0),  # a date in the past: retry now
        ("Tue, 14 Nov 2023 22:14:20", 60.0),  # no zone: read as UTC (NOW is 22:13:20 UTC)
        ("Tuesday, 14-Nov-23 22:13:50 GMT", 30.0),  # the obsolete RFC 850 form
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    got = parse_retry_after(value, NOW)
    assert got == expected
    if got is not None:
        assert got >= 0 and not math.isnan(got)


# -- Backoff -------------------------------------------------------------------------------------------
SPEC_RETRY = RetrySpec(max_attempts=10, base_delay_s=0.5, max_delay_s=20.0, retry_after_cap_s=30.0)


def test_backoff_ceiling_doubles_up_to_the_cap() -> None:
    backoff = Backoff(SPEC_RETRY, FakeClock(jitter=1.0))
    assert [backoff.wait(a) for a in range(1, 10)] == [0.5, 1, 2, 4, 8, 16, 20, 20, 20]


@pytest.mark.parametrize("jitter", [0.0, 0.25, 0.5, 0.999])
def test_backoff_is_full_jitter_over_the_ceiling(jitter: float) -> None:
    backoff = Backoff(SPEC_RETRY, FakeClock(jitter=jitter))
    for attempt in range(1, 12):
        ceiling = min(20.0, 0.5 * 2 ** (attempt - 1))
        assert backoff.wait(attempt) == pytest.approx(jitter * ceiling)


def test_backoff_with_the_real_random_source_stays_within_bounds_and_spreads() -> None:
    backoff = Backoff(SPEC_RETRY, SYSTEM_CLOCK)
    for attempt in (1, 3, 6, 9):
        ceiling = min(20.0, 0.5 * 2 ** (attempt - 1))
        waits = [backoff.wait(attempt) for _ in range(400)]
        assert all(0.0 <= w <= ceiling for w in waits)
        assert min(waits) < 0.1 * ceiling
        assert max(waits) > 0.9 * ceiling


def test_retry_after_replaces_the_backoff_and_is_capped() -> None:
    backoff = Backoff(SPEC_RETRY, FakeClock(jitter=0.0))
    assert backoff.wait(1, "3") == 3.0
    assert backoff.wait(5, "0") == 0.0  # the server's hint wins over a longer backoff
    assert backoff.wait(1, "120") == 30.0
    assert backoff.wait(1, "inf") == 30.0
    assert backoff.wait(1, formatdate(NOW + 12, usegmt=True)) == 12.0
    assert backoff.wait(2, "garbage") == 0.0  # unusable hint: the normal backoff (full jitter, here 0)


@pytest.mark.parametrize(
    ("hint", "span"), [("0", 0.1), ("0.1", 0.1), ("1", 0.5), ("3", 1.5), ("20", 5.0), ("120", 5.0)]
)
def test_retry_after_is_a_minimum_plus_jitter(hint: str, span: float) -> None:
    """Processes told the same Retry-After must not come back in lock-step: up to half the hint more (0.1-5 s)."""
    hinted = min(float(hint), SPEC_RETRY.retry_after_cap_s)
    for jitter in (0.0, 0.3, 0.999):
        assert Backoff(SPEC_RETRY, FakeClock(jitter=jitter)).wait(1, hint) == pytest.approx(hinted + jitter * span)
    waits = [Backoff(SPEC_RETRY, SYSTEM_CLOCK).wait(1, hint) for _ in range(300)]
    assert all(hinted <= w <= hinted + span for w in waits)
    assert max(waits) - min(waits) > 0.8 * span  # spread over the span, not one value


def test_which_statuses_are_retried() -> None:
    backoff = Backoff(RetrySpec(), FakeClock())
    assert [
        s for s in (400, 401, 403, 404, 409, 422, 429, 500, 501, 502, 503, 504) if backoff.should_retry_status(s)
    ] == [
        429,
        500,
        502,
        503,
        504,
    ]
    assert Backoff(RetrySpec(on_status=(409,)), FakeClock()).should_retry_status(409)


# -- through the client: recovery ----------------------------------------------------------------------
@pytest.mark.parametrize("status", ["500", "502", "503"])
def test_a_burst_of_server_errors_is_recovered(status: str) -> None:
    app = FakeSaaS(make_records(37), faults={2: status, 3: status, 4: status})
    clock = FakeClock()
    with serve(app) as base:
        assert read_ids(make_client(base, clock)) == list(range(1, 38))
    assert len(app.requests) == 4 + 3
    assert clock.sleeps == [0.1, 0.2, 0.4]  # full jitter at its top (FakeClock jitter 1.0)


def test_mixed_faults_on_several_pages_are_each_recovered_and_counted() -> None:
    app = FakeSaaS(make_records(37), faults={1: "502", 3: "429", 5: "503", 6: "500"})
    clock = FakeClock(jitter=0.5)
    with serve(app) as base:
        client = make_client(base, clock)
        pages = list(client.iter_pages(client.plan("items")))
    assert [r["id"] for p in pages for r in p.records] == list(range(1, 38))
    assert [(p.stats.requests, p.stats.retries, p.stats.throttled) for p in pages] == [
        (2, 1, 0),
        (2, 1, 1),
        (3, 2, 0),
        (1, 0, 0),
    ]
    assert clock.sleeps == [0.05, 2.5, 0.05, 0.1]  # Retry-After 2 plus half of its 1 s jitter span


def test_429_with_retry_after_waits_at_least_that() -> None:
    app = FakeSaaS(make_records(5), faults={1: "429"})  # Retry-After: 2
    clock = FakeClock()
    with serve(app) as base:
        client = make_client(base, clock)
        page = client.fetch_page(client.plan("items"))
    assert [r["id"] for r in page.records] == [1, 2, 3, 4, 5]
    assert clock.sleeps == [3.0]  # 2 s, plus the jitter at its top (FakeClock jitter 1.0)
    assert (page.stats.retries, page.stats.throttled, page.stats.waited_s) == (1, 1, 3.0)


@pytest.mark.parametrize(
    ("retry_after", "cap", "expected"),
    [
        ("120", 5, 5.0),
        ("4", 5, 4.0),
        ("3600", 45, 45.0),
        (formatdate(NOW + 17, usegmt=True), 60, 17.0),
        (formatdate(NOW + 600, usegmt=True), 60, 60.0),
    ],
)
def test_retry_after_is_capped_by_retry_after_cap_s(retry_after: str, cap: float, expected: float) -> None:
    app = Scripted([(429, {"Retry-After": retry_after}, {"message": "slow down"})])
    clock = FakeClock(jitter=0.0)
    with serve(app) as base:
        assert read_ids(make_client(base, clock, cap=cap)) == [1, 2]
    assert clock.sleeps == [expected]


def test_retry_after_on_a_503_is_honoured_too() -> None:
    app = Scripted([(503, {"Retry-After": "3"}, {"message": "maintenance"})])
    clock = FakeClock(jitter=0.0)
    with serve(app) as base:
        assert read_ids(make_client(base, clock)) == [1, 2]
    assert clock.sleeps == [3.0]


def test_connection_failures_are_retried_then_a_transient_error() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    clock = FakeClock()
    with pytest.raises(SaaSTransientError, match="could not connect") as err:
        read_ids(make_client(dead, clock, attempts=3))
    assert (err.value.entity, err.value.page) == ("items", 1)
    assert clock.sleeps == [0.1, 0.2]


def test_a_read_timeout_is_retried() -> None:
    slow_first = threading.Event()

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if not slow_first.is_set():
            slow_first.set()
            time.sleep(0.6)  # longer than the spec's 0.2 s read timeout
        return Response(json.dumps({"data": [{"id": 1}], "total": 1}), content_type="application/json")(
            environ, start_response
        )

    clock = FakeClock()
    with serve(app) as base:
        client = make_client(base, clock, extra="  timeout_s: {connect: 0.2, read: 0.2}")
        assert read_ids(client) == [1]
    assert clock.sleeps == [0.1]


def test_429_without_retry_after_backs_off() -> None:
    app = FakeSaaS(make_records(5), faults={1: "429-bare", 2: "429-bare"})
    clock = FakeClock(jitter=0.75)
    with serve(app) as base:
        assert read_ids(make_client(base, clock)) == [1, 2, 3, 4, 5]
    # no hint: half the doubling ceiling plus a random half (never ~0, which would hammer a throttling API)
    assert clock.sleeps == pytest.approx([0.0875, 0.175])


# -- exhaustion ----------------------------------------------------------------------------------------
def test_exhausted_5xx_retries_raise_a_transient_error_naming_entity_and_page() -> None:
    app = FakeSaaS(make_records(37), faults={n: "503" for n in range(2, 10)})
    clock = FakeClock()
    with serve(app) as base, pytest.raises(SaaSTransientError) as err:
        read_ids(make_client(base, clock))
    assert err.value.entity == "items"
    assert err.value.page == 2
    assert err.value.status == 503
    assert str(err.value).startswith("entity 'items', page 2: ")
    assert "after 4 attempts" in str(err.value)
    assert "HTTP 503" in str(err.value)
    assert API_KEY not in str(err.value)
    assert len(app.requests) == 1 + 4
    assert clock.sleeps == [0.1, 0.2, 0.4]


def test_429s_are_retried_beyond_max_attempts_while_time_remains() -> None:
    """Throttling is back-pressure: nine 429s in a row do not use up three attempts."""
    app = FakeSaaS(make_records(5), faults={n: "429" for n in range(1, 10)})
    clock = FakeClock(jitter=0.0)
    with serve(app) as base:
        assert read_ids(make_client(base, clock, attempts=3), Deadline.in_seconds(60, clock)) == [1, 2, 3, 4, 5]
    assert len(app.requests) == 10
    assert clock.sleeps == [2.0] * 9


def test_a_429_storm_raises_a_rate_limited_error_when_time_runs_out() -> None:
    app = FakeSaaS(make_records(5), faults={n: "429" for n in range(1, 100)})
    clock = FakeClock(jitter=0.0)
    with serve(app) as base, pytest.raises(SaaSRateLimitedError) as err:
        read_ids(make_client(base, clock, attempts=3), Deadline.in_seconds(10, clock))
    assert (err.value.entity, err.value.page, err.value.status) == ("items", 1, 429)
    # 2 s waits while 2 s + the 0.5 s margin fit in what is left: 4 waits, then the 5th 429 ends it
    assert clock.sleeps == [2.0] * 4
    assert len(app.requests) == 5
    message = str(err.value)
    assert "kept answering 429" in message and "5 responses 429 after 8.0s of waiting" in message
    assert "would pass the invocation's deadline" in message
    assert "no quota declared" in message
    assert API_KEY not in message


def test_without_a_deadline_a_429_storm_ends_after_a_lambdas_longest_run() -> None:
    app = FakeSaaS(make_records(5), faults={n: "429" for n in range(1, 1000)})
    clock = FakeClock(jitter=0.0)
    with serve(app) as base, pytest.raises(SaaSRateLimitedError, match="429"):
        read_ids(make_client(base, clock, attempts=3))
    assert 890 <= sum(clock.sleeps) <= 900


# -- deadlines -----------------------------------------------------------------------------------------
def test_a_deadline_too_short_for_the_retry_after_raises_before_sleeping() -> None:
    app = FakeSaaS(make_records(5), faults={1: "429"})  # Retry-After: 2
    clock = FakeClock()
    end = clock.monotonic() + 2.4
    deadline = Deadline(lambda: end - clock.monotonic())  # 2 s wait + 0.5 s margin does not fit
    with (
        serve(app) as base,
        pytest.raises(SaaSRateLimitedError, match="would pass the invocation's deadline") as err,
    ):
        read_ids(make_client(base, clock), deadline)
    assert (err.value.entity, err.value.page) == ("items", 1)
    assert clock.sleeps == []
    assert len(app.requests) == 1


def test_a_deadline_that_fits_the_wait_lets_the_retry_happen() -> None:
    app = FakeSaaS(make_records(5), faults={1: "429"})
    clock = FakeClock(jitter=0.0)
    with serve(app) as base:
        ids = read_ids(make_client(base, clock), Deadline.in_seconds(2.6, clock))
    assert ids == [1, 2, 3, 4, 5]
    assert clock.sleeps == [2.0]


def test_a_deadline_too_short_for_the_backoff_raises_a_transient_error() -> None:
    app = FakeSaaS(make_records(5), faults={1: "500"})
    clock = FakeClock()  # the first backoff is 0.1 s; 0.1 + 0.5 margin > 0.55 left
    with serve(app) as base, pytest.raises(SaaSTransientError, match="deadline"):
        read_ids(make_client(base, clock), Deadline.in_seconds(0.55, clock))
    assert clock.sleeps == []
    assert len(app.requests) == 1


def test_no_request_is_sent_when_the_deadline_has_already_run_out() -> None:
    app = FakeSaaS(make_records(5))
    clock = FakeClock()
    with serve(app) as base, pytest.raises(DeadlineExceededError, match="no time left"):
        read_ids(make_client(base, clock), Deadline.in_seconds(0.4, clock))
    assert app.requests == []


# -- bodies that cannot be used ------------------------------------------------------------------------
def test_malformed_json_is_retried() -> None:
    app = FakeSaaS(make_records(15), faults={2: "malformed"})
    clock = FakeClock()
    with serve(app) as base:
        assert read_ids(make_client(base, clock)) == list(range(1, 16))
    assert len(app.requests) == 3
    assert clock.sleeps == [0.1]


def test_malformed_json_every_time_is_a_response_error() -> None:
    app = FakeSaaS(make_records(5), faults={n: "malformed" for n in range(1, 10)})
    clock = FakeClock()
    with serve(app) as base, pytest.raises(SaaSResponseError, match="not valid JSON") as err:
        read_ids(make_client(base, clock))
    assert (err.value.entity, err.value.page) == ("items", 1)
    assert "after 4 attempts" in str(err.value)
    assert len(app.requests) == 4


def test_a_truncated_body_is_retried() -> None:
    app = FakeSaaS(make_records(15), faults={1: "truncate"})
    clock = FakeClock()
    with serve(app) as base:
        assert read_ids(make_client(base, clock)) == list(range(1, 16))
    assert len(app.requests) == 3
    assert clock.sleeps == [0.1]


def test_a_body_truncated_every_time_is_a_transient_error() -> None:
    app = FakeSaaS(make_records(5), faults={n: "truncate" for n in range(1, 10)})
    clock = FakeClock()
    with serve(app) as base, pytest.raises(SaaSTransientError, match="cut short") as err:
        read_ids(make_client(base, clock))
    assert (err.value.entity, err.value.page) == ("items", 1)
    assert len(app.requests) == 4


# -- not retried ---------------------------------------------------------------------------------------
def test_a_400_is_not_retried_and_carries_the_apis_message() -> None:
    app = FakeSaaS(make_records(5), faults={1: "400"})
    clock = FakeClock()
    with serve(app) as base, pytest.raises(SaaSClientError) as err:
        read_ids(make_client(base, clock))
    assert err.value.status == 400
    assert (err.value.entity, err.value.page) == ("items", 1)
    assert "HTTP 400" in str(err.value)
    assert "bad filter" in str(err.value)
    assert len(app.requests) == 1
    assert clock.sleeps == []


@pytest.mark.parametrize(
    ("status", "body", "shown"),
    [
        (404, {"detail": "no such collection"}, "no such collection"),
        (422, {"error": "unknown field 'colour'"}, "unknown field 'colour'"),
        (409, "plain text conflict", "plain text conflict"),
    ],
)
def test_other_4xx_are_not_retried(status: int, body: Any, shown: str) -> None:
    app = Scripted([(status, {}, body)])
    clock = FakeClock()
    with serve(app) as base, pytest.raises(SaaSClientError, match=shown) as err:
        read_ids(make_client(base, clock))
    assert err.value.status == status
    assert len(app.requests) == 1


# -- writes: POST is not idempotent ---------------------------------------------------------------------
@pytest.mark.parametrize("status", ["500", "502", "503"])
def test_a_post_is_not_retried_on_a_server_error(status: str) -> None:
    app = FakeSaaS(make_records(3), faults={1: status})
    clock = FakeClock()
    with serve(app) as base, pytest.raises(SaaSRequestError) as err:
        make_client(base, clock).write("items", "create", {"name": "new"})
    assert err.value.status == int(status)
    assert err.value.entity == "items"
    assert len(app.requests) == 1
    assert app.requests[0].method == "POST"
    assert clock.sleeps == []


def test_a_post_server_error_is_reported_as_transient() -> None:
    app = FakeSaaS(make_records(3), faults={1: "503"})
    with serve(app) as base, pytest.raises(SaaSTransientError):
        make_client(base, FakeClock()).write("items", "create", {"name": "new"})


def test_a_post_is_retried_on_429() -> None:
    app = FakeSaaS(make_records(3), faults={1: "429", 2: "429-bare"})
    bodies: list[Any] = []
    clock = FakeClock()
    with serve(recording_bodies(app, bodies)) as base:
        answer = make_client(base, clock).write("items", "create", {"name": "new"})
    assert answer is not None
    assert [r.method for r in app.requests] == ["POST", "POST", "POST"]
    assert bodies == [{"name": "new"}] * 3
    assert clock.sleeps == [3.0, 0.2]  # Retry-After 2 + its jitter at the top; then the second 429's backoff (top)


def test_a_post_answered_with_malformed_json_is_not_sent_again() -> None:
    app = FakeSaaS(make_records(3), faults={1: "malformed"})
    with serve(app) as base, pytest.raises(SaaSResponseError, match="after 1 attempts"):
        make_client(base, FakeClock()).write("items", "create", {"name": "new"})
    assert len(app.requests) == 1


def test_a_put_is_idempotent_and_retried_on_a_server_error() -> None:
    app = FakeSaaS(make_records(3), faults={1: "503"})
    bodies: list[Any] = []
    clock = FakeClock()
    with serve(recording_bodies(app, bodies)) as base:
        make_client(base, clock).write("items", "upsert", {"id": 7, "name": "seven"})
    assert [(r.method, r.path) for r in app.requests] == [("PUT", "/items/7"), ("PUT", "/items/7")]
    assert bodies == [{"name": "seven"}] * 2  # the key is in the path, not the body
    assert clock.sleeps == [0.1]


# -- redirects -----------------------------------------------------------------------------------------
def test_a_same_origin_redirect_is_followed_with_the_credentials() -> None:
    app = FakeSaaS(make_records(3))
    with serve(app) as base:
        make_client(base, FakeClock(), check="/redirect?to=/items").check_credentials()
    assert [r.path for r in app.requests] == ["/items"]  # /redirect is not counted by the fake
    assert app.requests[0].headers["X-API-Key"] == API_KEY


def test_a_redirect_loop_stops() -> None:
    app = Scripted([(302, {"Location": "/items"}, "")] * 10)
    with serve(app) as base, pytest.raises(SaaSClientError, match="too many redirects"):
        read_ids(make_client(base, FakeClock()))
    assert len(app.requests) == 6


def test_a_redirect_to_another_host_is_refused_and_nothing_is_sent_there() -> None:
    ours, theirs = FakeSaaS(make_records(3)), FakeSaaS(make_records(3))
    with serve(ours) as base, serve(theirs) as other:
        client = make_client(base, FakeClock(), check=f"/redirect?to={other}/items")
        with pytest.raises(PaginationError, match="refusing to follow a redirect") as err:
            client.check_credentials()
    assert other.split("//")[1] in str(err.value)
    assert API_KEY not in str(err.value)
    assert theirs.requests == []
    assert theirs.headers_seen == []
