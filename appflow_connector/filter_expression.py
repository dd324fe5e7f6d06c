"""AppFlow filter expressions -> the shared predicate model (plus what it cannot express).

The text is parsed with the SDK's own ANTLR lexer and parser (``custom_connector_queryfilter``), but
with an error listener on the lexer too: the SDK's ``parse()`` listens only to the parser, so a stray
character is silently dropped (``_id = 1`` would parse as ``id = 1``). The parse tree is then walked
into a small expression tree:

* top-level ``AND`` items that are plain comparisons become :class:`shared.predicates.Predicate`s the
  client may push down (the planner decides what the API can take; the rest is the residual);
* ``OR``, ``NOT``, ``CONTAINS`` and comparisons that cannot be sent (e.g. ``id > 2.5`` on an integer) stay
  local and are evaluated exactly on each typed record, with SQL's three-valued logic (a comparison
  with null is unknown; ``NOT unknown`` is unknown; only true keeps the record);
* ``LIMIT n`` caps the whole query.

Literals are converted to each field's type; an operator that cannot apply to a type, an unknown field,
a bad literal or a syntax error is an :class:`FilterError` (AppFlow: InvalidArgument) naming the field.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from antlr4 import CommonTokenStream, InputStream
from antlr4.error.ErrorListener import ErrorListener

from appflow_connector.errors import ConnectorError
from appflow_connector.sdk import ErrorCode
from shared.predicates import Op, Predicate
from shared.spec.model import EntitySpec, FieldSpec
from shared.values import CoercionError, parse_date, parse_timestamp

UTC = dt.UTC
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "'": "'", '"': '"', "\\": "\\"}
MAX_EXPRESSION_CHARS = 20_000
MAX_INTEGER = 2**63 - 1  # integer fields are 64-bit; a longer literal could not even be sent
TOO_DEEP = "the expression nests NOT or parentheses too deeply to parse; write it with fewer levels"


class FilterError(ConnectorError):
    """An invalid or unsupported filter expression (AppFlow: InvalidArgument)."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.InvalidArgument, f"filterExpression: {message}")


# -- expression tree ---------------------------------------------------------------------------------
class Node(ABC):
    """A filter expression node evaluated locally with SQL three-valued logic (None = unknown)."""

    @abstractmethod
    def eval(self, row: dict[str, Any]) -> bool | None: ...

    @abstractmethod
    def fields(self) -> set[str]: ...


@dataclass(frozen=True)
class Compare(Node):
    """A comparison the shared model can express; ``pushable`` is False when the API must not see it."""

    predicate: Predicate
    pushable: bool = True

    def eval(self, row: dict[str, Any]) -> bool | None:
        p = self.predicate
        value = row.get(p.field)
        if p.op in (Op.IS_NULL, Op.NOT_NULL):
            return p.test(value)
        if value is None:
            return None
        return p.test(value)

    def fields(self) -> set[str]:
        return {self.predicate.field}


@dataclass(frozen=True)
class Contains(Node):
    """``field CONTAINS value``: substring for text, element for lists (case-sensitive)."""

    field: str
    value: Any
    is_list: bool

    def eval(self, row: dict[str, Any]) -> bool | None:
        value = row.get(self.field)
        if value is None:
            return None
        if self.is_list:
            return self.value in value
        return str(self.value) in str(value)

    def fields(self) -> set[str]:
        return {self.field}


@dataclass(frozen=True)
class And(Node):
    items: tuple[Node, ...]

    def eval(self, row: dict[str, Any]) -> bool | None:
        unknown = False
        for item in self.items:
            result = item.eval(row)
            if result is False:
                return False
            unknown = unknown or result is None
        return None if unknown else True

    def fields(self) -> set[str]:
        return set().union(*(i.fields() for i in self.items))


@dataclass(frozen=True)
class Or(Node):
    items: tuple[Node, ...]

    def eval(self, row: dict[str, Any]) -> bool | None:
        unknown = False
        for item in self.items:
            result = item.eval(row)
            if result is True:
                return True
            unknown = unknown or result is None
        return None if unknown else False

    def fields(self) -> set[str]:
        return set().union(*(i.fields() for i in self.items))


@dataclass(frozen=True)
class Not(Node):
    item: Node

    def eval(self, row: dict[str, Any]) -> bool | None:
        result = self.item.eval(row)
        return None if result is None else not result

    def fields(self) -> set[str]:
        return self.item.fields()


