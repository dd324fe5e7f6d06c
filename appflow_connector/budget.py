"""How big and how slow one answer may be, and the invocation's deadline.

AppFlow gives QueryData/WriteData 30 s and metadata calls 10 s; a synchronous Lambda response is capped
at 6 MB. We stop well before both: a response is closed at :data:`MAX_RESPONSE_BYTES` of serialised JSON
and no new upstream page is started unless the last one's duration fits twice into what is left of a
:data:`RECORD_TIME_BUDGET_S` budget (also bounded by the Lambda context's remaining time).
"""

from __future__ import annotations

import contextvars
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from shared import aws
from shared.deadline import Deadline

MAX_RESPONSE_BYTES = 4_000_000  # of the serialised response; Lambda's hard limit is 6 MB
RESPONSE_RESERVE_BYTES = 16_384  # envelope, nextToken and error details
RECORD_TIME_BUDGET_S = 20.0  # QueryData / RetrieveData / WriteData; AppFlow waits 30 s
METADATA_TIME_BUDGET_S = 8.0  # ValidateCredentials and other metadata calls; AppFlow waits 10 s
LAMBDA_MARGIN_S = 1.5  # kept back from the Lambda context's remaining time
MIN_PAGE_S = 1.0  # never start another upstream page with less than this left
# AWS calls run before the API is called, in every kind of request: they get at most the metadata budget.
AWS_CALL_BUDGET_S = METADATA_TIME_BUDGET_S


@dataclass
class Invocation:
    """What one Lambda invocation knows beyond the request object: its clock and the raw event."""

    context: Any = None
    event: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    def deadline(self, budget_s: float) -> Deadline:
        """The sooner of ``budget_s`` from the start of the invocation and the Lambda's own end."""
        lambda_deadline = Deadline.from_lambda_context(self.context, margin_s=LAMBDA_MARGIN_S)
        end = self.started + budget_s
        return Deadline(lambda: min(lambda_deadline.remaining(), end - time.monotonic()))

    @property
    def log_keys(self) -> dict[str, Any]:
        """AppFlow's correlation ids, which the Python SDK drops from its request objects."""
        ctx = self.event.get("connectorContext") or {}
        if not isinstance(ctx, dict):
            return {}
        return {k: ctx[k] for k in ("flowName", "executionId", "connectorProfileLabel") if k in ctx}


_current: contextvars.ContextVar[Invocation | None] = contextvars.ContextVar("appflow_invocation", default=None)


def current() -> Invocation:
    """The running invocation (a fresh one when a handler is called directly, e.g. in tests)."""
    inv = _current.get()
    return inv if inv is not None else Invocation()


@contextmanager
def invocation(context: Any, event: dict[str, Any]) -> Iterator[Invocation]:
    """The running invocation; AWS calls made in it (the credentials secret, a spec in S3) end within
    :data:`AWS_CALL_BUDGET_S` of its start and before the Lambda's end (``shared.aws``)."""
    inv = Invocation(context=context, event=event)
    token = _current.set(inv)
    try:
        with aws.deadline_scope(inv.deadline(AWS_CALL_BUDGET_S)):
            yield inv
    finally:
        _current.reset(token)


def wire_size(record_json: str) -> int:
    """Bytes one record string adds to the response: quoted and escaped, plus a separator."""
    return len(json.dumps(record_json)) + 2


class ByteBudget:
    """Counts the serialised size of the records in one response."""

    def __init__(self, limit: int = MAX_RESPONSE_BYTES - RESPONSE_RESERVE_BYTES) -> None:
        self.limit = limit
        self.used = 0

    def fits(self, size: int) -> bool:
        return self.used + size <= self.limit

    def add(self, size: int) -> None:
        self.used += size


class PageClock:
    """Decides whether another upstream page still fits in the time that is left."""

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline
        self.slowest = 0.0
        self._started: float | None = None

    def start(self) -> None:
        self._started = time.monotonic()

    def stop(self) -> None:
        if self._started is not None:
            self.slowest = max(self.slowest, time.monotonic() - self._started)
            self._started = None

    def another_page_fits(self) -> bool:
        return self.deadline.remaining() > max(MIN_PAGE_S, 2.0 * self.slowest)
