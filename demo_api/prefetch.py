"""Speculative next-page computation (opt-in: ``prefetch=True``), so a sequential reader's next page
is ready when it asks.

After a list page has been served, the page a client would fetch next is computed on a background
thread while the client parses the current one. It is used only if the store has not changed since
(the result is then identical to computing it on demand), so clients cannot tell, except by speed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")

Versioned = tuple[T, int]


class Prefetcher(Generic[T]):
    def __init__(
        self,
        lock: threading.RLock,
        max_pending: int = 4,
        enabled: bool = True,
        warm: Callable[[T], None] | None = None,
    ) -> None:
        self._store_lock = lock
        self._warm = warm
        self._max_pending = max_pending
        self._pending: OrderedDict[Hashable, Future[Versioned[T]]] = OrderedDict()
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._closed = not enabled
        self.hits = 0

    def get(self, key: Hashable, compute: Callable[[], T], version: Callable[[], int]) -> T:
        """The prefetched value for ``key`` if still valid, else ``compute()``."""
        with self._lock:
            future = self._pending.pop(key, None)
        if future is not None and not future.cancelled():
            try:
                value, computed_at = future.result()
            except Exception:  # a failed guess is just a miss
                pass
            else:
                with self._store_lock:
                    if computed_at == version():
                        self.hits += 1
                        return value
        return compute()

    def schedule(self, key: Hashable, compute: Callable[[], T], version: Callable[[], int]) -> None:
        """Compute ``key``'s value in the background (with the version it was computed at)."""

        def job() -> Versioned[T]:
            with self._store_lock:
                value, at = compute(), version()
            if self._warm is not None:
                self._warm(value)  # e.g. serialise, outside the store lock
            return value, at

        with self._lock:
            if self._closed or key in self._pending:
                return
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="demo-api-prefetch")
            self._pending[key] = self._executor.submit(job)
            while len(self._pending) > self._max_pending:
                _, stale = self._pending.popitem(last=False)
                stale.cancel()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._pending.clear()
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
