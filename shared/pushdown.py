"""Translate predicates into the query parameters an entity declares; return what is left over.

Pushed predicates narrow what the API sends; the residual is what the caller must still evaluate.
A predicate pushed only approximately (``gt`` sent as an inclusive ``ge``, ``in`` sent as a range)
stays in the residual, so the final answer is exact whatever the API does.

A value is pushed only if the API cannot misread it (:func:`param_text`): an API splits ``status=customer,lead``
on the comma, expands ``*`` or ``%``, trims spaces, or rejects an empty value, and would then send records the
filter excludes and, worse, leave out the ones it wants (a record whose status is exactly ``customer,lead``).
Such a value is escaped as the filter declares (``escape``) or not pushed at all: it stays in the residual and
is evaluated locally over the unfiltered read.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any

from shared.bounds import push_bound, push_equal
from shared.errors import UnknownFieldError
from shared.predicates import Op, Predicate
from shared.spec.model import EntitySpec, FieldSpec, ParamSpec
from shared.spec.projection import projection_params
from shared.value_formats import ValueFormat, default_format


@dataclass(frozen=True)
class QueryPlan:
    """What one read asks the API for, and what the caller must still check itself."""

    entity: str
    params: tuple[tuple[str, str], ...]
    pushed: tuple[Predicate, ...]
    residual: tuple[Predicate, ...]
    fields: tuple[str, ...]
    parent_keys: tuple[dict[str, Any], ...] | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def predicates(self) -> tuple[Predicate, ...]:
        seen = list(self.pushed)
        return tuple(seen + [p for p in self.residual if p not in seen])


def value_format(spec: ParamSpec, f: FieldSpec) -> ValueFormat:
    """How ``spec`` writes values of ``f`` (the loader resolves it; ``auto`` when built by hand)."""
    return spec.written or default_format(f.type.kind, f.type.scale)


def format_param(value: Any, spec: ParamSpec, f: FieldSpec) -> str:
    """One typed value as the API wants it in a query string: the one writer of every pushed value."""
    return value_format(spec, f).write(value)


DEFAULT_RESERVED = ",;*%?\\"
"""Characters many filter syntaxes give meaning to (list separators, wildcards, escapes): reserved unless the
filter declares its own ``reserved`` set."""


def param_text(value: Any, spec: ParamSpec, f: FieldSpec) -> str | None:
    """``value`` as the API should read it in ``spec``'s parameter, or None when it cannot be sent unambiguously.

    Refused: empty text, leading or trailing white space, control and other non-printing characters, text that
    is not in Unicode NFC (an API may normalise either side), and reserved characters when the filter declares
    no ``escape``. Reserved are ``spec.reserved`` (default :data:`DEFAULT_RESERVED`), every ``join`` separator
    declared for the same parameter of the field, and the escape character itself.
    """
    try:
        text = format_param(value, spec, f)
    except (ValueError, TypeError, ArithmeticError, OverflowError):  # a value the format cannot write: not pushed
        return None
    if text == "" or text != text.strip() or not unicodedata.is_normalized("NFC", text):
        return None
    if any(unicodedata.category(ch)[0] in "CZ" and ch != " " for ch in text):
        return None
    reserved = set(DEFAULT_RESERVED if spec.reserved is None else spec.reserved)
    reserved |= {s.join for s in f.filters.values() if s.param == spec.param and s.join}
    if spec.escape:
        reserved.add(spec.escape)
    if not reserved.isdisjoint(text):
        if not spec.escape:
            return None
        text = "".join(spec.escape + ch if ch in reserved else ch for ch in text)
    return text


class _Builder:
    def __init__(self, entity: EntitySpec) -> None:
        self.entity = entity
        self.params: list[tuple[str, str]] = []
        self.used: set[str] = set()
        self.pushed: list[Predicate] = []
        self.residual: list[Predicate] = []

    def put(self, spec: ParamSpec, f: FieldSpec, value: Any) -> bool:
        if spec.param in self.used:
            return False
        text = spec.value if spec.value is not None else param_text(value, spec, f)
        if text is None:
            return False
        self.used.add(spec.param)
        self.params.append((spec.param, text))
        return True

    def put_many(self, spec: ParamSpec, f: FieldSpec, values: tuple[Any, ...]) -> bool:
        if spec.param in self.used:
            return False
        each = [param_text(v, spec, f) for v in values]
        if any(t is None for t in each):  # sending the others alone would lose the records of this one
            return False
        self.used.add(spec.param)
        texts = sorted({t for t in each if t is not None})
        if spec.join is None:
            self.params.extend((spec.param, t) for t in texts)
        else:
            self.params.append((spec.param, spec.join.join(texts)))
        return True

    def equal_ok(self, spec: ParamSpec, f: FieldSpec, values: tuple[Any, ...], op: Op) -> tuple[bool, bool]:
        """Whether ``eq``/``in``/``ne`` with these values can be sent as such, and exactly (shared.bounds)."""
        ok, exact = push_equal(value_format(spec, f), values, op)
        return ok, exact and spec.exact

    def push(self, p: Predicate) -> None:
        f = self.entity.field(p.field)
        filters = f.filters
        pushed, exact = False, False
        if p.op in (Op.IS_NULL, Op.NOT_NULL):
            if p.op in filters and self.put(filters[p.op], f, p.value):
                pushed, exact = True, filters[p.op].exact
        else:
            for op, values in _equality_forms(p, filters):
                ok, ok_exact = self.equal_ok(filters[op], f, values, p.op if p.op is Op.NE else op)
                if ok:  # the first declared form that can write the values; a value it cannot stays local
                    sent = self.put_many(filters[op], f, values) if op is Op.IN else self.put(filters[op], f, values[0])
                    pushed, exact = sent, sent and ok_exact
                    break
            else:
                pushed, exact = self._push_range(p, f)
        if pushed:
            self.pushed.append(p)
        if not (pushed and exact):
            self.residual.append(p)

    def _push_range(self, p: Predicate, f: FieldSpec) -> tuple[bool, bool]:
        if p.op is Op.BETWEEN or p.op is Op.EQ or (p.op is Op.IN and f.type.is_orderable and p.value):
            if p.op is Op.BETWEEN:
                low, high, exact = p.value[0], p.value[1], True
            elif p.op is Op.EQ:
                low = high = p.value
                exact = True
            else:
                low, high, exact = min(p.value), max(p.value), len(set(p.value)) == 1
            lo_ok, lo_exact = self._bound(f, low, lower=True)
            hi_ok, hi_exact = self._bound(f, high, lower=False)
            return (lo_ok or hi_ok), (lo_ok and hi_ok and lo_exact and hi_exact and exact)
        if p.op in (Op.GT, Op.GE):
            return self._bound(f, p.value, lower=True, strict=p.op is Op.GT)
        if p.op in (Op.LT, Op.LE):
            return self._bound(f, p.value, lower=False, strict=p.op is Op.LT)
        return False, False

    def _bound(self, f: FieldSpec, value: Any, *, lower: bool, strict: bool = False) -> tuple[bool, bool]:
        """Push one bound through whatever of ge/gt (or le/lt) the field declares, widened to what the
        declared format can write (shared.bounds): an exact form first, else the first safe superset."""
        inclusive, exclusive = (Op.GE, Op.GT) if lower else (Op.LE, Op.LT)
        order = (exclusive, inclusive) if strict else (inclusive, exclusive)
        candidates = []
        for op in order:
            if op in f.filters:
                spec = f.filters[op]
                push = push_bound(value_format(spec, f), value, lower=lower, strict=strict, declared=(op,))
                if push is not None:
                    candidates.append((spec, push))
        if not candidates:
            return False, False
        spec, push = next(((s, c) for s, c in candidates if c.exact), candidates[0])
        if not self.put(spec, f, push.value):
            return False, False
        return True, push.exact and spec.exact


def _equality_forms(p: Predicate, filters: dict[Op, ParamSpec]) -> list[tuple[Op, tuple[Any, ...]]]:
    """The declared equality operators that can carry ``p``, preferred first, with the values to send."""
    if p.op in (Op.EQ, Op.NE) and p.op in filters:
        return [(p.op, (p.value,))]
    if p.op is Op.IN and Op.IN in filters:
        return [(Op.IN, p.value)]
    if p.op is Op.IN and Op.EQ in filters and len(p.value) == 1:
        return [(Op.EQ, p.value)]
    if p.op is Op.EQ and Op.IN in filters:
        return [(Op.IN, (p.value,))]
    return []


_LOWER = {Op.GE: False, Op.GT: True}  # op -> strict
_UPPER = {Op.LE: False, Op.LT: True}


def tightest_first(predicates: list[Predicate] | tuple[Predicate, ...]) -> list[Predicate]:
    """The same predicates, with the tightest lower and upper bound per field first.

    Two bounds on one side of a field map to the same API parameter and only one can be sent; sending
    the tightest is exact for both (e.g. a query's ``t > Jan`` and a split's ``t >= Mar``). The others
    stay in the list and end up in the residual.
    """
    best: dict[tuple[str, str], Predicate] = {}
    for p in predicates:
        side = "low" if p.op in _LOWER else "high" if p.op in _UPPER else None
        if side is None:
            continue
        current = best.get((p.field, side))
        try:
            tighter = current is None or (
                (p.value > current.value) == (side == "low") if p.value != current.value else (_LOWER | _UPPER)[p.op]
            )
        except TypeError:
            continue  # incomparable values: keep the original order
        if tighter:
            best[(p.field, side)] = p
    first = list(best.values())
    return first + [p for p in predicates if p not in first]


def plan_query(
    entity: EntitySpec,
    predicates: list[Predicate] | tuple[Predicate, ...] = (),
    fields: list[str] | tuple[str, ...] | None = None,
) -> QueryPlan:
    """Decide which predicates go to the API as parameters; unknown fields raise a clear error."""
    names = set(entity.field_names)
    for p in predicates:
        if p.field not in names:
            raise UnknownFieldError(
                f"entity '{entity.name}' has no field '{p.field}' (fields: {', '.join(entity.field_names)})"
            )
    chosen = tuple(fields) if fields else entity.field_names
    for name in chosen:
        if name not in names:
            raise UnknownFieldError(
                f"entity '{entity.name}' has no field '{name}' (fields: {', '.join(entity.field_names)})"
            )
    builder = _Builder(entity)
    parent_keys = None
    parent_fields = entity.parent.fields if entity.parent else {}
    for p in tightest_first(predicates):
        if p.field in parent_fields and p.op in (Op.EQ, Op.IN) and parent_keys is None:
            values = (p.value,) if p.op is Op.EQ else p.value
            parent_keys = tuple({parent_fields[p.field]: v} for v in sorted(set(values), key=repr))
            builder.pushed.append(p)
            continue
        builder.push(p)
    params = list(entity.params.items()) + builder.params
    if entity.select_param is not None and fields:
        select = entity.select_param
        sources = sorted({entity.field(n).path.split(".")[0].split("[")[0] for n in chosen} | set(entity.primary_key))
        params.extend(projection_params(select, sources))
    return QueryPlan(
        entity=entity.name,
        params=tuple(params),
        pushed=tuple(builder.pushed),
        residual=tuple(builder.residual),
        fields=chosen,
        parent_keys=parent_keys,
    )
