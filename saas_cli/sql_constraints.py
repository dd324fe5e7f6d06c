"""WHERE clause -> the constraints Athena sends a connector for one scan.

Like Trino's domain translation: the conjuncts (ANDed parts) of the WHERE clause, and of the ON clauses of
inner joins, that compare one column of this scan with literals become a per-column *domain* (sorted ranges
plus "null allowed"), intersected per column; an OR of such comparisons on the same column is their union.
``=``, ``<>``, ``<``, ``<=``, ``>``, ``>=``, ``BETWEEN``, ``IN``, ``NOT IN``, ``IS [NOT] NULL`` and ``NOT`` of these
are understood; ``LIKE`` (with ``NOT``/``AND``/``OR`` over it) becomes a complex expression when the connector
advertises the functions (``sql_like``); anything else (functions of a column, two columns, ORs across
columns, subqueries) stays with the engine. Domains become the wire layer's ValueSets: a SortedRangeSet for
orderable types, an AllOrNoneValueSet for nullness of nested types. Literals are converted to the column's
type; one that cannot be converted exactly leaves its conjunct to the engine.

LIMIT goes to the connector when it advertises ``supports_limit_pushdown``, the query is a plain single-table
SELECT without ORDER BY, and every WHERE conjunct became a constraint; ORDER BY ... LIMIT likewise when it
advertises ``supports_top_n_pushdown``. The engine (DuckDB) always evaluates the complete query afterwards.
"""

from __future__ import annotations

import datetime as dt
import decimal
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from sqlglot import exp

from athena_connector.wire import (
    AllOrNoneValueSet,
    ArrowType,
    Constraints,
    OrderByField,
    Range,
    SortDirection,
    SortedRangeSet,
    ValueSet,
)
from saas_cli.sql_fold import fold
from saas_cli.sql_like import NotAnExpression, advertised_functions, like_expression
from saas_cli.sql_scans import ParsedQuery, Scan, direct_tables

FILTER_PUSHDOWN = "supports_filter_pushdown"
LIMIT_PUSHDOWN = "supports_limit_pushdown"
TOP_N_PUSHDOWN = "supports_top_n_pushdown"


class NotPushable(Exception):
    """Why a conjunct stays with the engine."""


# -- domains ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """``low``/``high`` None = unbounded on that side."""

    low: Any = None
    low_inclusive: bool = False
    high: Any = None
    high_inclusive: bool = False

    @property
    def is_all(self) -> bool:
        return self.low is None and self.high is None

    def is_empty(self) -> bool:
        if self.low is None or self.high is None:
            return False
        return self.low > self.high or (self.low == self.high and not (self.low_inclusive and self.high_inclusive))


ALL = Interval()


def _lower_key(iv: Interval) -> tuple[int, Any, int]:
    return (0, 0, 0) if iv.low is None else (1, iv.low, 0 if iv.low_inclusive else 1)


def _intersect(a: Interval, b: Interval) -> Interval:
    low, low_inc = a.low, a.low_inclusive
    if b.low is not None and (low is None or b.low > low or (b.low == low and not b.low_inclusive)):
        low, low_inc = b.low, b.low_inclusive
    high, high_inc = a.high, a.high_inclusive
    if b.high is not None and (high is None or b.high < high or (b.high == high and not b.high_inclusive)):
        high, high_inc = b.high, b.high_inclusive
    return Interval(low, low_inc, high, high_inc)


def _touches(a: Interval, b: Interval) -> bool:
    """Whether ``b`` (starting at or after ``a``) overlaps or adjoins ``a``."""
    if a.high is None or b.low is None:
        return True
    return b.low < a.high or (b.low == a.high and (a.high_inclusive or b.low_inclusive))


