"""Top-N pushdown, the API side: which order to ask the API for, and for how many of the query's sort keys
its order can be trusted to be Athena's.

Athena orders text by code point, puts NULLs where the query says (``NULLS FIRST``/``LAST``) and compares
timestamps, numbers and dates by value. The API's order is trusted, key by key from the first, only where the
spec says it is the same: the field is in ``sort.fields``; for text, ``sort.collation`` is ``binary``; for a
nullable field, the API puts nulls (``sort.nulls``) where the query wants them; and only one key when the
spec declares no ``join`` for several. The keys after the first untrusted one are not sent.

The connector computes each split's top N itself in every case (``athena_connector.top_n``); the trusted keys
only let it stop reading early, so a wrong declaration costs exactness, and a missing one only time.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.spec.model import EntitySpec, SortSpec


@dataclass(frozen=True)
class SortKey:
    field: str
    ascending: bool
    nulls_first: bool

    @property
    def text(self) -> str:
        return f"{self.field} {'ASC' if self.ascending else 'DESC'} NULLS {'FIRST' if self.nulls_first else 'LAST'}"


@dataclass(frozen=True)
class SortPlan:
    """``params`` ask the API for the order of the first ``trusted`` keys; ``why`` says why not all of them."""

    params: tuple[tuple[str, str], ...]
    trusted: int
    why: str = ""


def _api_nulls_first(spec: SortSpec, ascending: bool) -> bool:
    if spec.nulls == "first":
        return True
    if spec.nulls == "last":
        return False
    return ascending == (spec.nulls == "smallest")


def _untrusted(entity: EntitySpec, spec: SortSpec, key: SortKey) -> str | None:
    """Why the API's order on ``key`` is not Athena's, or None when it is."""
    if key.field not in spec.fields:
        return f"the spec declares no API sort on '{key.field}'"
    f = entity.field(key.field)
    if f.type.kind == "string" and spec.collation != "binary":
        return f"the API compares text by '{spec.collation}', Athena by code point"
    if f.nullable and _api_nulls_first(spec, key.ascending) != key.nulls_first:
        where = "first" if key.nulls_first else "last"
        return f"the query wants NULLs {where} on '{key.field}', the API puts them {spec.nulls}"
    return None


def plan_sort(entity: EntitySpec, keys: tuple[SortKey, ...] | list[SortKey]) -> SortPlan:
    """The sort parameter for the longest prefix of ``keys`` whose API order is Athena's."""
    spec = entity.sort
    if not keys:
        return SortPlan((), 0)
    if spec is None:
        return SortPlan((), 0, f"the spec declares no sort for '{entity.name}'")
    trusted: list[SortKey] = []
    why = ""
    for key in keys:
        reason = _untrusted(entity, spec, key)
        if reason is None and trusted and spec.join is None:
            reason = "the API sorts by one key only (no sort.join)"
        if reason is not None:
            why = reason
            break
        trusted.append(key)
    if not trusted:
        return SortPlan((), 0, why)
    texts = [(spec.asc if k.ascending else spec.desc).replace("{field}", spec.fields[k.field]) for k in trusted]
    value = (spec.join or ",").join(texts)
    return SortPlan(((spec.param, value),), len(trusted), why)
