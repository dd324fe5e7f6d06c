"""List filters: parsed from query parameters into a :class:`Query` the store evaluates.

A condition can be tested against a generator's cheap ``core`` tuple (so scans over a million rows
need not build every record) or against a full record dict (overrides and created records).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from . import vocab
from .errors import bad_request
from .ordering import SEARCHES, text_test
from .params import Args, date_param, decimal_param, enum_list_param, int_param, timestamp_param
from .timeutil import parse_ts

Test = Callable[[Any], bool]


@dataclass(frozen=True)
class Condition:
    """``field op value``; ``value`` is normalised for ``kind`` (see :meth:`normalise`)."""

    field: str
    # "ge" | "gt" | "lt" | "le" | "in" | "not_in" (keeps records without a value, as many APIs do)
    # | text search: "prefix" | "iprefix" | "contains" | "icontains"
    op: str
    value: Any
    kind: str  # "timestamp" (Unix seconds) | "date" (str) | "decimal" (cents) | "enum" (str) | "text" (str)

    def test(self) -> Test:
        value = self.value
        if self.kind == "text":
            return text_test(self.op, value)  # type: ignore[no-any-return]
        if self.op == "in":
            return lambda v: v in value
        if self.op == "not_in":
            return lambda v: v not in value
        if self.op == "ge":
            return lambda v: v is not None and v >= value
        if self.op == "gt":
            return lambda v: v is not None and v > value
        if self.op == "lt":
            return lambda v: v is not None and v < value
        if self.op == "le":
            return lambda v: v is not None and v <= value
        raise ValueError(self.op)

    def normalise(self, raw: Any) -> Any:
        """A record's JSON value in the comparable form generator cores use."""
        if raw is None or self.kind in ("enum", "date", "text"):
            return raw
        if not isinstance(raw, str):  # e.g. after a drift fault; never matches
            return None
        if self.kind == "timestamp":
            return parse_ts(raw)
        return Decimal(raw) * 100


def _key_of(value: Any) -> str:
    return repr(sorted(value)) if isinstance(value, frozenset) else repr(value)


@dataclass(frozen=True)
class Plan:
    """A query compiled for one generator: core tests, then record tests."""

    core_tests: tuple[tuple[int, Test], ...]
    record_tests: tuple[tuple[Condition, Test], ...]
    all_tests: tuple[tuple[Condition, Test], ...]

    def core_ok(self, core: tuple[Any, ...]) -> bool:
        return all(test(core[idx]) for idx, test in self.core_tests)

    def record_ok(self, record: Mapping[str, Any], *, base: bool) -> bool:
        """``base``: the record was generated and already passed :meth:`core_ok`."""
        tests = self.record_tests if base else self.all_tests
        return all(test(cond.normalise(record.get(cond.field))) for cond, test in tests)


@dataclass(frozen=True)
class Query:
    conditions: tuple[Condition, ...] = ()
    id_min: int | None = None
    id_max: int | None = None
    key: tuple[Any, ...] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        conds = tuple(sorted((c.field, c.op, _key_of(c.value)) for c in self.conditions))
        object.__setattr__(self, "key", (conds, self.id_min, self.id_max))

    @property
    def filtered(self) -> bool:
        return bool(self.conditions)

    def plan(self, core_fields: Mapping[str, int]) -> Plan:
        core: list[tuple[int, Test]] = []
        record: list[tuple[Condition, Test]] = []
        every: list[tuple[Condition, Test]] = []
        for cond in self.conditions:
            test = cond.test()
            every.append((cond, test))
            if cond.field in core_fields:
                core.append((core_fields[cond.field], test))
            else:
                record.append((cond, test))
        return Plan(tuple(core), tuple(record), tuple(every))


@dataclass(frozen=True)
class FilterSpec:
    field: str
    op: str
    kind: str
    allowed: tuple[str, ...] = ()


def _ts(name: str, op: str) -> FilterSpec:
    return FilterSpec(name, op, "timestamp")


FILTERS: dict[str, dict[str, FilterSpec]] = {
    "accounts": {
        "updated_since": _ts("updated_at", "ge"),
        "industry": FilterSpec("industry", "in", "enum", vocab.INDUSTRIES),
    },
    "contacts": {
        "status": FilterSpec("status", "in", "enum", vocab.CONTACT_STATUSES),
        "updated_since": _ts("updated_at", "ge"),
        "updated_before": _ts("updated_at", "lt"),
        "created_after": _ts("created_at", "gt"),
    },
    "deals": {
        "stage": FilterSpec("stage", "in", "enum", vocab.DEAL_STAGES),
        "stage_not_in": FilterSpec("stage", "not_in", "enum", vocab.DEAL_STAGES),
        "updated_since": _ts("updated_at", "ge"),
        "close_date_from": FilterSpec("close_date", "ge", "date"),
        "close_date_to": FilterSpec("close_date", "le", "date"),
        "amount_min": FilterSpec("amount", "ge", "decimal"),
    },
    "activities": {"occurred_since": _ts("occurred_at", "ge")},
}
ID_FILTERED: frozenset[str] = frozenset({"accounts", "contacts", "deals"})


def _parse_value(args: Args, name: str, spec: FilterSpec) -> Any:
    if spec.kind == "timestamp":
        return timestamp_param(args, name)
    if spec.kind == "date":
        return date_param(args, name)
    if spec.kind == "decimal":
        amount = decimal_param(args, name)
        return None if amount is None else amount * 100
    return enum_list_param(args, name, spec.allowed)


def parse_query(entity: str, args: Args) -> Query:
    """The filters of ``entity`` present in ``args``; unknown parameters are ignored."""
    conditions = []
    for name, spec in FILTERS[entity].items():
        value = _parse_value(args, name, spec)
        if value is not None:
            conditions.append(Condition(spec.field, spec.op, value, spec.kind))
    for name, (field_name, op) in SEARCHES.get(entity, {}).items():
        terms = args.getlist(name)
        if len(terms) > 1:
            raise bad_request(name, "given more than once")
        if terms:
            if not terms[0]:
                raise bad_request(name, "empty search term")
            conditions.append(Condition(field_name, op, terms[0], "text"))
    id_min = id_max = None
    if entity in ID_FILTERED:
        id_min = int_param(args, "id_min", None, 0)
        id_max = int_param(args, "id_max", None, 0)
    return Query(tuple(conditions), id_min, id_max)
