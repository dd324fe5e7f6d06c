"""Incremental pulls: windows on the entity's incremental field, read as written, never losing a record.

AppFlow adds a time condition on the field that describe_entity marked
``isTimestampFieldForIncrementalQueries`` to scheduled flows, ANDed with the user's filters, in the same
``filterExpression`` text: the two cannot be told apart, and what AppFlow sends is undocumented (the evidence is
in docs/console.md). So every condition keeps its SQL meaning: ``BETWEEN`` is inclusive at both ends (what the
user means in the console, and the reading that never loses a record when AppFlow uses it for adjacent windows:
a record stamped exactly on a shared edge is delivered by both windows, a duplicate recoverable downstream by
primary key), and ``>``, ``>=``, ``<``, ``<=`` apply exactly as written.

Records that change while a run reads them only ever move *later* on this field. An upper bound evaluated by
the API would make changed records leave the result set between two calls of a run, and every paginator
resumes a page it stopped in the middle of by position (``Page.token_after``: re-read the page, skip the
records already delivered), and offset, page-number and link paging resume whole pages by position too: an
unread record would shift onto a position already read and be skipped. So the upper bound stays local on every
entity and only the lower bound goes to the API (the API's set then only grows, and the token's overlap guard
drops what a shift re-delivers). Before issue 14 the upper bound went to the API on cursor-paged entities; a
``<=`` end sent as ``updated_before`` one millisecond later (the widened form of shared.bounds) then skipped
records changed during a run that stopped mid-page (tests/appflow/test_appflow_flows.py, records changing
during the run). An incremental window's end costs at most the records changed since it, read and dropped.
"""

from __future__ import annotations

from shared.predicates import Op, Predicate
from shared.spec.model import EntitySpec, SourceSpec


def split_for_paging(
    spec: SourceSpec, entity: EntitySpec, predicates: list[Predicate]
) -> tuple[list[Predicate], list[Predicate]]:
    """``(to plan, keep local)``: upper bounds on the incremental field stay local (see the module's docstring)."""
    name = entity.incremental_field
    if not name:
        return list(predicates), []
    local = [p for p in predicates if p.field == name and p.op in (Op.LT, Op.LE)]
    planned = [p for p in predicates if p not in local]
    for p in list(planned):
        if p.field == name and p.op is Op.BETWEEN:
            planned.remove(p)
            planned.append(Predicate(name, Op.GE, p.value[0]))
            local.append(Predicate(name, Op.LE, p.value[1]))
    return planned, local