@dataclass
class ParsedFilter:
    """The filter as ANDed parts: pushable predicates first, local nodes after, and a LIMIT."""

    predicates: list[Predicate] = field(default_factory=list)
    local: list[Node] = field(default_factory=list)
    limit: int | None = None

    def fields(self) -> set[str]:
        return {p.field for p in self.predicates}.union(*(n.fields() for n in self.local))

    def matches_local(self, row: dict[str, Any]) -> bool:
        return all(node.eval(row) is True for node in self.local)


# -- parsing -----------------------------------------------------------------------------------------
class _Collect(ErrorListener):
    def __init__(self, what: str) -> None:
        self.what = what
        self.errors: list[str] = []

    def syntaxError(self, recognizer: Any, offending: Any, line: int, column: int, msg: str, e: Any) -> None:
        self.errors.append(f"{self.what} error at character {column + 1}: {msg}")


def parse_tree(text: str) -> Any:
    """The SDK's parse tree for ``text``; FilterError on any lexer or parser error."""
    from custom_connector_queryfilter.queryfilter.antlr.CustomConnectorQueryFilterLexer import (
        CustomConnectorQueryFilterLexer,
    )
    from custom_connector_queryfilter.queryfilter.antlr.CustomConnectorQueryFilterParser import (
        CustomConnectorQueryFilterParser,
    )

    if len(text) > MAX_EXPRESSION_CHARS:
        raise FilterError(f"the expression is longer than {MAX_EXPRESSION_CHARS} characters")
    lexer = CustomConnectorQueryFilterLexer(InputStream(text))
    lexer.removeErrorListeners()
    lex_errors = _Collect("syntax")
    lexer.addErrorListener(lex_errors)
    parser = CustomConnectorQueryFilterParser(CommonTokenStream(lexer))
    parser.removeErrorListeners()
    parse_errors = _Collect("syntax")
    parser.addErrorListener(parse_errors)
    try:
        tree = parser.queryfilter()
    except RecursionError:  # the SDK's parser recurses once per NOT or parenthesis
        raise FilterError(TOO_DEEP) from None
    problems = lex_errors.errors + parse_errors.errors
    if problems:
        hint = _hint(text)
        raise FilterError(f"cannot parse {_show(text)}: {problems[0]}" + (f" ({hint})" if hint else ""))
    return tree


def _hint(text: str) -> str:
    if re.search(r"\d{4}-\d\d-\d\dT[\d:.]+(?:[+-]\d\d:?\d\d)?(?![\dZ])", text):
        return "datetimes must be UTC and end in Z, e.g. 2024-01-31T00:00:00Z"
    if re.search(r"\blimit\s+\d\b", text, re.IGNORECASE):
        return "the grammar needs at least two digits after LIMIT"
    if re.search(r"\b(And|Or|Not|NULL|Null|Between|Contains|In|Like|LIKE)\b", text):
        return "keywords must be all upper or all lower case (AND/and, OR/or, NOT/not, null, ...)"
    return ""


def _show(text: str) -> str:
    return repr(text if len(text) <= 120 else text[:117] + "...")


def parse_filter(text: str | None, entity: EntitySpec) -> ParsedFilter:
    """Parse and type-check ``text`` against ``entity``; an empty or null expression is no filter."""
    if text is None or not str(text).strip():
        return ParsedFilter()
    tree = parse_tree(str(text))
    try:
        return _Builder(entity).build(tree)
    except RecursionError:  # chains of AND/OR are walked without recursion; NOT and parentheses still nest
        raise FilterError(TOO_DEEP) from None


@dataclass(frozen=True)
class _Literal:
    kind: str  # string | number | date | datetime | null | boolean
    value: Any
    text: str


def _unquote(token: str) -> str:
    body = token[1:-1]
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), body)


