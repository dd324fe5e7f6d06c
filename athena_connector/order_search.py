"""What a read adds to its API request for ORDER BY ... LIMIT and LIKE: the sort and search parameters.

Both only narrow or reorder what the API sends; exactness never depends on them: the LIKE is applied to every
row (``filtering.RowFilter``) and the top N is computed per split (``top_n.TopN``). The sort parameter decides
only how early the read may stop (``shared.sort_pushdown``); the search term always selects a superset
(``shared.search_pushdown``). ``--explain`` shows the same decision (``describe``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pyarrow as pa

from athena_connector import top_n
from athena_connector.expressions import like_terms
from athena_connector.wire import Constraints
from shared.pushdown import QueryPlan
from shared.search_pushdown import plan_search
from shared.sort_pushdown import SortKey, SortPlan, plan_sort
from shared.spec.model import EntitySpec


@dataclass(frozen=True)
class OrderSearch:
    """The extra parameters, the top-N to compute (None: no ORDER BY ... LIMIT the read can apply), and why."""

    params: tuple[tuple[str, str], ...]
    sort: SortPlan | None
    top_limit: int | None
    notes: tuple[str, ...]

    def apply(self, plan: QueryPlan) -> QueryPlan:
        return replace(plan, params=plan.params + self.params) if self.params else plan


def sort_keys(constraints: Constraints) -> tuple[SortKey, ...]:
    return tuple(SortKey(o.column_name, o.direction.ascending, o.direction.nulls_first) for o in constraints.order_by)


def order_search(
    entity: EntitySpec, constraints: Constraints, types: dict[str, pa.DataType], used: set[str]
) -> OrderSearch:
    """Sort and search parameters for this read; ``used`` are the parameter names the plan already sends."""
    notes: list[str] = []
    params: list[tuple[str, str]] = []
    taken = set(used)
    likes = like_terms(constraints.expression)
    if likes:
        search = plan_search(entity, likes, taken)
        params += search.params
        taken |= {k for k, _ in search.params}
        notes += search.notes
    sort = None
    top_limit = None
    if constraints.order_by and constraints.has_limit:
        if top_n.applicable(constraints.order_by, constraints.limit, types):
            top_limit = constraints.limit
            sort = plan_sort(entity, sort_keys(constraints))
            if sort.params and sort.params[0][0] in taken:
                sort = SortPlan((), 0, f"the sort parameter '{sort.params[0][0]}' is already used by a filter")
            params += sort.params
            keys = ", ".join(k.text for k in sort_keys(constraints))
            if sort.trusted == len(constraints.order_by):
                notes.append(
                    f"top-N: the API sorts ({' '.join(f'{k}={v}' for k, v in sort.params)}); each split stops "
                    f"after {top_limit} matching rows"
                )
            elif sort.trusted:
                notes.append(
                    f"top-N: the API sorts by the first {sort.trusted} key(s) "
                    f"({' '.join(f'{k}={v}' for k, v in sort.params)}); the rest ({sort.why}) is ordered by the "
                    f"connector, which stops once no later row can enter the top {top_limit}"
                )
            else:
                notes.append(
                    f"top-N: computed by the connector over each split's pages (a bounded heap of {top_limit} "
                    f"rows, ORDER BY {keys}): {sort.why}"
                )
        else:
            notes.append(
                f"top-N: not applied per split (LIMIT above {top_n.MAX_HEAP_ROWS} or an unorderable key); "
                "every matching row is returned and Athena orders them"
            )
    return OrderSearch(tuple(params), sort, top_limit, tuple(notes))
