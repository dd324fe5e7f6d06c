"""AWS calls that end in time: timeouts and attempts from the time left in the invocation.

botocore's defaults (60 s to connect, 60 s to read, 5 attempts with the legacy retry mode) let one call to an
endpoint that never answers take about five minutes; the audit saw a 25 s invocation return after 314 s, which in
Lambda is a runtime timeout instead of the connector's typed error. Here every AWS call the connectors make at
request time (spill PUTs, KMS data keys, Secrets Manager reads, a spec in S3) goes through :func:`call`, which

* picks a :class:`CallPlan` (connect timeout, read timeout, attempts; ``standard`` retry mode) whose worst case fits
  in the time left: three attempts when each can still wait at least 2 s for an answer, then two, then one with
  the longest timeouts that fit, and none (an immediate typed error) when not even the shortest fits;
* stops waiting at the deadline in any case (:func:`_bounded`: an endpoint that trickles bytes defeats socket
  timeouts, which bound each wait, not their sum);
* raises :class:`AwsTimeoutError` (a :class:`~shared.errors.DeadlineExceededError`, so Athena reports
  ``OperationTimeoutException`` and AppFlow ``RequestTimeout``) naming the service, the operation and the time left,
  when the call timed out or could not start in time; any other failure is re-raised as botocore raised it, for the
  caller's own mapping.

Clients are cached per (service, endpoint and region settings, plan), so a warm Lambda reuses its clients and
their connections (measured here: about 200 ms for the first client of a process, 10 ms for later ones): timeouts
are picked from a fixed ladder, so a long read uses one client until its last seconds. Clients are built under a
lock from a private boto3 session (neither is safe to build from several threads at once); a built client is safe
to share between threads.

The time left comes from the ``deadline`` argument or, without one, from :func:`deadline_scope`, which each Lambda
entry point sets around a request (a context variable: it does not follow work into other threads, so threads are
given their deadline explicitly). Outside any scope there is no deadline and the top of the ladder is used.
"""

from __future__ import annotations

import contextvars
import math
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from shared.deadline import Deadline
from shared.errors import DeadlineExceededError

# (connect timeout, read timeout) in seconds, shortest first. The top is close to botocore's defaults for the
# read; connecting to an AWS endpoint takes milliseconds, so a connect timeout over a few seconds only delays the
# retry that would succeed.
TIMEOUT_LADDER: tuple[tuple[float, float], ...] = (
    (0.1, 0.2),  # a last call in the final half second (deleting the blocks of a read that ran out of time)
    (0.25, 0.25),
    (0.5, 0.5),
    (0.5, 1.0),
    (1.0, 2.0),
    (1.0, 3.0),
    (2.0, 5.0),
    (2.0, 8.0),
    (2.0, 13.0),
    (3.0, 20.0),
    (3.0, 30.0),
    (5.0, 60.0),
)
MAX_ATTEMPTS = 3
MIN_RETRY_READ_S = 2.0  # retrying only pays when each attempt can wait this long for an answer
MAX_BACKOFF_S = 20.0  # botocore's standard mode: rand(0, 1) * min(2 ** (attempt - 1), 20) before each retry
EXPECT_CONTINUE_S = 1.0  # botocore waits up to 1 s for "100 Continue" before sending a PUT's body
BODY_OPERATIONS = frozenset({"PutObject", "UploadPart"})
MAX_CACHED_CLIENTS = 16
SERVICE_NAMES = {"s3": "S3", "kms": "KMS", "secretsmanager": "Secrets Manager", "dynamodb": "DynamoDB"}


class AwsTimeoutError(DeadlineExceededError):
    """An AWS call did not answer within the time left in the invocation (or could not start in time)."""


@dataclass(frozen=True)
class CallPlan:
    """How long one AWS call may wait to connect and to read, and how many attempts it makes."""

    connect_s: float
    read_s: float
    attempts: int

    def worst_case_s(self, extra_s: float = 0.0) -> float:
        """Longest the call can take: every attempt waiting out both timeouts (plus ``extra_s``, e.g. the wait
        for ``100 Continue``), and the longest backoff before each retry."""
        backoff = sum(min(2.0**i, MAX_BACKOFF_S) for i in range(self.attempts - 1))
        return self.attempts * (self.connect_s + self.read_s + extra_s) + backoff

    def describe(self) -> str:
        return (
            f"{self.attempts} attempt(s), each with a {self.connect_s:g} s connect and a {self.read_s:g} s read timeout"
        )


def plan_for(remaining_s: float, extra_s: float = 0.0) -> CallPlan | None:
    """The plan with the most attempts, then the longest timeouts, whose worst case fits in ``remaining_s``."""
    for attempts in range(MAX_ATTEMPTS, 1, -1):
        for connect, read in reversed(TIMEOUT_LADDER):
            if read < MIN_RETRY_READ_S:
                break
            plan = CallPlan(connect, read, attempts)
            if plan.worst_case_s(extra_s) <= remaining_s:
                return plan
    for connect, read in reversed(TIMEOUT_LADDER):
        plan = CallPlan(connect, read, 1)
        if plan.worst_case_s(extra_s) <= remaining_s:
            return plan
    return None


def shortest_call_s(extra_s: float = 0.0) -> float:
    connect, read = TIMEOUT_LADDER[0]
    return CallPlan(connect, read, 1).worst_case_s(extra_s)


# ---------------------------------------------------------------------------------------- the deadline


_deadline: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar("aws_call_deadline", default=None)


