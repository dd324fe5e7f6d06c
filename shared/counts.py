"""How many records match a set of predicates, asked of the API as the entity's ``count`` declares.

Split sizing (``shared.split_sizing``) probes counts to cut a read into pieces of bounded work. A count is
what the API would send for the *pushed* predicates; predicates it cannot filter (the residual) do not
shrink it, which is right for sizing: a split's work is the records it reads, not the ones it keeps.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from shared.deadline import Deadline
from shared.errors import SaaSResponseError
from shared.paths import compile_path
from shared.predicates import Predicate
from shared.spec.model import EntitySpec
from shared.transport import Call, TransportStats

if TYPE_CHECKING:
    from shared.client import SaaSClient


def parse_count(value: Any) -> int | None:
    """A non-negative integer from a body value or header text, else None (the one rule for API totals)."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def can_count(entity: EntitySpec) -> bool:
    return entity.count is not None


def count_matching(client: SaaSClient, entity: EntitySpec, predicates: Sequence[Predicate], deadline: Deadline) -> int:
    """The API's count of ``entity`` records matching the pushable part of ``predicates`` (one request).

    Raises SaaSResponseError when the answer holds no count where the spec says it is: a wrong
    declaration must be loud, not a silently unsized plan.
    """
    spec = entity.count
    if spec is None:
        raise ValueError(f"entity '{entity.name}' declares no count")
    params = list(client.plan(entity.name, list(predicates)).params)
    if spec.kind == "endpoint":
        assert spec.path is not None
        call = Call("GET", spec.path, params=[*params, *spec.params.items()], entity=entity.name)
    else:
        call = Call("GET", entity.path, params=params, entity=entity.name, page=1)
        client.paginator(entity.name).first(call, 1)
    if "prepare_request" in entity.hooks:
        client.hook(entity.hooks["prepare_request"])(call, settings=client.settings)
    body, response = client.transport.json(call, deadline, TransportStats())
    if spec.kind == "total_header":
        raw = response.headers.get(str(spec.header))
        where = f"header {spec.header}"
    else:
        raw = compile_path(str(spec.total_path))(body)
        where = f"body path '{spec.total_path}'"
    count = parse_count(raw)
    if count is None:
        raise SaaSResponseError(
            f"the count declared at {where} is {str(raw)[:40]!r}, not a non-negative integer "
            "(check the entity's 'count' declaration)",
            entity=entity.name,
        )
    return count
