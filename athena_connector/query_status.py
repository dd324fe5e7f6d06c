"""Early stop: is the Athena query this split is read for still running?

As the Java SDK's ``QueryStatusChecker``: while a split is read, the query's state comes from
``athena:GetQueryExecution``; once it is SUCCEEDED, FAILED or CANCELLED (another split satisfied the LIMIT, the
user cancelled, the query failed elsewhere) nobody reads this split's answer, and the read stops paging the
SaaS API: it answers, without error, with the rows it has (Athena discards them).

Calls are rare and never block a read for long: no call before a read has run for ``interval`` seconds (short
reads never call), then at most one call per query id per ``interval`` in this process, whatever the number of
threads reading its splits (the answer is cached per query id; a thread that finds another one calling uses
the cached answer instead of waiting). A terminal state is final and cached for good. A failed call never
fails the read: it is logged once per query id and the read goes on; an error that will not go away
(no such query, access denied, no credentials) stops the checks for that query id, as the SDK does.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

TERMINAL_STATES = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})
PERMANENT_ERRORS = frozenset({"InvalidRequestException", "AccessDeniedException", "UnrecognizedClientException"})
MAX_QUERIES = 256


@dataclass
class _Entry:
    lock: threading.Lock = field(default_factory=threading.Lock)
    checked_at: float = float("-inf")
    finished: bool = False
    state: str | None = None
    disabled: bool = False
    logged: bool = False


def _athena_client() -> Any:
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=2, read_timeout=3, retries={"max_attempts": 2, "mode": "standard"})
    return boto3.client("athena", config=config)


class QueryStatus:
    """Thread-safe, per-process cache of query states (one instance per warm Lambda: :data:`STATUS`)."""

    def __init__(self, client_factory: Callable[[], Any] = _athena_client) -> None:
        self._factory = client_factory
        self._client: Any = None
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self.calls = 0

    def _entry(self, query_id: str) -> _Entry:
        with self._lock:
            entry = self._entries.get(query_id)
            if entry is None:
                entry = self._entries[query_id] = _Entry()
                while len(self._entries) > MAX_QUERIES:
                    self._entries.popitem(last=False)
            else:
                self._entries.move_to_end(query_id)
            return entry

    def finished(self, query_id: str, *, read_started: float, interval: float) -> bool:
        """Whether the query has ended; calls Athena only when the cached answer is ``interval`` old."""
        if interval <= 0 or not query_id:
            return False
        now = time.monotonic()
        if now - read_started < interval:
            return False
        entry = self._entry(query_id)
        if entry.finished or entry.disabled or now - entry.checked_at < interval:
            return entry.finished
        if not entry.lock.acquire(blocking=False):
            return entry.finished  # another thread is asking right now
        try:
            if now - entry.checked_at >= interval and not entry.finished:
                self._check(query_id, entry)
            return entry.finished
        finally:
            entry.lock.release()

    def _check(self, query_id: str, entry: _Entry) -> None:
        entry.checked_at = time.monotonic()
        try:
            with self._lock:
                if self._client is None:
                    self._client = self._factory()
                client = self._client
            self.calls += 1
            out = client.get_query_execution(QueryExecutionId=query_id)
            state = str(out["QueryExecution"]["Status"]["State"])
        except Exception as exc:  # a status check must never fail the read
            code = _error_code(exc)
            if code in PERMANENT_ERRORS or type(exc).__name__ in ("NoCredentialsError", "NoRegionError"):
                entry.disabled = True
            if not entry.logged:
                entry.logged = True
                log.warning(
                    "could not check the state of query %s (%s: %s); reading on%s",
                    query_id,
                    code or type(exc).__name__,
                    exc,
                    " without further checks" if entry.disabled else "",
                )
            return
        entry.state = state
        if state in TERMINAL_STATES:
            entry.finished = True
            log.info("query %s is %s: this split stops reading", query_id, state)

    def reset(self) -> None:
        """Forget every query and the client (tests)."""
        with self._lock:
            self._entries.clear()
            self._client = None
            self.calls = 0


def _error_code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


STATUS = QueryStatus()
