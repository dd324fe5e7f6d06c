"""Current state of every entity: generated base rows plus a small dict of overrides.

Base ids ``1..N`` are generated on demand; only records that were written, mutated or deleted are kept
in memory. Reads walk ids in ascending order, so an id-based cursor never repeats or skips a record
that exists for the whole read, whatever is written in between.
"""

from __future__ import annotations

import random
import sys
import threading
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterator
from itertools import islice
from typing import Any

from .clock import ServerClock
from .count_index import CountIndex
from .data import ENTITIES, TABLE_ENTITIES, ActivityGen, Dataset
from .filters import Plan, Query
from .mutations import mutated
from .ordering import Sort, sort_records
from .rand import Stream
from .timeutil import format_ts

Record = dict[str, Any]
_CACHE_MAX = 4096


class Table:
    """One table entity (accounts, contacts, deals). Callers hold the store lock."""

    def __init__(self, gen: Any) -> None:
        self.gen = gen
        self.name: str = gen.name
        self.base_count: int = gen.count
        self.overrides: dict[int, Record] = {}  # written/mutated base records and all created ones
        self.deleted: set[int] = set()  # deleted base ids
        self._deleted_sorted: list[int] = []
        self.extra_ids: list[int] = []  # existing ids > base_count, ascending
        self.high_water = gen.count  # largest id ever used
        self.version = 0  # bumped on every change; keys the caches below
        self._counts: dict[tuple[Any, ...], int] = {}
        self._positions: dict[tuple[Any, ...], int] = {}
        self._sorted: dict[tuple[Any, ...], list[int]] = {}
        self.index = CountIndex(gen, gen.count)

    # -- single records ---------------------------------------------------------------------------
    def exists(self, i: int) -> bool:
        if 1 <= i <= self.base_count:
            return i not in self.deleted
        return i in self.overrides

    def get(self, i: int) -> Record | None:
        rec = self.overrides.get(i)
        if rec is not None:
            return rec
        if 1 <= i <= self.base_count and i not in self.deleted:
            return self.gen.build(i)  # type: ignore[no-any-return]
        return None

    def put(self, rec: Record) -> None:
        """Store a complete record (never mutated afterwards: writers replace, not edit)."""
        i = rec["id"]
        if i > self.base_count and i not in self.overrides:
            insort(self.extra_ids, i)
        if i in self.deleted:
            self.deleted.discard(i)
            self._deleted_sorted.remove(i)
        self.overrides[i] = rec
        self.high_water = max(self.high_water, i)
        self._changed()

    def remove(self, i: int) -> bool:
        if not self.exists(i):
            return False
        self.overrides.pop(i, None)
        if i <= self.base_count:
            self.deleted.add(i)
            insort(self._deleted_sorted, i)
        else:
            del self.extra_ids[bisect_left(self.extra_ids, i)]
        self._changed()
        return True

    def reset(self) -> None:
        self.overrides.clear()
        self.deleted.clear()
        self._deleted_sorted.clear()
        self.extra_ids.clear()
        self.high_water = self.base_count
        self._changed()

    def _changed(self) -> None:
        self.version += 1
        self._sorted.clear()  # few, and each as large as the table
        if len(self._counts) > _CACHE_MAX or len(self._positions) > _CACHE_MAX:
            self._counts.clear()
            self._positions.clear()

    # -- scanning ---------------------------------------------------------------------------------
    @staticmethod
    def _bounds(query: Query) -> tuple[int, int]:
        lo = max(query.id_min or 1, 1)
        hi = query.id_max if query.id_max is not None else sys.maxsize
        return lo, hi

    def _matches(self, after_id: int, query: Query, plan: Plan, build: bool) -> Iterator[tuple[int, Record | None]]:
        """``(id, record)`` of matching records with id > ``after_id`` ascending; record may be None
        when ``build`` is false and the filter could be decided from the cheap core."""
        lo, hi = self._bounds(query)
        lo = max(lo, after_id + 1)
        overrides, deleted, gen, filtered = self.overrides, self.deleted, self.gen, query.filtered
        for i in range(lo, min(hi, self.base_count) + 1):
            rec = overrides.get(i)
            if rec is None:
                if i in deleted:
                    continue
                if filtered:
                    if plan.core_tests and not plan.core_ok(gen.core(i)):
                        continue
                    if plan.record_tests:
                        rec = gen.build(i)
                        if not plan.record_ok(rec, base=True):
                            continue
                if build and rec is None:
                    rec = gen.build(i)
                yield i, rec
            elif not filtered or plan.record_ok(rec, base=False):
                yield i, rec
        for i in self.extra_ids[bisect_left(self.extra_ids, lo) :]:
            if i > hi:
                break
            rec = overrides[i]
            if not filtered or plan.record_ok(rec, base=False):
                yield i, rec

    def scan(self, after_id: int, query: Query, limit: int) -> list[Record]:
        """Up to ``limit`` matching records with id > ``after_id``, ascending by id."""
        plan = query.plan(self.gen.core_fields)
        if query.filtered and self._indexed_count(query, plan) == 0:
            return []  # the count index says nothing matches: no scan of every row to find nothing
        return [rec for _, rec in islice(self._matches(after_id, query, plan, True), limit) if rec is not None]

    def count(self, query: Query) -> int:
        if not query.filtered:
            lo, hi = self._bounds(query)
            if lo > hi:
                return 0
            return self._base_span(lo, hi) + bisect_right(self.extra_ids, hi) - bisect_left(self.extra_ids, lo)
        key = (self.version, query.key)
        total = self._counts.get(key)
        if total is None:
            plan = query.plan(self.gen.core_fields)
            total = self._indexed_count(query, plan)
            if total is None:
                total = sum(1 for _ in self._matches(0, query, plan, False))
            self._counts[key] = total
        return total

    def _indexed_count(self, query: Query, plan: Plan) -> int | None:
        """The count from the index of generated rows, corrected for the records written since (few)."""
        if plan.record_tests:
            return None
        base = self.index.base_count_of(query)
        if base is None:
            return None
        lo, hi = self._bounds(query)
        for i in set(self.overrides) | self.deleted:  # generated rows that no longer read as generated
            if lo <= i <= min(hi, self.base_count) and plan.core_ok(self.gen.core(i)):
                base -= 1
        for i, rec in self.overrides.items():
            if lo <= i <= hi and plan.record_ok(rec, base=False):
                base += 1
        return base

    def page_at(self, query: Query, offset: int, limit: int) -> list[Record]:
        """The records at positions ``offset .. offset+limit-1`` of the filtered, id-ordered list."""
        after: int | None = 0
        if offset and not query.filtered:
            at = self.id_at(query, offset)
            after = None if at is None else at - 1
        elif offset:
            after = self._positions.get((self.version, query.key, offset))
            if after is None:
                plan = query.plan(self.gen.core_fields)
                nth = next(islice(self._matches(0, query, plan, False), offset - 1, None), None)
                after = None if nth is None else nth[0]
        if after is None:
            return []
        page = self.scan(after, query, limit)
        if query.filtered and page:
            self._positions[(self.version, query.key, offset + len(page))] = page[-1]["id"]
        return page

    def sorted_page(self, query: Query, sort: Sort, offset: int, limit: int) -> tuple[list[Record], int]:
        """Records at positions ``offset ..`` of the filtered list in ``sort`` order, and the list's length."""
        key = (query.key, sort)
        ids = self._sorted.get(key)
        if ids is None:
            plan = query.plan(self.gen.core_fields)
            matching = [rec for _, rec in self._matches(0, query, plan, True) if rec is not None]
            ids = self._sorted[key] = [rec["id"] for rec in sort_records(self.name, matching, sort)]
        page = [rec for i in ids[offset : offset + limit] if (rec := self.get(i)) is not None]
        return page, len(ids)

    # Unfiltered position arithmetic (no scan needed even with deletions).
    def _deleted_le(self, i: int) -> int:
        return bisect_right(self._deleted_sorted, i)

    def _base_span(self, lo: int, hi: int) -> int:
        top = min(hi, self.base_count)
        if top < lo:
            return 0
        return (top - lo + 1) - (self._deleted_le(top) - self._deleted_le(lo - 1))

    def id_at(self, query: Query, position: int) -> int | None:
        """The id at 0-based ``position`` among existing ids within the query's id bounds."""
        lo, hi = self._bounds(query)
        n_base = self._base_span(lo, hi)
        if position < n_base:
            rank = (lo - 1) - self._deleted_le(lo - 1) + position + 1
            i = rank
            while True:  # least fixed point of i = rank + deleted(<= i)
                j = rank + self._deleted_le(i)
                if j == i:
                    return i
                i = j
        k = bisect_left(self.extra_ids, lo) + (position - n_base)
        if k < len(self.extra_ids) and self.extra_ids[k] <= hi:
            return self.extra_ids[k]
        return None


