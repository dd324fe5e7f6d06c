"""Which declared operator carries a predicate to the API, with which value, so the API never excludes a match.

The written form of a value may be coarser than the value (``iso8601_s`` for a bound with milliseconds, ``date``
for a timestamp, ``%.2f`` for a decimal with more places). Then:

* a lower bound (``>=``, ``>``) is sent as the grid value at or below it: ``ge floor(v)`` (or ``gt`` one unit
  below that when only ``gt`` is declared);
* an upper bound (``<=``, ``<``) as the grid value above it: ``le ceil(v)`` or ``lt ceil(v)``;
* ``=`` and ``in`` on a value the format cannot write exactly are not sent as such (the planner sends the
  range instead, when the API takes one), and ``!=`` is sent only when the format is as fine as the field.

On a *coarse* format (the field can hold values between its grid points) the forms chosen are safe whether the
API compares the instant the text stands for or the whole unit it names (``updated_before=2024-03-05`` read as
"before that day" or "before that day's start"), and only ``>=`` and ``<`` on a grid value are exact. Anything
else is pushed as a superset and stays in the residual, which the connectors evaluate locally (Athena always
re-applies its constraints; AppFlow re-applies the residual). Under ``compare: text`` a bound is pushed only if
its text orders like its value (:meth:`shared.value_formats.ValueFormat.orders_as_text`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from shared.predicates import Op
from shared.value_formats import ValueFormat


@dataclass(frozen=True)
class Push:
    """Send ``op`` with ``value`` (already on the format's grid); ``exact`` when it selects exactly the predicate."""

    op: Op
    value: Any
    exact: bool


def push_bound(fmt: ValueFormat, value: Any, *, lower: bool, strict: bool, declared: Collection[Op]) -> Push | None:
    """How to send ``x > v`` / ``x >= v`` (``lower``) or ``x < v`` / ``x <= v``; None when no declared form is safe."""
    try:
        push = _choose(fmt, value, lower=lower, strict=strict, declared=declared)
    except (OverflowError, ArithmeticError):  # a bound at the edge of the representable range
        return None
    if push is None or push.value is None:
        return None
    if fmt.compare == "text" and not fmt.orders_as_text(push.value):
        return None
    return push


def push_equal(fmt: ValueFormat, values: Collection[Any], op: Op) -> tuple[bool, bool]:
    """``(pushable, exact)`` for ``eq`` / ``in`` / ``ne`` with these values."""
    if not all(fmt.lossless(v) for v in values):
        return False, False
    if op is Op.NE and fmt.coarse:  # "not this second" read as a whole second would drop its other instants
        return False, False
    return True, not fmt.coarse


def _choose(fmt: ValueFormat, value: Any, *, lower: bool, strict: bool, declared: Collection[Op]) -> Push | None:
    inclusive, exclusive = (Op.GE, Op.GT) if lower else (Op.LE, Op.LT)
    inward = 1 if lower else -1
    lossless = fmt.lossless(value)
    if lossless and not fmt.coarse:  # the field's values are on the format's grid: strict <-> inclusive exactly
        if strict:
            if exclusive in declared:
                return Push(exclusive, value, True)
            if inclusive in declared:
                nxt = fmt.step(value, inward)
                return Push(inclusive, value, False) if nxt is None else Push(inclusive, nxt, True)
            return None
        if inclusive in declared:
            return Push(inclusive, value, True)
        prev = fmt.step(value, -inward) if exclusive in declared else None
        return None if prev is None else Push(exclusive, prev, True)
    if lower:
        edge = fmt.floor(value)
        if Op.GE in declared:
            return Push(Op.GE, edge, lossless and not strict)
        prev = fmt.step(edge, -1) if Op.GT in declared else None
        return None if prev is None else Push(Op.GT, prev, False)
    if strict and lossless:
        if Op.LT in declared:
            return Push(Op.LT, value, True)
        return Push(Op.LE, value, False) if Op.LE in declared else None
    edge = fmt.ceil(value)
    if edge is None:
        return None
    if Op.LE in declared:
        return Push(Op.LE, edge, False)
    beyond = fmt.step(edge, 1) if lossless else edge
    return Push(Op.LT, beyond, False) if Op.LT in declared and beyond is not None else None
