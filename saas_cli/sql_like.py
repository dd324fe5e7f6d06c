"""WHERE conjuncts -> the ``constraints.expression`` Athena sends for LIKE (complex expression pushdown).

Athena sends a conjunct the summary cannot hold as a FederationExpression when the connector advertises
``supports_complex_expression_pushdown`` with every function it needs: ``col LIKE 'pattern'`` becomes
``$like_pattern(col, 'pattern')`` (a third argument for ``ESCAPE``), and ``NOT``, ``AND``, ``OR`` over such
terms become ``$not``, ``$and``, ``$or`` (names from the SDK's ``StandardFunctions``). Anything else stays
with the engine, which always evaluates the complete query afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
from sqlglot import exp

from athena_connector.wire import (
    ArrowType,
    ConstantExpression,
    FunctionCallExpression,
    VariableExpression,
)
from athena_connector.wire.constraints import _value_block

COMPLEX_EXPRESSION_PUSHDOWN = "supports_complex_expression_pushdown"


class NotAnExpression(Exception):
    """Why a conjunct is not sent as an expression."""


def advertised_functions(capabilities: dict[str, Any]) -> frozenset[str]:
    subs = capabilities.get(COMPLEX_EXPRESSION_PUSHDOWN) or []
    return frozenset(p for sub, props in subs if sub == "supported_function_expression_types" for p in props)


def _text(value: str) -> ConstantExpression:
    return ConstantExpression(_value_block([value], pa.string()), ArrowType.from_pyarrow(pa.string()))


def _call(name: str, args: list[Any], functions: frozenset[str]) -> FunctionCallExpression:
    if name not in functions:
        raise NotAnExpression(f"the connector does not advertise {name}")
    return FunctionCallExpression(ArrowType.from_pyarrow(pa.bool_()), name, tuple(args))


def like_expression(
    node: exp.Expression,
    resolve: Callable[[exp.Column], str],
    types: dict[str, pa.DataType],
    functions: frozenset[str],
) -> FunctionCallExpression:
    """The expression Athena would send for ``node``, or NotAnExpression."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Not):
        return _call("$not", [like_expression(node.this, resolve, types, functions)], functions)
    if isinstance(node, exp.And | exp.Or):
        name = "$and" if isinstance(node, exp.And) else "$or"
        parts = [like_expression(n, resolve, types, functions) for n in (node.this, node.expression)]
        return _call(name, parts, functions)
    escape = None
    if isinstance(node, exp.Escape):
        if not isinstance(node.expression, exp.Literal) or not node.expression.is_string:
            raise NotAnExpression("ESCAPE is not a text literal")
        escape = node.expression.this
        node = node.this
    if not isinstance(node, exp.Like):
        raise NotAnExpression(f"{node.key.upper()} is not a LIKE")
    column, pattern = node.this, node.expression
    if not isinstance(column, exp.Column) or not isinstance(pattern, exp.Literal) or not pattern.is_string:
        raise NotAnExpression("LIKE of something other than a column and a text literal")
    name = resolve(column)
    t = types.get(name)
    if t is None or not (pa.types.is_string(t) or pa.types.is_large_string(t)):
        raise NotAnExpression(f"LIKE on a {t} column")
    args: list[Any] = [VariableExpression(name, ArrowType.from_pyarrow(t)), _text(pattern.this)]
    if escape is not None:
        args.append(_text(escape))
    like = _call("$like_pattern", args, functions)
    return _call("$not", [like], functions) if node.args.get("negate") else like
