"""Incremental pulls: exact, gap-free and duplicate-free windows on the entity's incremental field.

AppFlow adds a time condition on the field that describe_entity marked
``isTimestampFieldForIncrementalQueries`` to scheduled flows. Its exact text is undocumented (BETWEEN or
a pair of comparisons, inclusive or not), so:

* a window, i.e. a lower and an upper bound ANDed at the top level, is read as the half-open interval
  ``[lower, upper)`` whatever inclusivity the text wrote, so adjacent windows ``[t0,t1]``, ``[t1,t2]``
  neither share nor lose the records stamped exactly ``t1``;
* a lone bound (``updated_at > t``, the usual "since the last run") is applied exactly as written.

Records that change while a run reads them only ever move *later* on this field. With positional
pagination (offset, page numbers, or link/next-URL paging we cannot prove keyset-based), an upper bound
evaluated by the API would make changed records leave the result set and shift unread ones onto pages
already read, i.e. skip them; so on such entities the upper bound stays local and only the lower bound
goes to the API (the API's set then only grows, and the token's overlap guard drops what a shift
re-delivers).
"""

from __future__ import annotations

from shared.predicates import Op, Predicate
from shared.spec.model import EntitySpec, SourceSpec

KEYSET_PAGINATION = frozenset({"cursor", "header_cursor", "none"})


def _bounds(p: Predicate) -> tuple[object | None, object | None]:
    if p.op in (Op.GT, Op.GE):
        return p.value, None
    if p.op in (Op.LT, Op.LE):
        return None, p.value
    if p.op is Op.BETWEEN:
        return p.value
    return None, None


def normalize_window(entity: EntitySpec, predicates: list[Predicate]) -> list[Predicate]:
    """Rewrite top-level bounds on the incremental field as ``field >= lower`` and ``field < upper``."""
    name = entity.incremental_field
    if not name:
        return list(predicates)
    ranged = [p for p in predicates if p.field == name and p.op in (Op.GT, Op.GE, Op.LT, Op.LE, Op.BETWEEN)]
    lows = [lo for lo, _ in map(_bounds, ranged) if lo is not None]
    highs = [hi for _, hi in map(_bounds, ranged) if hi is not None]
    if not lows or not highs:
        return list(predicates)
    rest = [p for p in predicates if p not in ranged]
    return [*rest, Predicate(name, Op.GE, max(lows)), Predicate(name, Op.LT, min(highs))]  # type: ignore[type-var]


def split_for_paging(
    spec: SourceSpec, entity: EntitySpec, predicates: list[Predicate]
) -> tuple[list[Predicate], list[Predicate]]:
    """``(to plan, keep local)``: upper bounds on the incremental field stay local unless keyset-paged."""
    name = entity.incremental_field
    if not name or spec.pagination_for(entity).type in KEYSET_PAGINATION:
        return list(predicates), []
    local = [p for p in predicates if p.field == name and p.op in (Op.LT, Op.LE)]
    planned = [p for p in predicates if p not in local]
    for p in list(planned):
        if p.field == name and p.op is Op.BETWEEN:
            planned.remove(p)
            planned.append(Predicate(name, Op.GE, p.value[0]))
            local.append(Predicate(name, Op.LE, p.value[1]))
    return planned, local
