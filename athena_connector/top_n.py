"""Top-N per split (``ORDER BY ... LIMIT n`` pushed by Athena): a bounded heap over the filtered pages.

Every split answers its true first ``n`` rows under Athena's ordering: NULLs first or last as each key says,
text by code point, NaN above every other number, timestamps by instant. After each page the rows kept so far
and the page's rows are sorted together (pyarrow, per-key NULL and NaN groups as explicit sort keys) and the
first ``n`` kept, so memory holds at most ``n`` rows and a page. With ties at the n-th row any of the tied
rows is a correct answer, as in SQL.

Reading stops early only where the API's order is trusted (``shared.sort_pushdown``): with every key trusted,
once ``n`` rows are kept (no later row can come before them); with the first ``k`` keys trusted, once the last
row read is strictly after the n-th kept row on those keys. The order of what arrives is checked as it is
read: a row out of the declared order (a misdeclared spec, an API that ignored the sort parameter) withdraws
the trust, and the split is read to its end.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from athena_connector.filtering import comparable
from athena_connector.wire import OrderByField

log = logging.getLogger(__name__)

MAX_HEAP_ROWS = 100_000
"""Above this LIMIT the split returns every filtered row instead (a superset the engine still orders and
limits): a heap of more rows would hold more memory than streaming the rows to S3 does."""


def _nested(t: pa.DataType) -> bool:
    return pa.types.is_nested(t) or pa.types.is_map(t)


def applicable(order_by: Sequence[OrderByField], limit: int, types: dict[str, pa.DataType]) -> bool:
    """Whether a per-split top-N can be computed (orderable key columns, a LIMIT the heap can hold)."""
    if not order_by or limit < 0 or limit > MAX_HEAP_ROWS:
        return False
    return all(o.column_name in types and not _nested(types[o.column_name]) for o in order_by)


@functools.total_ordering
class _Desc:
    """A value compared in reverse (descending keys in Python tuples)."""

    __slots__ = ("v",)

    def __init__(self, v: Any) -> None:
        self.v = v

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and self.v == other.v

    __hash__ = None  # type: ignore[assignment]

    def __lt__(self, other: _Desc) -> bool:
        return bool(other.v < self.v)


def _nan(v: Any) -> bool:
    return isinstance(v, float) and math.isnan(v)


class TopN:
    def __init__(self, order_by: Sequence[OrderByField], limit: int, trusted: int) -> None:
        self.order_by = tuple(order_by)
        self.limit = limit
        self.trusted = trusted
        self.kept: pa.Table | None = None
        self.order_broken = False
        self._last: tuple[Any, ...] | None = None  # prefix key of the last row read, in the API's order

    # -- keys -----------------------------------------------------------------------------------
    def _python_keys(self, batch: pa.RecordBatch | pa.Table, count: int) -> list[tuple[Any, ...]]:
        """Each row's first ``count`` keys as comparable tuples, in Athena's order."""
        columns = [comparable(pa.array(batch.column(o.column_name))).to_pylist() for o in self.order_by[:count]]
        keys = []
        for row in zip(*columns, strict=True) if columns else []:
            key: list[Any] = []
            for value, o in zip(row, self.order_by, strict=False):
                if value is None:
                    part: tuple[Any, ...] = (0,) if o.direction.nulls_first else (2,)
                else:
                    inner = (1, 0) if _nan(value) else (0, value)
                    part = (1, inner if o.direction.ascending else _Desc(inner))
                key.append(part)
            keys.append(tuple(key))
        return keys

    def _sorted(self, table: pa.Table) -> pa.Table:
        keys: dict[str, pa.Array] = {}
        sort_keys: list[tuple[str, str]] = []
        for i, o in enumerate(self.order_by):
            column = table.column(o.column_name).combine_chunks()
            values = comparable(column)
            keys[f"n{i}"] = pc.is_null(column)
            sort_keys.append((f"n{i}", "descending" if o.direction.nulls_first else "ascending"))
            order = "ascending" if o.direction.ascending else "descending"
            if pa.types.is_floating(values.type):
                keys[f"nan{i}"] = pc.fill_null(pc.is_nan(values), False)
                sort_keys.append((f"nan{i}", order))
            keys[f"v{i}"] = values
            sort_keys.append((f"v{i}", order))
        indices = pc.sort_indices(pa.table(keys), sort_keys=sort_keys)
        return table.take(indices.slice(0, self.limit))

    # -- reading ----------------------------------------------------------------------------------
    def add(self, batch: pa.RecordBatch) -> None:
        """One page's filtered rows, in the order the API returned them."""
        if batch.num_rows == 0:
            return
        if self.trusted and not self.order_broken:
            self._check_order(batch)
        page = pa.Table.from_batches([batch])
        combined = page if self.kept is None else pa.concat_tables([self.kept, page])
        self.kept = self._sorted(combined)

    def _check_order(self, batch: pa.RecordBatch) -> None:
        keys = self._python_keys(batch, self.trusted)
        previous = self._last
        for key in keys:
            if previous is not None and key < previous:
                self.order_broken = True
                log.warning(
                    "the API returned rows out of the requested order (%s): its order is not trusted for this "
                    "split, which is read to its end",
                    ", ".join(f"{o.column_name} {o.direction.value}" for o in self.order_by[: self.trusted]),
                )
                return
            previous = key
        self._last = previous

    @property
    def done(self) -> bool:
        """No row still to come can be among the first ``limit`` (only under a trusted order)."""
        if not self.trusted or self.order_broken or self.kept is None or self.kept.num_rows < self.limit:
            return False
        if self.trusted == len(self.order_by):
            return True
        worst = self._python_keys(self.kept.slice(self.kept.num_rows - 1), self.trusted)[0]
        return self._last is not None and self._last > worst

    def result(self) -> list[pa.RecordBatch]:
        return [] if self.kept is None else self.kept.to_batches()