def _normalize(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    items = sorted((iv for iv in intervals if not iv.is_empty()), key=_lower_key)
    out: list[Interval] = []
    for iv in items:
        if out and _touches(out[-1], iv):
            last = out[-1]
            if last.high is None or iv.high is None:
                high, high_inc = None, False
            elif iv.high > last.high or (iv.high == last.high and iv.high_inclusive):
                high, high_inc = iv.high, iv.high_inclusive
            else:
                high, high_inc = last.high, last.high_inclusive
            out[-1] = Interval(last.low, last.low_inclusive, high, high_inc)
        else:
            out.append(iv)
    return tuple(out)


@dataclass(frozen=True)
class Domain:
    """The values a column may take: ``intervals`` (sorted, disjoint) and whether NULL passes."""

    intervals: tuple[Interval, ...]
    null_allowed: bool

    @classmethod
    def everything(cls) -> Domain:
        return cls((ALL,), True)

    def intersect(self, other: Domain) -> Domain:
        pairs = (_intersect(a, b) for a in self.intervals for b in other.intervals)
        return Domain(_normalize(pairs), self.null_allowed and other.null_allowed)

    def union(self, other: Domain) -> Domain:
        return Domain(_normalize(self.intervals + other.intervals), self.null_allowed or other.null_allowed)

    @property
    def is_everything(self) -> bool:
        return self.null_allowed and len(self.intervals) == 1 and self.intervals[0].is_all


def _points(values: list[Any]) -> Domain:
    return Domain(_normalize(Interval(v, True, v, True) for v in values), False)


def _not_points(values: list[Any]) -> Domain:
    ordered = sorted(set(values))
    bounds = [None, *ordered, None]
    return Domain(_normalize(Interval(lo, False, hi, False) for lo, hi in itertools.pairwise(bounds)), False)


# -- literals --------------------------------------------------------------------------------------------


def _literal(node: exp.Expression) -> tuple[str, Any]:
    """``(kind, value)`` of a literal: kind number | string | bool | date | timestamp."""
    if isinstance(node, exp.Paren):
        return _literal(node.this)
    if isinstance(node, exp.Neg):
        kind, value = _literal(node.this)
        if kind != "number":
            raise NotPushable("not a literal")
        return kind, "-" + value if not value.startswith("-") else value[1:]
    if isinstance(node, exp.Boolean):
        return "bool", bool(node.this)
    if isinstance(node, exp.Literal):
        return ("string", node.this) if node.is_string else ("number", str(node.this))
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal) and node.this.is_string:
        target = node.to.this
        if target == exp.DataType.Type.DATE:
            return "date", node.this.this
        if target in (exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPTZ, exp.DataType.Type.DATETIME):
            return "timestamp", node.this.this
    raise NotPushable("not a literal")


def _parse_timestamp(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.strip().replace(" UTC", "+00:00"))
    except ValueError:
        raise NotPushable(f"'{text}' is not a timestamp") from None
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    if value.microsecond % 1000:
        raise NotPushable("timestamp finer than milliseconds")
    return value


def convert(kind: str, raw: Any, data_type: pa.DataType) -> Any:
    """A literal as a value of the column's type, exactly, or NotPushable."""
    t = data_type
    if pa.types.is_boolean(t):
        if kind == "bool":
            return raw
    elif pa.types.is_integer(t):
        if kind == "number":
            number = decimal.Decimal(raw)
            if number == number.to_integral_value():
                return int(number)
    elif pa.types.is_floating(t):
        if kind == "number":
            return float(raw)
    elif pa.types.is_decimal(t):
        if kind == "number":
            number = decimal.Decimal(raw)
            if -number.as_tuple().exponent <= t.scale:  # type: ignore[operator]
                return number
    elif pa.types.is_string(t) or pa.types.is_large_string(t):
        if kind == "string":
            return raw
    elif pa.types.is_date32(t):
        if kind in ("date", "string"):
            try:
                return dt.date.fromisoformat(raw.strip())
            except ValueError:
                raise NotPushable(f"'{raw}' is not a date") from None
    elif pa.types.is_date64(t) or pa.types.is_timestamp(t):
        if kind in ("timestamp", "string"):
            value = _parse_timestamp(raw)
        elif kind == "date":
            value = dt.datetime.combine(dt.date.fromisoformat(raw.strip()), dt.time())
        else:
            raise NotPushable(f"a {kind} literal compared with a timestamp column")
        return value.replace(tzinfo=dt.UTC) if pa.types.is_timestamp(t) and t.tz else value
    raise NotPushable(f"a {kind} literal compared with a {t} column")