@contextmanager
def deadline_scope(deadline: Deadline) -> Iterator[Deadline]:
    """AWS calls made in this context (this thread or task) without their own deadline end by ``deadline``."""
    token = _deadline.set(deadline)
    try:
        yield deadline
    finally:
        _deadline.reset(token)


def current_deadline() -> Deadline:
    """The deadline of the enclosing :func:`deadline_scope`, or none."""
    return _deadline.get() or Deadline.none()


# ------------------------------------------------------------------------------------------------ clients


# What boto3 reads from the environment when it builds a client of these services (tests and local runs change
# the endpoints; in Lambda they are unset and the region is the runtime's): part of the cache key.
AWS_CLIENT_ENVIRONMENT_KEYS = (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL_KMS",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
)

_lock = threading.Lock()
_session: Any = None
_clients: OrderedDict[tuple[Any, ...], Any] = OrderedDict()


def client(service: str, plan: CallPlan) -> Any:
    """A boto3 client for ``service`` whose timeouts and retries are ``plan``'s (cached, thread-safe)."""
    key = (service, tuple(os.environ.get(k) for k in AWS_CLIENT_ENVIRONMENT_KEYS), plan)
    with _lock:
        found = _clients.get(key)
        if found is not None:
            _clients.move_to_end(key)
            return found
        global _session
        import boto3
        from botocore.config import Config

        if _session is None:
            _session = boto3.session.Session()
        config = Config(
            connect_timeout=plan.connect_s,
            read_timeout=plan.read_s,
            retries={"total_max_attempts": plan.attempts, "mode": "standard"},
        )
        made = _session.client(service, config=config)
        _clients[key] = made
        while len(_clients) > MAX_CACHED_CLIENTS:
            _clients.popitem(last=False)
        return made


def clear_clients() -> None:
    """Forget every cached client and the session (which keeps the credentials it found first)."""
    global _session
    with _lock:
        _clients.clear()
        _session = None


# -------------------------------------------------------------------------------------------------- calls


def label(service: str, operation: str, what: str = "") -> str:
    text = f"{SERVICE_NAMES.get(service, service)} {operation}"
    return f"{text} ({what})" if what else text


def call(
    service: str,
    operation: str,
    params: Mapping[str, Any],
    *,
    deadline: Deadline | None = None,
    what: str = "",
    then: Callable[[Any], Any] | None = None,
) -> Any:
    """Call ``operation`` (its API name, e.g. ``PutObject``) within ``deadline`` (default: the current scope's).

    ``what`` names the object of the call in messages (``s3://bucket/key``, a secret's name); never a secret.
    ``then`` runs on the answer within the same bound (reading a streamed body); its result is returned.
    """
    from botocore import xform_name

    deadline = deadline or current_deadline()
    extra = EXPECT_CONTINUE_S if operation in BODY_OPERATIONS else 0.0
    left = deadline.remaining()
    plan = plan_for(left, extra)
    if plan is None:
        raise AwsTimeoutError(
            f"no time left for {label(service, operation, what)}: {_seconds(left)} left before the invocation's "
            f"deadline, and one attempt may take {shortest_call_s(extra):g} s"
        )
    method = getattr(client(service, plan), xform_name(operation))

    def run() -> Any:
        answer = method(**params)
        return then(answer) if then is not None else answer

    started = time.monotonic()
    try:
        return run() if math.isinf(left) else _bounded(run, deadline.remaining())
    except Exception as exc:
        if not isinstance(exc, _Abandoned) and not _timed_out(exc):
            raise
        raise AwsTimeoutError(
            f"{label(service, operation, what)} did not answer in time: {plan.describe()}, "
            f"gave up after {time.monotonic() - started:.1f} s with {_seconds(deadline.remaining())} left before the "
            "invocation's deadline"
        ) from (None if isinstance(exc, _Abandoned) else exc)


class _Abandoned(Exception):
    """The call outlived its bound (an endpoint trickling bytes keeps every socket wait short)."""


def _bounded(run: Callable[[], Any], limit_s: float) -> Any:
    """``run()`` in a daemon thread, waited for at most ``limit_s``. The timeouts of the plan end a call that gets
    no answer; this ends one that keeps getting a byte now and then (a socket timeout bounds each wait, not the
    sum). An abandoned call goes on in its daemon thread until it ends by itself, holding one of its client's
    connections (clients are thread-safe); the caller has its typed error by then."""
    done = threading.Event()
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["answer"] = run()
        except BaseException as exc:  # handed to the waiting thread as is
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=target, name="aws-call", daemon=True).start()
    if not done.wait(max(0.0, limit_s)):
        raise _Abandoned
    if "error" in box:
        raise box["error"]
    return box["answer"]


def _seconds(value: float) -> str:
    return "no limit" if math.isinf(value) else f"{max(value, 0.0):.1f} s"


def _timed_out(exc: BaseException) -> bool:
    """A connect or read timeout, also when botocore reports it as a closed connection (a PUT whose body could not
    be sent in time surfaces as ``ConnectionClosedError`` wrapping a socket timeout)."""
    from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError

    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ConnectTimeoutError | ReadTimeoutError | TimeoutError):
            return True
        kwargs = getattr(current, "kwargs", None)
        inner = kwargs.get("error") if isinstance(kwargs, dict) else None
        todo += [current.__cause__, current.__context__, inner if isinstance(inner, BaseException) else None]
        todo += [a for a in getattr(current, "args", ()) if isinstance(a, BaseException)]
    return False