class _Builder:
    def __init__(self, entity: EntitySpec) -> None:
        from custom_connector_queryfilter.queryfilter.antlr.CustomConnectorQueryFilterParser import (
            CustomConnectorQueryFilterParser as P,
        )

        self.P = P
        self.entity = entity

    # -- structure -----------------------------------------------------------------------------
    def build(self, tree: Any) -> ParsedFilter:
        P = self.P
        limit: int | None = None
        expr_ctx = tree.expression()
        limit_ctx = tree.limitexpression()
        if limit_ctx is not None:
            digits = limit_ctx.right.getText()
            if len(digits.lstrip("0")) > 18:
                raise FilterError(f"LIMIT {_show(digits)} is out of range")
            limit = int(digits)
            expr_ctx = limit_ctx.left
        result = ParsedFilter(limit=limit)
        if expr_ctx is None:
            return result
        for item in self._conjuncts(expr_ctx, P):
            node = self.node(item)
            if isinstance(node, Compare) and node.pushable:
                result.predicates.append(node.predicate)
            else:
                result.local.append(node)
        return result

    def _conjuncts(self, ctx: Any, P: Any) -> list[Any]:
        return self._operands(ctx, P.ANDBinaryExpressionContext)

    def _operands(self, ctx: Any, chain: type) -> list[Any]:
        """The operands of a chain of one operator (AND or OR, through parentheses), left to right. Iterative:
        the grammar nests ``a or b or c ...`` one level per operator, and 500 ORs must not exhaust the stack."""
        out: list[Any] = []
        stack = [ctx]
        while stack:
            item = self._unwrap(stack.pop())
            if isinstance(item, chain):
                stack.extend((item.right, item.left))
            else:
                out.append(item)
        return out

    def _unwrap(self, ctx: Any) -> Any:
        while isinstance(ctx, self.P.ParenExpressionContext):
            ctx = ctx.expression()
        return ctx

    def node(self, ctx: Any) -> Node:
        P = self.P
        ctx = self._unwrap(ctx)
        if isinstance(ctx, P.NotExpressionContext):
            return Not(self.node(ctx.expression()))
        if isinstance(ctx, P.ANDBinaryExpressionContext):
            return And(tuple(self.node(c) for c in self._operands(ctx, P.ANDBinaryExpressionContext)))
        if isinstance(ctx, P.ORBinaryExpressionContext):
            return Or(tuple(self.node(c) for c in self._operands(ctx, P.ORBinaryExpressionContext)))
        comparisons = {
            P.GreaterThanComparatorExpressionContext: Op.GT,
            P.GreaterThanEqualToComparatorExpressionContext: Op.GE,
            P.LesserThanComparatorExpressionContext: Op.LT,
            P.LesserThanEqualToComparatorExpressionContext: Op.LE,
            P.EqualToComparatorExpressionContext: Op.EQ,
            P.NotEqualToComparatorExpressionContext: Op.NE,
        }
        for cls, op in comparisons.items():
            if isinstance(ctx, cls):
                return self.compare(self.field(ctx.left), op, self.literal(ctx.right))
        if isinstance(
            ctx, P.BooleanEqualToComparatorExpressionContext | P.BooleanNotEqualToComparatorExpressionContext
        ):
            op = Op.EQ if isinstance(ctx, P.BooleanEqualToComparatorExpressionContext) else Op.NE
            text = ctx.right.getText()
            return self.compare(self.field(ctx.left), op, _Literal("boolean", text.lower() == "true", text))
        if isinstance(ctx, P.LikeComparatorExpressionContext):
            return self.contains(self.field(ctx.left), self.literal(ctx.right))
        if isinstance(ctx, P.BetweenExpressionContext):
            f = self.field(ctx.left)
            return self.between(f, self.literal(ctx.l1), self.literal(ctx.right))
        if isinstance(ctx, P.InExpressionContext):
            f = self.field(ctx.identifier())
            return self.in_list(f, [self.literal(v) for v in ctx.value()])
        if isinstance(ctx, P.IdentifierExpressionContext):
            f = self.field(ctx.identifier())
            if f.type.kind != "boolean":
                raise FilterError(f"a bare field name is a condition only for boolean fields; '{f.name}' is {f.type}")
            return Compare(Predicate(f.name, Op.EQ, True))
        if isinstance(ctx, P.ValueExpressionContext):
            raise FilterError(f"{_show(ctx.getText())} is a value, not a condition")
        raise FilterError(f"unsupported expression {_show(ctx.getText())}")  # pragma: no cover

    def field(self, ctx: Any) -> FieldSpec:
        name = ctx.getText()
        try:
            return self.entity.field(name)
        except KeyError:
            raise FilterError(
                f"entity '{self.entity.name}' has no field '{name}' (fields: {', '.join(self.entity.field_names)})"
            ) from None

    def literal(self, ctx: Any) -> _Literal:
        P = self.P
        text = ctx.getText()
        if isinstance(ctx, P.StringValueExpressionContext):
            if text == "null":
                return _Literal("null", None, text)
            return _Literal("string", _unquote(text), text)
        if isinstance(ctx, P.DecimalValueExpressionContext):
            return _Literal("number", Decimal(text), text)
        if isinstance(ctx, P.IsoDateContext):
            try:
                return _Literal("date", dt.date.fromisoformat(text), text)
            except ValueError:
                raise FilterError(f"{text} is not a valid date") from None
        if isinstance(ctx, P.IsoDateTimeContext):
            return _Literal("datetime", _datetime(text), text)
        raise FilterError(f"unsupported value {_show(text)}")  # pragma: no cover

    # -- typing ----------------------------------------------------------------------------------
    def typed(self, f: FieldSpec, lit: _Literal) -> tuple[Any, bool]:
        """``(value, exact)``: the literal as ``f``'s Python type; ``exact`` False when only an
        exact local comparison (not the API) can use it."""
        kind = f.type.kind
        where = f"field '{f.name}' ({f.type})"
        if lit.kind == "boolean" and kind not in ("boolean", "string"):
            raise FilterError(f"{where} cannot be compared with {lit.text}")
        if kind == "string":
            if lit.kind == "boolean":
                return ("true" if lit.value else "false"), True
            return (lit.value if lit.kind == "string" else lit.text), True
        if kind == "json":
            if lit.kind != "string":
                raise FilterError(f"{where} holds JSON text; compare it with a quoted string")
            return lit.value, False
        if kind in ("int32", "int64", "number", "decimal"):
            number = self._number(where, lit)
            if kind == "decimal":
                return number, True
            if kind == "number":
                if not math.isfinite(float(number)):
                    raise FilterError(f"{where}: {_show(lit.text)} is out of range for a double")
                return float(number), True
            if abs(number) > MAX_INTEGER:
                raise FilterError(f"{where}: {_show(lit.text)} is outside the 64-bit integer range")
            if number == number.to_integral_value():
                return int(number), True
            return number, False
        if kind == "boolean":
            if lit.kind == "boolean":
                return lit.value, True
            if lit.kind == "string" and lit.value.strip().lower() in ("true", "false"):
                return lit.value.strip().lower() == "true", True
            raise FilterError(f"{where} can only be compared with true or false, got {lit.text}")
        if kind == "date":
            return self._date(where, lit), True
        if kind == "timestamp":
            return self._timestamp(where, lit), True
        raise FilterError(f"{where} cannot be compared; only CONTAINS applies to {f.type.kind} fields")

    def _number(self, where: str, lit: _Literal) -> Decimal:
        if lit.kind == "number":
            return lit.value  # type: ignore[no-any-return]
        if lit.kind == "string":
            try:
                value = Decimal(lit.value.strip())
            except InvalidOperation:
                raise FilterError(f"{where} needs a number, got {lit.text}") from None
            if value.is_finite():
                return value
        raise FilterError(f"{where} needs a number, got {lit.text}")

    def _date(self, where: str, lit: _Literal) -> dt.date:
        if lit.kind == "date":
            return lit.value  # type: ignore[no-any-return]
        if lit.kind == "datetime":
            value: dt.datetime = lit.value
            if value.timetz().replace(tzinfo=None) == dt.time(0):
                return value.date()
            raise FilterError(f"{where} is a date; use a date literal such as {value.date().isoformat()}")
        if lit.kind == "string" and re.fullmatch(r"\d{4}-\d\d-\d\d", lit.value.strip()):
            try:
                return parse_date(lit.value)
            except CoercionError:
                pass
        raise FilterError(f"{where} needs a date (YYYY-MM-DD), got {lit.text}")

    def _timestamp(self, where: str, lit: _Literal) -> dt.datetime:
        if lit.kind == "datetime":
            return lit.value  # type: ignore[no-any-return]
        if lit.kind == "date":
            return dt.datetime.combine(lit.value, dt.time(0), tzinfo=UTC)
        if lit.kind == "number":
            number = float(lit.value)
            seconds = number / 1000.0 if abs(number) >= 1e11 else number  # epoch millis or seconds
            try:
                return dt.datetime.fromtimestamp(seconds, tz=UTC)
            except (OverflowError, OSError, ValueError):
                raise FilterError(f"{where}: {lit.text} is not a valid epoch timestamp") from None
        if lit.kind == "string":
            try:
                return parse_timestamp(lit.value)
            except CoercionError:
                pass
        raise FilterError(f"{where} needs an ISO-8601 UTC datetime such as 2024-01-31T00:00:00Z, got {lit.text}")

    # -- operators ---------------------------------------------------------------------------------
    def compare(self, f: FieldSpec, op: Op, lit: _Literal) -> Node:
        if lit.kind == "null":
            if op is Op.EQ:
                return Compare(Predicate(f.name, Op.IS_NULL))
            if op is Op.NE:
                return Compare(Predicate(f.name, Op.NOT_NULL))
            raise FilterError(f"field '{f.name}': null can only be compared with = or !=")
        if f.type.kind in ("list", "object"):
            raise FilterError(f"field '{f.name}' is {f.type.kind}; only CONTAINS applies to it")
        if op in (Op.LT, Op.LE, Op.GT, Op.GE) and not f.type.is_orderable:
            raise FilterError(f"field '{f.name}' ({f.type}) has no order; use = or !=")
        value, exact = self.typed(f, lit)
        return Compare(Predicate(f.name, op, value), pushable=exact)

    def between(self, f: FieldSpec, low: _Literal, high: _Literal) -> Node:
        if not f.type.is_orderable:
            raise FilterError(f"field '{f.name}' ({f.type}) has no order; BETWEEN does not apply")
        if "null" in (low.kind, high.kind):
            raise FilterError(f"field '{f.name}': BETWEEN needs two non-null values")
        lo, lo_exact = self.typed(f, low)
        hi, hi_exact = self.typed(f, high)
        return Compare(Predicate(f.name, Op.BETWEEN, (lo, hi)), pushable=lo_exact and hi_exact)

    def in_list(self, f: FieldSpec, items: list[_Literal]) -> Node:
        if f.type.kind in ("list", "object"):
            raise FilterError(f"field '{f.name}' is {f.type.kind}; only CONTAINS applies to it")
        if any(i.kind == "null" for i in items):
            raise FilterError(f"field '{f.name}': IN (...) cannot contain null; use {f.name} = null")
        typed = [self.typed(f, i) for i in items]
        values = tuple(v for v, _ in typed)
        return Compare(Predicate(f.name, Op.IN, values), pushable=all(e for _, e in typed))

    def contains(self, f: FieldSpec, lit: _Literal) -> Node:
        kind = f.type.kind
        if lit.kind == "null":
            raise FilterError(f"field '{f.name}': CONTAINS needs a non-null value")
        if kind in ("string", "json"):
            if lit.kind != "string":
                return Contains(f.name, lit.text, is_list=False)
            return Contains(f.name, lit.value, is_list=False)
        if kind == "list" and f.type.item is not None and f.type.item.is_scalar:
            item = FieldSpec(f.name, f.type.item, f.path)
            value, _ = self.typed(item, lit)
            return Contains(f.name, value, is_list=True)
        raise FilterError(f"field '{f.name}' ({f.type}) does not support CONTAINS")


def _datetime(text: str) -> dt.datetime:
    """The grammar's DATETIME (always ends in Z; the hour may be 24, meaning the next midnight)."""
    body = text[:-1]
    date_part, _, time_part = body.partition("T")
    extra = dt.timedelta(0)
    if time_part.startswith("24:"):
        if time_part.replace("24:", "00:", 1).strip("0:.") != "":
            raise FilterError(f"{text} is not a valid datetime (24:00:00 is the only time with hour 24)")
        time_part = "00:" + time_part[3:]
        extra = dt.timedelta(days=1)
    fraction = ""
    if "." in time_part:
        time_part, fraction = time_part.split(".", 1)
    try:
        value = dt.datetime.fromisoformat(f"{date_part}T{time_part}").replace(tzinfo=UTC)
    except ValueError:
        raise FilterError(f"{text} is not a valid datetime") from None
    if fraction:
        micros = int((fraction + "000000")[:6])
        value = value.replace(microsecond=micros)
    return value + extra
