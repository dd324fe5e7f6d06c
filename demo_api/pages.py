"""List pages: fetched from the store through the prefetcher, with their JSON array serialised once.

A sequential reader's next page (records *and* their JSON) is computed in the background while the
client parses the current one; see :mod:`demo_api.prefetch` for why that is invisible to clients.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from .filters import Query
from .prefetch import Prefetcher
from .responses import dumps
from .store import Store

Record = dict[str, Any]


@dataclass
class Page:
    records: list[Record]
    more: bool  # is there a next page?
    total: int | None = None  # offset styles only
    _json: bytes | None = field(default=None, repr=False)

    def json(self) -> bytes:
        """``records`` as a compact JSON array (computed once)."""
        if self._json is None:
            self._json = dumps(self.records)
        return self._json


def _warm(page: Page | None) -> None:
    if page is not None:
        page.json()


class Pager:
    def __init__(self, store: Store, prefetch: bool = False) -> None:
        self.store = store
        self.prefetcher: Prefetcher[Page | None] = Prefetcher(store.lock, enabled=prefetch, warm=_warm)

    def close(self) -> None:
        self.prefetcher.close()

    def _version(self, entity: str) -> Callable[[], int]:
        return lambda: self.store.version(entity)

    # -- id-keyed pages (cursor, next-URL) --------------------------------------------------------
    def _scan(self, entity: str, query: Query, after: int, limit: int, contact_id: int | None) -> Page | None:
        if contact_id is None:
            rows = self.store.scan(entity, after, query, limit + 1)
        else:
            found = self.store.contact_activities(contact_id, after, query, limit + 1)
            if found is None:
                return None
            rows = found
        return Page(rows[:limit], more=len(rows) > limit)

    @staticmethod
    def _scan_key(entity: str, query: Query, after: int, limit: int, contact_id: int | None) -> Hashable:
        return ("scan", entity, contact_id, query.key, after, limit)

    def after(self, entity: str, query: Query, after: int, limit: int, contact_id: int | None = None) -> Page | None:
        """Up to ``limit`` records with id > ``after``; None if ``contact_id``'s contact is missing."""
        key = self._scan_key(entity, query, after, limit, contact_id)
        return self.prefetcher.get(
            key, lambda: self._scan(entity, query, after, limit, contact_id), self._version(entity)
        )

    def prefetch_after(self, entity: str, query: Query, after: int, limit: int, contact_id: int | None = None) -> None:
        key = self._scan_key(entity, query, after, limit, contact_id)
        self.prefetcher.schedule(
            key, lambda: self._scan(entity, query, after, limit, contact_id), self._version(entity)
        )

    # -- position-keyed pages (offset, page number) ------------------------------------------------
    def _at(self, entity: str, query: Query, offset: int, limit: int) -> Page:
        records, total = self.store.page_at(entity, query, offset, limit)
        return Page(records, more=offset + limit < total, total=total)

    def at(self, entity: str, query: Query, offset: int, limit: int) -> Page:
        key = ("offset", entity, query.key, offset, limit)
        page = self.prefetcher.get(key, lambda: self._at(entity, query, offset, limit), self._version(entity))
        assert page is not None
        return page

    def prefetch_at(self, entity: str, query: Query, offset: int, limit: int) -> None:
        key = ("offset", entity, query.key, offset, limit)
        self.prefetcher.schedule(key, lambda: self._at(entity, query, offset, limit), self._version(entity))
