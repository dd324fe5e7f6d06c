"""Pages fetched while earlier ones are still being read: the machinery behind ``SaaSClient.iter_pages``.

A read's wall time against a slow API is the sum of its page latencies when it asks for one page at a time. Two
ways to overlap them, both with the exact records, order and tokens of the one-at-a-time read:

* :func:`read_ahead` (any pagination): while the caller decodes, filters and writes page n, a worker thread
  already fetches page n+1 from page n's token. The API still sees one request after the other, each sent after
  the previous answer arrived, as in the sequential read.
* :class:`RequestWindow` (offset and page-number pagination whose API reports the result's total): the next
  requests are known before the answers arrive, so up to K of them are sent at once. Each is keyed by exactly
  what it asks for (method, URL, parameters, headers, body); the client reads every page in order as before and
  takes an answer from the window only when its own next request is identical to one in flight, otherwise it
  sends the request itself and the window's guesses are dropped. A page that failed in flight fails the read with
  its error when the read gets to it (the transport has retried it already), never skipped.

Memory: at most K answers wait beside the page the caller holds. Requests go through the transport as any
other (its rate limiter and retries apply to each); when a read stops early (LIMIT, a budget, an error),
requests already sent are not waited for: their answers are dropped and the workers end with them.
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from shared.transport import Call, TransportStats

if TYPE_CHECKING:
    import requests

    from shared.client import Page

CallKey = tuple[str, str, tuple[tuple[str, str], ...], tuple[tuple[str, str], ...], str]
Sender = Callable[[Call, TransportStats], "tuple[Any, requests.Response]"]


def call_key(call: Call) -> CallKey:
    """What a request asks for, for comparing a request sent ahead with the one the read needs now."""
    body = "" if call.json_body is None else json.dumps(call.json_body, sort_keys=True, default=str)
    return (
        call.method,
        call.url,
        tuple((str(k), str(v)) for k, v in call.params),
        tuple(sorted(call.headers.items())),
        body,
    )


def _in_context(fn: Callable[..., Any], *args: Any) -> Callable[[], Any]:
    """``fn(*args)`` to run in a worker with the caller's context variables (a fresh copy for each task)."""
    context = contextvars.copy_context()
    return lambda: context.run(fn, *args)


class RequestWindow:
    """Up to ``size`` page requests in flight ahead of an in-order read (thread pool of ``size`` workers)."""

    def __init__(self, send: Sender, size: int) -> None:
        self._send = send
        self.size = max(1, size)
        self._pool = ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="saas-page")
        self._flight: dict[CallKey, tuple[Future[tuple[Any, requests.Response]], TransportStats]] = {}
        self._dropped: list[tuple[Future[Any], TransportStats]] = []

    def keep(self, calls: list[Call]) -> None:
        """The requests the read expects next, in order: send those not in flight, drop the others."""
        wanted = {call_key(call): call for call in calls[: self.size]}
        for key in [k for k in self._flight if k not in wanted]:
            self._drop(key)
        for key, call in wanted.items():
            if key not in self._flight:
                stats = TransportStats()
                self._flight[key] = (self._pool.submit(_in_context(self._send, call, stats)), stats)

    def take(self, call: Call, stats: TransportStats) -> tuple[Any, requests.Response] | None:
        """The answer to ``call`` if it was sent ahead (waiting for it; its failure is raised here), else None.
        What it cost, and what dropped requests that have finished cost, is added to ``stats``."""
        for future, cost in [d for d in self._dropped if d[0].done()]:
            stats.add(cost)
            self._dropped.remove((future, cost))
        entry = self._flight.pop(call_key(call), None)
        if entry is None:
            return None
        future, cost = entry
        try:
            return future.result()
        finally:
            stats.add(cost)

    def clear(self) -> None:
        """Drop every request in flight (their answers would belong to a result set that has changed)."""
        for key in list(self._flight):
            self._drop(key)

    @property
    def in_flight(self) -> int:
        return len(self._flight)

    def _drop(self, key: CallKey) -> None:
        future, cost = self._flight.pop(key)
        if not future.cancel():
            self._dropped.append((future, cost))

    def close(self) -> None:
        self.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)


def read_ahead(fetch: Callable[[str | None], Page], token: str | None) -> Iterator[Page]:
    """Pages from ``token`` on, fetching the next one (``fetch(next_token)``) while the caller works on this one."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="saas-page")
    pending: Future[Page] | None = pool.submit(_in_context(fetch, token))
    try:
        while pending is not None:
            page = pending.result()
            pending = None if page.next_token is None else pool.submit(_in_context(fetch, page.next_token))
            yield page
    finally:
        if pending is not None:
            pending.cancel()
        pool.shutdown(wait=False, cancel_futures=True)
