"""Split planning from the spec's hints: disjoint pieces of one read that together cover it exactly.

Each split is a string map (Athena's split properties) that converts back into predicates, so a read of
a split is an ordinary read with extra, pushed-down bounds. The outer windows are open-ended, so values
outside the hint's start/end are still read exactly once.

Declared partitions (``partitions: {field, values}``) are a second, independent way to cut a read: one piece
per declared value (``field = value``, pushed) plus the catch-all piece (the field is none of the declared
values, or null: enforced locally only, since an API filter for "none of these, or null" rarely exists).
Every row belongs to exactly one of them, whatever values the API really returns.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from shared.predicates import Op, Predicate
from shared.spec.model import EntitySpec, SplitSpec
from shared.values import coerce, format_timestamp, parse_date, parse_timestamp

KIND = "split.kind"
FIELD = "split.field"
LOW = "split.low"
HIGH = "split.high"
PARENTS = "split.parents"
PARTITION_FIELD = "partition.field"
PARTITION_VALUE = "partition.value"  # a declared value, as text: the split reads field = value
PARTITION_OTHER = "partition.other"  # the catch-all: a digest of the declared values it excludes


@dataclass(frozen=True)
class Split:
    properties: dict[str, str]

    def predicates(self, entity: EntitySpec) -> list[Predicate]:
        return split_predicates(entity, self.properties)

    def parent_keys(self) -> list[dict[str, Any]] | None:
        raw = self.properties.get(PARENTS)
        return None if raw is None else json.loads(raw)


SPLIT_KINDS = ("time_window", "id_range", "parent")


def check_split_kind(properties: dict[str, str]) -> None:
    """Refuse a ``split.kind`` this module never makes, or one without what it needs: read as "no bounds", such a
    split would silently read the whole table (every other split's rows again). Raises ValueError."""
    kind = properties.get(KIND)
    if kind is None:
        return
    if kind not in SPLIT_KINDS:
        raise ValueError(f"unknown {KIND} {kind!r} (splits are made with {', '.join(SPLIT_KINDS)})")
    needed = PARENTS if kind == "parent" else FIELD
    if not properties.get(needed):
        raise ValueError(f"a {kind} split needs {needed}")


def split_predicates(entity: EntitySpec, properties: dict[str, str]) -> list[Predicate]:
    """The bounds a split adds to the query (``low <= field < high``; id ranges are inclusive)."""
    check_split_kind(properties)
    kind = properties.get(KIND)
    if kind not in ("time_window", "id_range"):
        return []
    field = entity.field(properties[FIELD])
    parse = _parser(field.type.kind)
    out = []
    if properties.get(LOW):
        out.append(Predicate(field.name, Op.GE, parse(properties[LOW])))
    if properties.get(HIGH):
        out.append(Predicate(field.name, Op.LT if kind == "time_window" else Op.LE, parse(properties[HIGH])))
    return out


def _parser(kind: str) -> Callable[[str], Any]:
    if kind == "timestamp":
        return parse_timestamp
    if kind == "date":
        return parse_date
    return int


def _render(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return format_timestamp(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _bounds(field: str, predicates: Sequence[Predicate]) -> tuple[Any, Any]:
    """The tightest [low, high] the query itself puts on ``field`` (None = unbounded)."""
    low = high = None
    for p in predicates:
        if p.field != field:
            continue
        lows, highs = [], []
        if p.op in (Op.GE, Op.GT):
            lows.append(p.value)
        elif p.op in (Op.LE, Op.LT):
            highs.append(p.value)
        elif p.op is Op.EQ:
            lows.append(p.value)
            highs.append(p.value)
        elif p.op is Op.BETWEEN:
            lows.append(p.value[0])
            highs.append(p.value[1])
        elif p.op is Op.IN and p.value:
            lows.append(min(p.value))
            highs.append(max(p.value))
        for v in lows:
            low = v if low is None else max(low, v)
        for v in highs:
            high = v if high is None else min(high, v)
    return low, high


def plan_splits(
    entity: EntitySpec,
    predicates: Sequence[Predicate] = (),
    *,
    parent_keys: Callable[[], list[dict[str, Any]]] | None = None,
    now: dt.datetime | None = None,
    max_splits: int | None = None,
) -> list[Split]:
    """Splits for one read; a single unbounded split when the entity has no hint."""
    hint = entity.splits
    if hint is None:
        return [Split({})]
    limit = min(hint.max_splits, max_splits or hint.max_splits)
    if hint.by == "parent":
        if parent_keys is None:
            return [Split({})]
        keys = parent_keys()
        if not keys:
            return [Split({KIND: "parent", PARENTS: "[]"})]
        per = max(hint.max_ids_per_split, math.ceil(len(keys) / limit))
        return [
            Split({KIND: "parent", PARENTS: json.dumps(keys[i : i + per], separators=(",", ":"))})
            for i in range(0, len(keys), per)
        ]
    plan = window_plan(entity, predicates, now=now, max_splits=max_splits)
    assert plan is not None
    return [Split(plan.properties(a, b)) for a, b in plan.bounds] or [Split({})]


@dataclass(frozen=True)
class WindowPlan:
    """The static windows of a ``time_window`` / ``id_range`` hint, clipped to the query's bounds on the field.

    ``bounds`` are consecutive half-open ``[a, b)`` pairs (None = open-ended), so any edge inserted between
    two of them keeps the windows a partition of the field's values. ``low`` / ``high`` are the query's own
    inclusive bounds on the field (None = unbounded); ``step`` is the hint's window width.
    """

    kind: str
    field: str
    field_kind: str
    bounds: list[tuple[Any, Any]]
    low: Any
    high: Any
    step: Any
    anchor: Any

    def properties(self, a: Any, b: Any) -> dict[str, str]:
        """The split properties of the window ``[a, b)`` (id windows push as the inclusive ``[a, b - 1]``)."""
        props = {KIND: self.kind, FIELD: self.field}
        if a is not None:
            props[LOW] = _render(a)
        if b is not None:
            props[HIGH] = _render(b - 1 if self.kind == "id_range" else b)
        return props

    def parse_edge(self, text: str) -> Any:
        return _parser(self.field_kind)(text)


def render_edge(value: Any) -> str:
    return _render(value)


def window_plan(
    entity: EntitySpec,
    predicates: Sequence[Predicate] = (),
    *,
    now: dt.datetime | None = None,
    max_splits: int | None = None,
) -> WindowPlan | None:
    """The windows of the entity's ``time_window`` / ``id_range`` hint for this query (None for other hints)."""
    hint = entity.splits
    if hint is None or hint.by not in ("time_window", "id_range"):
        return None
    assert hint.field is not None
    field = entity.field(hint.field)
    limit = min(hint.max_splits, max_splits or hint.max_splits)
    if hint.by == "time_window":
        edges = _time_edges(hint, field.type.kind, now or dt.datetime.now(dt.UTC))
        step: Any = hint.step if field.type.kind == "timestamp" else dt.timedelta(days=max(1, hint.step.days))
    else:
        edges = _id_edges(hint)
        step = _id_step(hint)
    low, high = _bounds(field.name, predicates)
    bounds = _window_bounds(edges, low, high, limit)
    anchor = edges[0] if edges else None
    return WindowPlan(hint.by, field.name, field.type.kind, bounds, low, high, step, anchor)


def _time_edges(hint: SplitSpec, kind: str, now: dt.datetime) -> list[Any]:
    start = parse_timestamp(hint.start)
    end = now if hint.end in (None, "now") else parse_timestamp(hint.end)
    step: dt.timedelta = hint.step
    edges: list[Any] = []
    cur = start
    while cur <= end:
        edges.append(cur if kind == "timestamp" else cur.date())
        cur += step
    return sorted(set(edges))


def _id_step(hint: SplitSpec) -> int:
    start, end = int(hint.start), int(hint.end)
    return int(hint.step) if hint.step else max(1, math.ceil((end - start + 1) / int(hint.count or 1)))


def _id_edges(hint: SplitSpec) -> list[int]:
    return list(range(int(hint.start), int(hint.end) + 1, _id_step(hint)))


def _window_bounds(edges: list[Any], low: Any, high: Any, limit: int) -> list[tuple[Any, Any]]:
    """Consecutive ``[a, b)`` windows between edges, the first and last open-ended, at most ``limit`` of them,
    without the ones that cannot hold a row of the query's inclusive ``[low, high]``."""
    points = [None, *edges[1:], None] if edges else [None, None]
    bounds: list[tuple[Any, Any]] = list(itertools.pairwise(points))
    if len(bounds) > limit:
        group = math.ceil(len(bounds) / limit)
        bounds = [(bounds[i][0], bounds[min(i + group, len(bounds)) - 1][1]) for i in range(0, len(bounds), group)]
    kept = []
    for a, b in bounds:
        if high is not None and a is not None and _type_safe_gt(a, high):
            continue
        if low is not None and b is not None and not _type_safe_gt(b, low):
            continue
        kept.append((a, b))
    return kept


def _type_safe_gt(a: Any, b: Any) -> bool:
    """Compare a window edge with a query bound even when one is a date and the other a timestamp."""
    if isinstance(a, dt.datetime) and not isinstance(b, dt.datetime) and isinstance(b, dt.date):
        b = dt.datetime.combine(b, dt.time(), tzinfo=dt.UTC)
    elif isinstance(b, dt.datetime) and not isinstance(a, dt.datetime) and isinstance(a, dt.date):
        a = dt.datetime.combine(a, dt.time(), tzinfo=dt.UTC)
    return a > b


# ------------------------------------------------------------------------------------------ partitions


def partition_text(value: Any) -> str:
    """A typed partition value as split-property text (read back with ``coerce`` to the field's type)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    return _render(value)


def partition_digest(entity: EntitySpec) -> str:
    """A short fingerprint of the declared values: ``<count>:<sha256 prefix>``."""
    spec = entity.partitions
    assert spec is not None
    text = json.dumps([partition_text(v) for v in spec.values], separators=(",", ":"))
    return f"{len(spec.values)}:{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def partition_properties(entity: EntitySpec, value: Any) -> dict[str, str]:
    """The split properties of one partition: a declared value, or the catch-all when ``value`` is None.

    The catch-all names the declared values by digest, not by list: up to 1000 values in every catch-all split
    (one per window in a grid) would weigh on GetSplits' 6 MB response. The read takes the values from the spec
    and refuses a digest that no longer matches (the spec changed while the query ran), rather than read a
    different set than the declared partitions' splits did.
    """
    spec = entity.partitions
    assert spec is not None
    if value is None:
        return {PARTITION_FIELD: spec.field, PARTITION_OTHER: partition_digest(entity)}
    return {PARTITION_FIELD: spec.field, PARTITION_VALUE: partition_text(value)}


@dataclass(frozen=True)
class PartitionScope:
    """What a partition adds to a read: predicates to push (and enforce), predicates to enforce only, and the
    column whose NULLs belong to this partition (the catch-all's)."""

    pushed: tuple[Predicate, ...] = ()
    local: tuple[Predicate, ...] = ()
    lenient_nulls: frozenset[str] = frozenset()


def partition_scope(entity: EntitySpec, properties: dict[str, str]) -> PartitionScope:
    """The predicates of a partition's split properties (empty without partition properties).

    Raises KeyError for an unknown field and ValueError for properties that do not parse.
    """
    name = properties.get(PARTITION_FIELD)
    if name is None:
        return PartitionScope()
    ftype = entity.field(name).type
    if PARTITION_VALUE in properties:
        value = coerce(properties[PARTITION_VALUE], ftype)
        return PartitionScope(pushed=(Predicate(name, Op.EQ, value),))
    if PARTITION_OTHER in properties:
        spec = entity.partitions
        if spec is None or spec.field != name or properties[PARTITION_OTHER] != partition_digest(entity):
            raise ValueError(
                f"the catch-all partition was planned for other declared values of '{name}' than the spec now "
                "declares (the spec changed while the query ran); run the query again"
            )
        local = tuple(Predicate(name, Op.NE, v) for v in spec.values)
        return PartitionScope(local=local, lenient_nulls=frozenset({name}))
    raise ValueError(f"{PARTITION_FIELD} needs {PARTITION_VALUE} or {PARTITION_OTHER}")
