"""Sorted lists and text search (accounts and contacts).

``sort=field,-field``: records ordered by each field in turn (``-`` descending), then by id. Text compares by
code point, numbers and decimals by value, timestamps and dates by their ISO text (one format each, so the
same order). NULL is larger than every value: last ascending, first descending. A sorted list is paged by
position (offset for accounts; for contacts the cursor then carries the position).

Search parameters (conditions like the other filters):

* accounts: ``name_prefix`` (name starts with it, case-sensitive), ``name_contains`` (name contains it,
  case-insensitive: both sides lower-cased);
* contacts: ``last_name_prefix`` (case-insensitive), ``last_name_contains`` (case-sensitive).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .errors import bad_request
from .params import Args

SORTABLE: dict[str, dict[str, str]] = {
    "accounts": {
        "id": "number",
        "name": "text",
        "employees": "number",
        "annual_revenue": "decimal",
        "founded_on": "text",
        "rating": "number",
        "created_at": "text",
        "updated_at": "text",
    },
    "contacts": {
        "id": "number",
        "first_name": "text",
        "last_name": "text",
        "email": "text",
        "score": "number",
        "lifetime_value": "decimal",
        "birthday": "text",
        "created_at": "text",
        "updated_at": "text",
    },
}

# parameter -> (field, op); op: prefix | iprefix | contains | icontains
SEARCHES: dict[str, dict[str, tuple[str, str]]] = {
    "accounts": {"name_prefix": ("name", "prefix"), "name_contains": ("name", "icontains")},
    "contacts": {"last_name_prefix": ("last_name", "iprefix"), "last_name_contains": ("last_name", "contains")},
}

Sort = tuple[tuple[str, bool], ...]  # (field, descending)


def parse_sort(entity: str, args: Args) -> Sort | None:
    values = args.getlist("sort")
    if not values:
        return None
    if len(values) > 1:
        raise bad_request("sort", "given more than once")
    out = []
    for item in values[0].split(","):
        name = item.strip()
        descending = name.startswith("-")
        name = name.removeprefix("-")
        if name not in SORTABLE.get(entity, {}):
            allowed = ", ".join(SORTABLE.get(entity, {}))
            raise bad_request("sort", f"cannot sort by {name!r}; sortable: {allowed}")
        out.append((name, descending))
    return tuple(out)


def text_test(op: str, term: str) -> Any:
    """The test of a search condition on a field's value (None never matches)."""
    if op == "prefix":
        return lambda v: isinstance(v, str) and v.startswith(term)
    if op == "iprefix":
        return lambda v: isinstance(v, str) and v.lower().startswith(term.lower())
    if op == "contains":
        return lambda v: isinstance(v, str) and term in v
    if op == "icontains":
        return lambda v: isinstance(v, str) and term.lower() in v.lower()
    raise ValueError(op)


class _Key:
    """One field's sort key: NULL above every value; ``descending`` reverses the whole comparison."""

    __slots__ = ("descending", "value")

    def __init__(self, value: Any, descending: bool) -> None:
        self.value = value
        self.descending = descending

    def _lt(self, a: Any, b: Any) -> bool:
        if a is None:
            return False
        if b is None:
            return True
        return bool(a < b)

    __hash__ = None  # type: ignore[assignment]

    def __lt__(self, other: _Key) -> bool:
        return self._lt(other.value, self.value) if self.descending else self._lt(self.value, other.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Key) and self.value == other.value


def _typed(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "decimal":
        return Decimal(str(value))
    return value


def sort_records(entity: str, records: list[dict[str, Any]], sort: Sort) -> list[dict[str, Any]]:
    kinds = SORTABLE[entity]

    def key(rec: dict[str, Any]) -> tuple[Any, ...]:
        parts = tuple(_Key(_typed(rec.get(f), kinds[f]), desc) for f, desc in sort)
        return (*parts, rec["id"])

    return sorted(records, key=key)