class ActivityTable:
    """Read-only child entity: activities of the base contacts that currently exist."""

    core_fields = {"occurred_at": 0}

    def __init__(self, gen: ActivityGen, contacts: Table) -> None:
        self.gen = gen
        self.contacts = contacts

    def scan(self, after_id: int, query: Query, limit: int, contact_id: int | None = None) -> list[Record]:
        plan = query.plan(self.core_fields)
        first = max(1, ActivityGen.contact_of(after_id + 1))
        last = self.contacts.base_count
        if contact_id is not None:
            first, last = max(first, contact_id), min(last, contact_id)
        out: list[Record] = []
        deleted = self.contacts.deleted
        for c in range(first, last + 1):
            if c in deleted:
                continue
            for aid, occurred in self.gen.cores(c):
                if aid <= after_id or (plan.core_tests and not plan.core_ok((occurred,))):
                    continue
                out.append(self.gen.build(aid, occurred))
                if len(out) >= limit:
                    return out
        return out


class Store:
    """Thread-safe facade over all entities, the server clock and the mutation helpers."""

    def __init__(self, dataset: Dataset, *, live_clock: bool = False) -> None:
        self.dataset = dataset
        self.lock = threading.RLock()
        self.clock = ServerClock(live=live_clock)
        self.tables: dict[str, Table] = {name: Table(dataset.table(name)) for name in TABLE_ENTITIES}
        self.activities = ActivityTable(dataset.activities, self.tables["contacts"])
        self._mutation_stream = Stream(dataset.seed, "mutations")
        self._mutation_count = 0

    def table(self, entity: str) -> Table:
        try:
            return self.tables[entity]
        except KeyError:
            raise KeyError(f"unknown table entity {entity!r}") from None

    def version(self, entity: str) -> int:
        """Changes whenever what a read of ``entity`` returns may change."""
        return self.tables["contacts" if entity == "activities" else entity].version

    # -- reads ------------------------------------------------------------------------------------
    def get(self, entity: str, record_id: int) -> Record | None:
        with self.lock:
            return self.table(entity).get(record_id)

    def scan(self, entity: str, after_id: int, query: Query, limit: int) -> list[Record]:
        with self.lock:
            if entity == "activities":
                return self.activities.scan(after_id, query, limit)
            return self.table(entity).scan(after_id, query, limit)

    def page_at(self, entity: str, query: Query, offset: int, limit: int) -> tuple[list[Record], int]:
        """``(records, total)`` for offset pagination."""
        with self.lock:
            table = self.table(entity)
            return table.page_at(query, offset, limit), table.count(query)

    def sorted_page(self, entity: str, query: Query, sort: Sort, offset: int, limit: int) -> tuple[list[Record], int]:
        with self.lock:
            return self.table(entity).sorted_page(query, sort, offset, limit)

    def count(self, entity: str, query: Query | None = None) -> int:
        with self.lock:
            return self.table(entity).count(query or Query())

    def contact_activities(self, contact_id: int, after_id: int, query: Query, limit: int) -> list[Record] | None:
        """A contact's activities, or None if the contact does not exist."""
        with self.lock:
            if not self.tables["contacts"].exists(contact_id):
                return None
            return self.activities.scan(after_id, query, limit, contact_id=contact_id)

    def iter_records(self, entity: str, chunk: int = 1000) -> Iterator[Record]:
        """Every current record of ``entity`` by ascending id (locks per chunk, not for the whole walk)."""
        if entity not in ENTITIES:
            raise KeyError(f"unknown entity {entity!r}")
        after, query = 0, Query()
        while True:
            page = self.scan(entity, after, query, chunk)
            yield from page
            if len(page) < chunk:
                return
            after = page[-1]["id"]

    def all_records(self, entity: str) -> list[Record]:
        return list(self.iter_records(entity))

    # -- writes -----------------------------------------------------------------------------------
    def create(self, entity: str, values: Record, order: tuple[str, ...]) -> Record:
        with self.lock:
            table = self.table(entity)
            now = format_ts(self.clock.tick())
            rec = _ordered({**values, "id": table.high_water + 1, "created_at": now, "updated_at": now}, order)
            table.put(rec)
            return rec

    def update(self, entity: str, record_id: int, changes: Record) -> Record | None:
        with self.lock:
            table = self.table(entity)
            current = table.get(record_id)
            if current is None:
                return None
            rec = {**current, **changes, "updated_at": format_ts(self.clock.tick())}
            table.put(rec)
            return rec

    def replace(self, entity: str, record_id: int, values: Record, order: tuple[str, ...]) -> tuple[Record, bool]:
        """Upsert: ``(record, created)``."""
        with self.lock:
            table = self.table(entity)
            current = table.get(record_id)
            now = format_ts(self.clock.tick())
            created_at = now if current is None else current["created_at"]
            fields = {**values, "id": record_id, "created_at": created_at, "updated_at": now}
            rec = _ordered(fields, order)
            table.put(rec)
            return rec, current is None

    def delete(self, entity: str, record_id: int) -> bool:
        with self.lock:
            removed = self.table(entity).remove(record_id)
            if removed:
                self.clock.tick()
            return removed

    def mutate(
        self,
        entity: str,
        ids: list[int] | None = None,
        count: int | None = None,
        changes: Record | None = None,
    ) -> list[Record]:
        """Change records (explicit ``ids``, or ``count`` picked deterministically), each stamped with
        its own server-clock tick. Missing ids are skipped. Returns the new records."""
        with self.lock:
            table = self.table(entity)
            self._mutation_count += 1
            d = self._mutation_stream.draws(self._mutation_count)
            if ids is None:
                total = table.count(Query())
                k = min(count or 0, total)
                positions = random.Random(d.below(2**32)).sample(range(total), k)
                ids = sorted(i for p in positions if (i := table.id_at(Query(), p)) is not None)
            return self._mutate_ids(table, ids, changes, lambda rec: mutated(entity, rec, d))

    def _mutate_ids(
        self, table: Table, ids: list[int], changes: Record | None, change: Callable[[Record], Record]
    ) -> list[Record]:
        out = []
        for i in ids:
            current = table.get(i)
            if current is None:
                continue
            rec = {**change(current), **(changes or {}), "updated_at": format_ts(self.clock.tick())}
            table.put(rec)
            out.append(rec)
        return out

    def mutate_after(self, entity: str, after_id: int, n: int) -> list[Record]:
        """Mutate the next ``n`` existing records with id > ``after_id`` (the ``mutate_between_pages``
        fault: records not read yet move to the end by ``updated_at``)."""
        with self.lock:
            table = self.table(entity)
            ids = [rec["id"] for rec in table.scan(after_id, Query(), n)]
        return self.mutate(entity, ids=ids)

    def delete_ids(self, entity: str, ids: list[int]) -> list[int]:
        """Delete these records (the ``delete_between_pages`` fault); returns the ids that existed."""
        return [i for i in ids if self.delete(entity, i)]

    def reset(self) -> None:
        """Forget every write and mutation; restart the clock."""
        with self.lock:
            for table in self.tables.values():
                table.reset()
            self.clock.reset()
            self._mutation_count = 0


def _ordered(rec: Record, order: tuple[str, ...]) -> Record:
    return {k: rec[k] for k in order if k in rec}
