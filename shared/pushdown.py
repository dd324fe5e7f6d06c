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

import datetime as dt
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from shared.errors import UnknownFieldError
from shared.predicates import Op, Predicate
from shared.spec.model import EntitySpec, FieldSpec, ParamSpec
from shared.values import format_timestamp


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


def format_param(value: Any, fmt: str, field_spec: FieldSpec) -> str:
    """One typed value as the API wants it in a query string."""
    if isinstance(value, dt.datetime):
        if fmt == "epoch_s":
            return str(int(value.timestamp()))
        if fmt == "epoch_ms":
            return str(int(value.timestamp() * 1000))
        if fmt == "date":
            return value.date().isoformat()
        return format_timestamp(value)
    if isinstance(value, dt.date):
        if fmt in ("iso8601", "auto") and field_spec.type.kind == "timestamp":
            return value.isoformat() + "T00:00:00Z"
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


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
    text = format_param(value, spec.format, f)
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


def _step(value: Any, kind: str, direction: int) -> Any | None:
    """The next (or previous) representable value, for turning strict bounds into inclusive ones."""
    if kind in ("int32", "int64") and isinstance(value, int):
        return value + direction
    if kind == "date" and isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value + dt.timedelta(days=direction)
    return None


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

    def approx_exact(self, spec: ParamSpec, f: FieldSpec) -> bool:
        """A timestamp sent in ``date`` format is only an approximation."""
        return spec.exact and not (f.type.kind == "timestamp" and spec.format == "date")

    def push(self, p: Predicate) -> None:
        f = self.entity.field(p.field)
        filters = f.filters
        kind = f.type.kind
        exact = False
        pushed = False
        if p.op is Op.NOT_IN:
            spec_or_none = filters.get(Op.NOT_IN)
            if spec_or_none is not None and p.value and self.put_many(spec_or_none, f, p.value):
                # SQL's NOT IN drops nulls; an API that keeps them sends more than asked: the residual decides
                pushed, exact = True, self.approx_exact(spec_or_none, f) and spec_or_none.nulls == "excluded"
        elif p.op in filters and p.op not in (Op.IN,):
            spec = filters[p.op]
            if self.put(spec, f, p.value):
                pushed, exact = True, self.approx_exact(spec, f)
        elif p.op is Op.IN and Op.IN in filters:
            spec = filters[Op.IN]
            if self.put_many(spec, f, p.value):
                pushed, exact = True, self.approx_exact(spec, f)
        elif p.op is Op.IN and Op.EQ in filters and len(p.value) == 1:
            spec = filters[Op.EQ]
            if self.put(spec, f, p.value[0]):
                pushed, exact = True, self.approx_exact(spec, f)
        elif p.op is Op.EQ and Op.IN in filters:
            spec = filters[Op.IN]
            if self.put_many(spec, f, (p.value,)):
                pushed, exact = True, self.approx_exact(spec, f)
        else:
            pushed, exact = self._push_range(p, f, kind)
        if pushed:
            self.pushed.append(p)
        if not (pushed and exact):
            self.residual.append(p)

    def _push_range(self, p: Predicate, f: FieldSpec, kind: str) -> tuple[bool, bool]:
        if p.op is Op.BETWEEN or p.op is Op.EQ or (p.op is Op.IN and f.type.is_orderable and p.value):
            if p.op is Op.BETWEEN:
                low, high, exact = p.value[0], p.value[1], True
            elif p.op is Op.EQ:
                low = high = p.value
                exact = True
            else:
                low, high, exact = min(p.value), max(p.value), len(set(p.value)) == 1
            lo_ok, lo_exact = self._bound(f, kind, low, lower=True)
            hi_ok, hi_exact = self._bound(f, kind, high, lower=False)
            return (lo_ok or hi_ok), (lo_ok and hi_ok and lo_exact and hi_exact and exact)
        if p.op in (Op.GT, Op.GE):
            return self._bound(f, kind, p.value, lower=True, strict=p.op is Op.GT)
        if p.op in (Op.LT, Op.LE):
            return self._bound(f, kind, p.value, lower=False, strict=p.op is Op.LT)
        return False, False

    def _bound(self, f: FieldSpec, kind: str, value: Any, *, lower: bool, strict: bool = False) -> tuple[bool, bool]:
        """Push one bound through whatever of ge/gt (or le/lt) the entity declares."""
        filters = f.filters
        inclusive, exclusive = (Op.GE, Op.GT) if lower else (Op.LE, Op.LT)
        direction = 1 if lower else -1
        want, other = (exclusive, inclusive) if strict else (inclusive, exclusive)
        if want in filters:
            spec = filters[want]
            return (True, self.approx_exact(spec, f)) if self.put(spec, f, value) else (False, False)
        if other in filters:
            spec = filters[other]
            if strict:  # x > v  ==  x >= next(v) for discrete types; else send x >= v (looser)
                stepped = _step(value, kind, direction)
                if stepped is not None:
                    return (True, self.approx_exact(spec, f)) if self.put(spec, f, stepped) else (False, False)
                return (True, False) if self.put(spec, f, value) else (False, False)
            stepped = _step(value, kind, -direction)  # x >= v  ==  x > prev(v); otherwise not pushable
            if stepped is not None:
                return (True, self.approx_exact(spec, f)) if self.put(spec, f, stepped) else (False, False)
        return False, False


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
        params.append((select.param, (select.join or ",").join(sources)))
    return QueryPlan(
        entity=entity.name,
        params=tuple(params),
        pushed=tuple(builder.pushed),
        residual=tuple(builder.residual),
        fields=chosen,
        parent_keys=parent_keys,
    )
