"""One neutral predicate model that both connectors translate into.

Athena's value sets and AppFlow's filter expressions both become a list of :class:`Predicate`
(ANDed). The client pushes what the spec declares; whatever it cannot push (or cannot push exactly)
comes back as the residual, evaluated locally by :func:`matches` (or by pyarrow on the Athena side).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Op(StrEnum):
    EQ = "eq"
    NE = "ne"
    LT = "lt"
    LE = "le"
    GT = "gt"
    GE = "ge"
    IN = "in"
    NOT_IN = "not_in"
    BETWEEN = "between"
    IS_NULL = "is_null"
    NOT_NULL = "not_null"


RANGE_OPS = frozenset({Op.LT, Op.LE, Op.GT, Op.GE, Op.BETWEEN})


@dataclass(frozen=True)
class Predicate:
    """``field op value``. ``value`` is a typed Python value; a tuple for ``in`` and ``between``.

    Comparisons with null are false (SQL semantics): ``ne``, ``in`` and ``not_in`` never match a null.
    """

    field: str
    op: Op
    value: Any = None

    def __post_init__(self) -> None:
        if self.op in (Op.IN, Op.NOT_IN) and not isinstance(self.value, tuple):
            object.__setattr__(self, "value", tuple(self.value))
        if self.op is Op.BETWEEN and (not isinstance(self.value, tuple) or len(self.value) != 2):
            raise ValueError("between needs a (low, high) pair")

    def __str__(self) -> str:
        if self.op in (Op.IS_NULL, Op.NOT_NULL):
            return f"{self.field} {self.op.value.replace('_', ' ')}"
        return f"{self.field} {self.op.value} {self.value!r}"

    def test(self, value: Any) -> bool:
        """Evaluate this predicate on one typed value."""
        op = self.op
        if op is Op.IS_NULL:
            return value is None
        if op is Op.NOT_NULL:
            return value is not None
        if value is None:
            return False
        target = self.value
        if op is Op.EQ:
            return value == target
        if op is Op.NE:
            return value != target
        if op is Op.IN:
            return value in target
        if op is Op.NOT_IN:
            return value not in target
        if op is Op.LT:
            return value < target
        if op is Op.LE:
            return value <= target
        if op is Op.GT:
            return value > target
        if op is Op.GE:
            return value >= target
        low, high = target
        return low <= value <= high


def matches(record: dict[str, Any], predicates: Iterable[Predicate]) -> bool:
    """Whether a typed record satisfies every predicate (a missing field counts as null)."""
    return all(p.test(record.get(p.field)) for p in predicates)


def fields_of(predicates: Sequence[Predicate]) -> set[str]:
    return {p.field for p in predicates}
