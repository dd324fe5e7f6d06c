"""Counting filtered records without scanning: sorted core values of the generated rows, built on first use.

Split planning asks "how many match?" many times over narrowing windows; a scan over the cores of two million
generated rows takes seconds, a bisection over a sorted column microseconds. Two query shapes are indexed,
the ones count probes send: range conditions on one timestamp core field (no id bounds), and one enum
``in`` or ``not_in`` condition with or without id bounds. Anything else returns None and the table scans as before.

The base rows never change (record ``i`` is a pure function of the seed), so the index is built once; the
few written, mutated or deleted records are corrected for at count time.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from typing import Any

from .filters import Query

_LOWER = {"ge": bisect_left, "gt": bisect_right}
_UPPER = {"lt": bisect_left, "le": bisect_right}


class CountIndex:
    def __init__(self, gen: Any, base_count: int) -> None:
        self.gen = gen
        self.base_count = base_count
        self._ranges: dict[str, array] = {}
        self._enums: dict[str, dict[Any, array]] = {}

    def base_count_of(self, query: Query) -> int | None:
        """How many *generated* rows (ids 1..base_count, ignoring writes) match ``query``; None if not indexed."""
        conditions = query.conditions
        fields = {c.field for c in conditions}
        if len(fields) != 1:
            return None
        (name,) = fields
        idx = self.gen.core_fields.get(name)
        if idx is None:
            return None
        if all(c.kind == "timestamp" and c.op in ("ge", "gt", "lt", "le") for c in conditions):
            if query.id_min is not None or query.id_max is not None:
                return None
            values = self._range(name, idx)
            lo, hi = 0, len(values)
            for c in conditions:
                if c.op in _LOWER:
                    lo = max(lo, _LOWER[c.op](values, c.value))
                else:
                    hi = min(hi, _UPPER[c.op](values, c.value))
            return max(0, hi - lo)
        if len(conditions) == 1 and conditions[0].op in ("in", "not_in") and conditions[0].kind == "enum":
            by_value = self._enum(name, idx)
            low = max(query.id_min or 1, 1)
            high = query.id_max if query.id_max is not None else self.base_count
            if low > high:
                return 0
            total = 0
            chosen = conditions[0].value
            wanted = chosen if conditions[0].op == "in" else [v for v in by_value if v not in chosen]
            for value in wanted:
                ids = by_value.get(value)
                if ids is not None:
                    total += bisect_right(ids, high) - bisect_left(ids, low)
            return total
        return None

    def _range(self, name: str, idx: int) -> array:
        values = self._ranges.get(name)
        if values is None:
            core = self.gen.core
            values = self._ranges[name] = array("q", sorted(core(i)[idx] for i in range(1, self.base_count + 1)))
        return values

    def _enum(self, name: str, idx: int) -> dict[Any, array]:
        by_value = self._enums.get(name)
        if by_value is None:
            by_value = {}
            core = self.gen.core
            for i in range(1, self.base_count + 1):
                by_value.setdefault(core(i)[idx], array("q")).append(i)
            self._enums[name] = by_value
        return by_value