def orderable(data_type: pa.DataType) -> bool:
    t = data_type
    return bool(
        pa.types.is_boolean(t)
        or pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_decimal(t)
        or pa.types.is_string(t)
        or pa.types.is_date(t)
        or pa.types.is_timestamp(t)
    )


# -- conjuncts -> domains ---------------------------------------------------------------------------------


def conjuncts(node: exp.Expression | None) -> list[exp.Expression]:
    if node is None:
        return []
    if isinstance(node, exp.Paren):
        return conjuncts(node.this)
    if isinstance(node, exp.And):
        return conjuncts(node.this) + conjuncts(node.expression)
    return [node]


_FLIP = {exp.GT: exp.LT, exp.GTE: exp.LTE, exp.LT: exp.GT, exp.LTE: exp.GTE, exp.EQ: exp.EQ, exp.NEQ: exp.NEQ}
_NEGATE = {exp.GT: exp.LTE, exp.GTE: exp.LT, exp.LT: exp.GTE, exp.LTE: exp.GT, exp.EQ: exp.NEQ, exp.NEQ: exp.EQ}


@dataclass
class ColumnTerm:
    column: str
    domain: Domain


Resolver = Callable[[exp.Column], str]  # a column reference -> this scan's column name, or NotPushable


def _unparen(node: exp.Expression) -> exp.Expression:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def term(node: exp.Expression, resolve: Resolver, types: dict[str, pa.DataType], negate: bool = False) -> ColumnTerm:
    """One column's domain for a predicate, or NotPushable."""
    node = _unparen(node)
    if isinstance(node, exp.Not):
        return term(node.this, resolve, types, not negate)
    if isinstance(node, exp.Or):
        if negate:
            raise NotPushable("NOT over OR")
        left, right = term(node.this, resolve, types), term(node.expression, resolve, types)
        if left.column != right.column:
            raise NotPushable("OR across columns")
        return ColumnTerm(left.column, left.domain.union(right.domain))
    if isinstance(node, exp.Is):
        column = _column(node.this, resolve)
        if not isinstance(node.expression, exp.Null):
            raise NotPushable("IS with something other than NULL")
        is_null = not negate
        return ColumnTerm(column, Domain((), True) if is_null else Domain((ALL,), False))
    if isinstance(node, exp.Between):
        column = _column(node.this, resolve)
        t = _type(types, column)
        low = convert(*_literal(node.args["low"]), t)
        high = convert(*_literal(node.args["high"]), t)
        _check_orderable(t)
        if negate:
            return ColumnTerm(column, Domain(_normalize([Interval(None, False, low, False), Interval(high)]), False))
        return ColumnTerm(column, Domain(_normalize([Interval(low, True, high, True)]), False))
    if isinstance(node, exp.In):
        if node.args.get("query") or node.args.get("unnest") or node.args.get("field"):
            raise NotPushable("IN with a subquery")
        column = _column(node.this, resolve)
        t = _type(types, column)
        _check_orderable(t)
        values = [convert(*_literal(v), t) for v in node.expressions]
        if not values:
            raise NotPushable("empty IN list")
        return ColumnTerm(column, _not_points(values) if negate else _points(values))
    if type(node) in _FLIP:
        op: type[exp.Expression] = type(node)
        left, right = _unparen(node.this), _unparen(node.expression)
        if isinstance(right, exp.Column) and not isinstance(left, exp.Column):
            left, right, op = right, left, _FLIP[op]
        if negate:
            op = _NEGATE[op]
        column = _column(left, resolve)
        t = _type(types, column)
        _check_orderable(t)
        kind, raw = _literal(right)
        value = convert(kind, raw, t)
        return ColumnTerm(column, _comparison(op, value))
    raise NotPushable(f"{node.key.upper()} is not a comparison of a column with literals")


