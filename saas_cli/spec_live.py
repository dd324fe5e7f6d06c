"""``spec lint --live``: after the static checks, a few requests per entity against the configured API.

What only the API can tell: whether the records path resolves, whether the declared fields are there with values
that fit their types, whether pagination advances (and does not end a full page without a way on, see
``shared.truncation``), and whether every declared filter narrows. The last matters because many APIs treat an
unknown parameter as no filter at all: a misspelt filter then returns every record, and since pushed exact
filters are not re-applied, the connectors would return them all. Each filter is probed with one request whose
value comes from the sampled records, chosen so that some sampled records do not match; a record coming back
that does not match means the API ignored (or differently applied) the parameter.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shared.bounds import push_bound
from shared.client import SaaSClient
from shared.errors import SaaSConnectorError
from shared.paths import compile_path, has_path
from shared.predicates import Op, Predicate, matches
from shared.pushdown import value_format
from shared.records import Extractor
from shared.spec.model import EntitySpec, FieldSpec
from shared.tokens import key_hash
from shared.values import CoercionError, coerce

SAMPLE = 20  # records per request: enough to choose filter values that some records do not match
PROBE_OPS = (Op.EQ, Op.IN, Op.NE, Op.GE, Op.GT, Op.LE, Op.LT, Op.IS_NULL, Op.NOT_NULL)


@dataclass
class Finding:
    ok: bool
    text: str
    warning: bool = False


@dataclass
class EntityReport:
    entity: str
    findings: list[Finding] = field(default_factory=list)
    requests: int = 0

    def good(self, text: str) -> None:
        self.findings.append(Finding(True, text))

    def bad(self, text: str) -> None:
        self.findings.append(Finding(False, text))

    def warn(self, text: str) -> None:
        self.findings.append(Finding(True, text, warning=True))

    @property
    def failed(self) -> bool:
        return any(not f.ok for f in self.findings)


def check_live(client: SaaSClient) -> list[EntityReport]:
    """One report per entity; nothing raised for what the API answers (each problem is a finding)."""
    reports = []
    for entity in client.spec.entities:
        report = EntityReport(entity.name)
        try:
            _check_entity(client, entity, report)
        except SaaSConnectorError as exc:
            report.bad(str(exc))
        reports.append(report)
    return reports


def _check_entity(client: SaaSClient, entity: EntitySpec, report: EntityReport) -> None:
    base: list[Predicate] = []
    if entity.parent is not None:
        parent_key = _a_parent_key(client, entity, report)
        if parent_key is None:
            report.warn(f"not checked: the parent '{entity.parent.entity}' has no records to read it through")
            return
        base = [parent_key]
    plan = client.plan(entity.name, base)
    page = client.fetch_page(plan, None, SAMPLE)
    report.requests += 1
    records = page.records
    where = f"'{entity.records}'" if entity.records else "the top level"
    if not records:
        report.warn(f"records at {where} resolve, but the first page is empty: nothing else can be checked")
        return
    report.good(f"records at {where}: {len(records)} on the first page")
    _check_fields(entity, records, report)
    if page.next_token is None:
        report.good(f"pagination: one page holds every record ({len(records)} < {SAMPLE} or the API said so)")
    else:
        second = client.fetch_page(plan, page.next_token, SAMPLE)
        report.requests += 1
        keys = _keys(entity)
        first_keys = {keys(r) for r in records}
        repeated = sum(keys(r) in first_keys for r in second.records)
        if not second.records:
            report.warn("pagination: the second page is empty although the first gave a way to continue")
        elif repeated == len(second.records):
            report.bad("pagination does not advance: the second page repeats the first page's records")
        else:
            report.good(f"pagination advances: page 2 has {len(second.records)} more records")
    typed = [Extractor(entity).typed_row(r) for r in records]
    for f in entity.fields:
        for op in f.filters:
            if entity.parent is not None and f.name in entity.parent.fields:
                continue
            _check_filter(client, entity, f, op, typed, base, report)


def _a_parent_key(client: SaaSClient, entity: EntitySpec, report: EntityReport) -> Predicate | None:
    assert entity.parent is not None
    parent = client.entity(entity.parent.entity)
    page = client.fetch_page(client.plan(parent.name), None, 1)
    report.requests += 1
    if not page.records:
        return None
    child_field, parent_field = next(iter(entity.parent.fields.items()))
    value = compile_path(parent.field(parent_field).path)(page.records[0])
    return Predicate(child_field, Op.EQ, coerce(value, entity.field(child_field).type))


def _keys(entity: EntitySpec) -> Callable[[dict[str, Any]], str]:
    if entity.primary_key:
        getters = [compile_path(entity.field(k).path) for k in entity.primary_key]
        return lambda r: key_hash([g(r) for g in getters])
    return lambda r: key_hash(sorted(r.items(), key=lambda kv: kv[0]))


def _check_fields(entity: EntitySpec, records: list[dict[str, Any]], report: EntityReport) -> None:
    absent, wrong = [], []
    for f in entity.fields:
        if not any(has_path(r, f.path) for r in records):
            absent.append(f.name if f.path == f.name else f"{f.name} ({f.path})")
            continue
        get = compile_path(f.path)
        for r in records:
            try:
                value = coerce(get(r), f.type)
            except CoercionError as exc:
                wrong.append(f"{f.name}: {exc}")
                break
            if value is None and not f.nullable:
                wrong.append(f"{f.name}: null in a field declared nullable: false")
                break
    present = len(entity.fields) - len(absent)
    if wrong:
        for text in wrong:
            report.bad(f"field {text}")
    if absent:
        report.warn(f"fields absent from every sampled record (wrong path, or never set): {', '.join(absent)}")
    if not wrong:
        report.good(f"fields: {present} of {len(entity.fields)} present in the sample, every value fits its type")


def _probe_value(op: Op, values: list[Any]) -> Any:
    """A value for ``op`` that some sampled records match and some do not (None: no such value)."""
    present = [v for v in values if v is not None]
    if op in (Op.IS_NULL, Op.NOT_NULL):
        return None
    if not present:
        return _NO_VALUE
    if op in (Op.EQ, Op.IN, Op.NE):
        counts = Counter(repr(v) for v in present)
        for value in present:
            if counts[repr(value)] < len(values):
                return (value,) if op is Op.IN else value
        return _NO_VALUE
    try:
        ordered = sorted(set(present))
    except TypeError:
        return _NO_VALUE
    if len(ordered) < 2:
        return _NO_VALUE
    return ordered[len(ordered) // 2]


_NO_VALUE = object()


def _show(value: Any) -> str:
    """A probe value as a user writes it: dates and timestamps in ISO 8601, tuples as lists."""
    if isinstance(value, tuple):
        return "(" + ", ".join(_show(v) for v in value) + ")"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return repr(value)


def _check_filter(
    client: SaaSClient,
    entity: EntitySpec,
    f: FieldSpec,
    op: Op,
    sample: list[dict[str, Any]],
    base: list[Predicate],
    report: EntityReport,
) -> None:
    label = f"filter {f.name} {op.value} (?{f.filters[op].param})"
    value = _probe_value(op, [r[f.name] for r in sample])
    if value is _NO_VALUE:
        report.warn(f"{label}: not probed (the sample has no value that only some records match)")
        return
    predicate = Predicate(f.name, op, value)
    plan = client.plan(entity.name, [*base, predicate])
    if predicate not in plan.pushed:
        report.warn(f"{label}: not pushed for a probe value of {value!r}")
        return
    page = client.fetch_page(plan, None, SAMPLE)
    report.requests += 1
    got = [Extractor(entity).typed_row(r) for r in page.records]
    stray = [r for r in got if not matches(r, [_as_sent(f, predicate)])]
    expected_in_sample = sum(matches(r, [predicate]) for r in sample)
    shown = f"{op.value} {_show(value)}" if op not in (Op.IS_NULL, Op.NOT_NULL) else op.value
    if stray and f.filters[op].exact:
        report.bad(
            f"{label}: the API ignored it or applies it differently: {len(stray)} of {len(got)} records returned "
            f"for {f.name} {shown} do not match (e.g. {f.name} = {_show(stray[0][f.name])}); check the parameter name "
            "and format in the API's documentation"
        )
    elif stray:
        report.good(f"{label}: narrows loosely, as declared (exact: false): the connector finishes it")
    elif not got and expected_in_sample:
        report.bad(
            f"{label}: no records for {f.name} {shown} although {expected_in_sample} sampled record(s) match "
            "(a wrong value format?)"
        )
    else:
        report.good(f"{label}: narrows ({len(got)} record(s) for {f.name} {shown}, all matching)")


_RANGE = {Op.GT: (True, True), Op.GE: (True, False), Op.LT: (False, True), Op.LE: (False, False)}


def _as_sent(f: FieldSpec, predicate: Predicate) -> Predicate:
    """The predicate the API is asked for: a bound the filter's format cannot write exactly is widened to the
    format's grid (``shared.bounds``), so records between the two are the connector's to drop, not a sign of an
    ignored filter."""
    if predicate.op not in _RANGE:
        return predicate
    lower, strict = _RANGE[predicate.op]
    spec = f.filters[predicate.op]
    push = push_bound(value_format(spec, f), predicate.value, lower=lower, strict=strict, declared=(predicate.op,))
    return predicate if push is None else Predicate(f.name, push.op, push.value)
