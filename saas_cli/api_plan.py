"""What reaches the SaaS API, per the spec: a scan's column domains as the shared client's predicates,
planned with the spec's ``filters`` (``shared.pushdown``). Advisory, for ``--explain`` and the demo: the
connector makes this decision itself, from the same spec, per split."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from saas_cli.sql_constraints import Domain
from saas_cli.sql_literal import predicate_text
from shared.predicates import Op, Predicate
from shared.spec.model import EntitySpec


@dataclass
class ApiPlan:
    params: list[tuple[str, str]]  # query parameters the API receives for these filters
    parents: int | None  # parent keys read instead of every parent (child entities)
    local: list[str]  # predicates the connector evaluates itself


def _typed(value: Any) -> Any:
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)  # Athena timestamps are UTC wall clocks
    return value


def domain_predicates(column: str, domain: Domain) -> list[Predicate] | None:
    """The domain as ANDed predicates, or None when it is not one of their shapes (a union of ranges)."""
    ivs = domain.intervals
    if not ivs:
        return [Predicate(column, Op.IS_NULL)] if domain.null_allowed else None
    if domain.null_allowed:
        return None
    if all(iv.low is not None and iv.low == iv.high for iv in ivs):
        values = tuple(_typed(iv.low) for iv in ivs)
        return [Predicate(column, Op.EQ, values[0])] if len(values) == 1 else [Predicate(column, Op.IN, values)]
    if (
        len(ivs) == 2
        and ivs[0].low is None
        and ivs[1].high is None
        and ivs[0].high == ivs[1].low
        and not ivs[0].high_inclusive
        and not ivs[1].low_inclusive
    ):
        return [Predicate(column, Op.NE, _typed(ivs[0].high))]
    if len(ivs) != 1:
        return None
    iv = ivs[0]
    out = []
    if iv.low is not None:
        out.append(Predicate(column, Op.GE if iv.low_inclusive else Op.GT, _typed(iv.low)))
    if iv.high is not None:
        out.append(Predicate(column, Op.LE if iv.high_inclusive else Op.LT, _typed(iv.high)))
    return out or [Predicate(column, Op.NOT_NULL)]


def api_plan(entity: EntitySpec, domains: dict[str, Domain]) -> ApiPlan:
    from shared.pushdown import plan_query

    predicates: list[Predicate] = []
    local: list[str] = []
    for column, domain in domains.items():
        if column not in entity.field_names:
            continue
        found = domain_predicates(column, domain)
        if found is None:
            local.append(f"{column} (a union of ranges)")
        else:
            predicates += found
    plan = plan_query(entity, predicates)
    local += [predicate_text(p.field, p.op.value.replace("_", " "), p.value) for p in plan.residual]
    base = set(entity.params.items())
    params = [(k, v) for k, v in plan.params if (k, v) not in base]
    parents = len(plan.parent_keys) if plan.parent_keys is not None else None
    return ApiPlan(params, parents, local)