def _comparison(op: type[exp.Expression], value: Any) -> Domain:
    if op is exp.EQ:
        return _points([value])
    if op is exp.NEQ:
        return _not_points([value])
    interval = {
        exp.GT: Interval(value, False, None, False),
        exp.GTE: Interval(value, True, None, False),
        exp.LT: Interval(None, False, value, False),
        exp.LTE: Interval(None, False, value, True),
    }[op]
    return Domain((interval,), False)


def _column(node: exp.Expression, resolve: Resolver) -> str:
    node = _unparen(node)
    if not isinstance(node, exp.Column) or isinstance(node.this, exp.Star):
        raise NotPushable("not a plain column")
    return resolve(node)


def _type(types: dict[str, pa.DataType], column: str) -> pa.DataType:
    if column not in types:
        raise NotPushable(f"unknown column {column}")
    return types[column]


def _check_orderable(t: pa.DataType) -> None:
    if not orderable(t):
        raise NotPushable(f"{t} columns take only IS [NOT] NULL")


def value_set(domain: Domain, data_type: pa.DataType) -> ValueSet:
    arrow = ArrowType.from_pyarrow(data_type)
    if not orderable(data_type):
        everything = len(domain.intervals) == 1 and domain.intervals[0].is_all
        return AllOrNoneValueSet(arrow, everything, domain.null_allowed)
    ranges = tuple(
        Range.between(
            data_type,
            iv.low,
            iv.high,
            low_inclusive=iv.low_inclusive,
            high_inclusive=iv.high_inclusive,
        )
        for iv in domain.intervals
    )
    return SortedRangeSet(arrow, ranges, domain.null_allowed)


# -- one scan ---------------------------------------------------------------------------------------------


@dataclass
class ScanPushdown:
    """What the engine sends for one scan, and what it keeps."""

    constraints: Constraints
    domains: dict[str, Domain] = field(default_factory=dict)
    pushed: list[str] = field(default_factory=list)  # conjuncts as SQL
    kept: list[tuple[str, str]] = field(default_factory=list)  # (conjunct, why)
    limit_note: str = ""


def _resolver(scan: Scan, other_columns: set[str], types: dict[str, pa.DataType]) -> Resolver:
    def resolve(column: exp.Column) -> str:
        parts = [p.name.lower() for p in column.parts]
        if len(parts) == 2 and parts[0] == scan.alias:
            name = parts[1]
        elif len(parts) == 1:
            name = parts[0]
            if name in other_columns:
                raise NotPushable(f"column {name} is ambiguous")
        else:
            raise NotPushable("a nested field or another table's column")
        if name not in types:
            raise NotPushable(f"{name} is not a column of {scan.table}")
        return name

    return resolve


def _sql(node: exp.Expression) -> str:
    return node.sql(dialect="trino")


def scan_pushdown(
    parsed: ParsedQuery,
    scan: Scan,
    schema: pa.Schema,
    capabilities: dict[str, Any],
    all_columns: dict[int, list[str]],
) -> ScanPushdown:
    types = {f.name: f.type for f in schema}
    select = scan.select
    others = [s for s in parsed.scans if s is not scan and s.select is select]
    other_columns = {c for o in others for c in all_columns[o.index]}
    resolve = _resolver(scan, other_columns, types)
    candidates: list[exp.Expression] = []
    if select is not None:
        if scan.null_supplying:
            candidates = conjuncts(scan.join_on)
        else:
            candidates = conjuncts(select.args.get("where").this if select.args.get("where") else None)
            for _, join in direct_tables(select):
                if join is not None and not (join.side or "") and (join.kind or "").upper() in ("", "INNER"):
                    candidates += conjuncts(join.args.get("on"))
    result = ScanPushdown(Constraints())
    functions = advertised_functions(capabilities)
    expressions = []
    domains: dict[str, Domain] = {}
    where_total = 0
    where_pushed = 0
    for conjunct in candidates:
        mine = all(_belongs(c, scan, others, other_columns, types) for c in conjunct.find_all(exp.Column))
        in_where = conjunct.find_ancestor(exp.Where) is not None
        where_total += in_where
        if not mine or conjunct.find(exp.Subquery, exp.Select) is not None:
            continue  # another table's condition (or a join condition): not this scan's business
        folded = fold(conjunct, parsed.now)
        try:
            found = term(folded, resolve, types)
        except NotPushable as why:
            try:
                expressions.append(like_expression(folded, resolve, types, functions))
            except (NotAnExpression, NotPushable):
                result.kept.append((_sql(conjunct), str(why)))
                continue
            result.pushed.append(f"{_sql(conjunct)}  (as an expression)")
            where_pushed += in_where
            continue
        except (ValueError, ArithmeticError) as why:
            result.kept.append((_sql(conjunct), f"literal not convertible: {why}"))
            continue
        previous = domains.get(found.column)
        domains[found.column] = found.domain if previous is None else previous.intersect(found.domain)
        result.pushed.append(_sql(conjunct) + (f"  (folded: {_sql(folded)})" if folded is not conjunct else ""))
        where_pushed += in_where
    summary = {col: value_set(d, types[col]) for col, d in domains.items() if not d.is_everything}
    result.domains = domains
    limit, order_by, note = _limit(parsed, scan, capabilities, where_total, where_pushed, schema)
    result.limit_note = note
    result.constraints = Constraints(summary=summary, expression=tuple(expressions), order_by=order_by, limit=limit)
    return result


def _belongs(
    column: exp.Column, scan: Scan, others: list[Scan], other_columns: set[str], types: dict[str, pa.DataType]
) -> bool:
    parts = [p.name.lower() for p in column.parts]
    if len(parts) >= 2:
        if parts[0] == scan.alias:
            return True
        if any(parts[0] == o.alias for o in others):
            return False
        return parts[0] in types  # struct access on one of our columns
    return parts[0] in types and parts[0] not in other_columns


def _limit(
    parsed: ParsedQuery,
    scan: Scan,
    capabilities: dict[str, Any],
    where_total: int,
    where_pushed: int,
    schema: pa.Schema,
) -> tuple[int, tuple[OrderByField, ...], str]:
    select = parsed.tree
    if not isinstance(select, exp.Select) or scan.select is not select or len(parsed.scans) != 1:
        return -1, (), ""
    limit_node = select.args.get("limit")
    if limit_node is None:
        return -1, (), ""
    count = limit_node.expression
    if not isinstance(count, exp.Literal) or count.is_string or select.args.get("offset"):
        return -1, (), "LIMIT kept: not a plain constant"
    if select.args.get("joins") or select.args.get("group") or select.args.get("having"):
        return -1, (), "LIMIT kept: joins or grouping"
    if select.args.get("distinct") or select.find(exp.AggFunc, exp.Window) is not None:
        return -1, (), "LIMIT kept: DISTINCT, aggregate or window function"
    if where_total and (where_pushed < where_total or FILTER_PUSHDOWN not in capabilities):
        return -1, (), "LIMIT kept: part of the WHERE clause stays with the engine"
    n = int(count.this)
    order = select.args.get("order")
    if order is None:
        if LIMIT_PUSHDOWN not in capabilities:
            return -1, (), "LIMIT kept: the connector does not advertise supports_limit_pushdown"
        return n, (), f"LIMIT {n} pushed"
    if TOP_N_PUSHDOWN not in capabilities:
        return -1, (), "ORDER BY ... LIMIT kept: the connector does not advertise supports_top_n_pushdown"
    fields = []
    for item in order.expressions:
        target = item.this
        if not isinstance(target, exp.Column) or target.name.lower() not in schema.names:
            return -1, (), "ORDER BY ... LIMIT kept: ordering by an expression"
        nulls_first = bool(item.args.get("nulls_first"))
        desc = bool(item.args.get("desc"))
        direction = f"{'DESC' if desc else 'ASC'}_NULLS_{'FIRST' if nulls_first else 'LAST'}"
        fields.append(OrderByField(target.name.lower(), SortDirection(direction)))
    return n, tuple(fields), f"ORDER BY ... LIMIT {n} pushed (top-N)"
