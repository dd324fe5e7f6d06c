"""Constant expressions folded to literals before constraints are derived, as Athena's planner does.

``updated_at >= current_timestamp - INTERVAL '90' DAY`` has one value for the whole query: Athena evaluates it
once and pushes ``updated_at >= TIMESTAMP '...'`` to the connector. Without folding, the local runner would
push nothing and read the whole table. ``current_timestamp``/``now()``/``current_date`` become the query's start
time (UTC); then sqlglot's simplifier folds date arithmetic on literals (``- INTERVAL``, ``date_add``) and
numeric casts of literals are folded here.

Folding may only make the pushed bound *wider* than the engine's, never narrower: the engine evaluates the
original expression a moment later than the start time used here, so for ``>= now() - ...`` the pushed bound is
at or below the engine's. For ``<= now()`` the engine's bound is later than the pushed one, so a comparison that
looks *forward* from now is not folded (see :func:`fold`).
"""

from __future__ import annotations

import datetime as dt
import decimal

from sqlglot import exp
from sqlglot.optimizer.simplify import simplify

NOW_FUNCTIONS = ("NOW", "LOCALTIMESTAMP")
NUMERIC = (
    exp.DataType.Type.TINYINT,
    exp.DataType.Type.SMALLINT,
    exp.DataType.Type.INT,
    exp.DataType.Type.BIGINT,
    exp.DataType.Type.DOUBLE,
    exp.DataType.Type.FLOAT,
    exp.DataType.Type.DECIMAL,
)
LOWER_BOUNDS = (exp.GT, exp.GTE)  # column > / >= expression


def _timestamp(now: dt.datetime) -> exp.Expression:
    text = now.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="milliseconds")
    return exp.cast(exp.Literal.string(text), exp.DataType.build("TIMESTAMP"))


def _now_nodes(node: exp.Expression) -> list[exp.Expression]:
    return [
        n
        for n in node.walk()
        if isinstance(n, exp.CurrentTimestamp | exp.CurrentDate)
        or (isinstance(n, exp.Anonymous) and str(n.this).upper() in NOW_FUNCTIONS)
    ]


def _fold_numeric_casts(node: exp.Expression) -> exp.Expression:
    """``CAST('5' AS INTEGER)`` -> ``5``, ``CAST(3 AS DOUBLE)`` -> ``3``: the value the cast produces."""

    def fold(n: exp.Expression) -> exp.Expression:
        if not (isinstance(n, exp.Cast) and isinstance(n.this, exp.Literal) and n.to.this in NUMERIC):
            return n
        text = str(n.this.this).strip()
        try:
            value = decimal.Decimal(text)
        except decimal.InvalidOperation:
            return n  # the engine reports the bad cast
        if n.to.this in NUMERIC[:4] and value != value.to_integral_value():
            return n  # Trino rounds or fails here; leave it to the engine
        return exp.Literal.number(str(value))

    return node.transform(fold)


def fold(conjunct: exp.Expression, now: dt.datetime) -> exp.Expression:
    """The conjunct with its constant parts folded to literals (a copy), or the conjunct itself if nothing
    folds or folding could push a narrower bound than the engine applies."""
    tree = conjunct.copy()
    nows = _now_nodes(tree)
    if nows and not _is_lower_bound(tree):
        return conjunct
    for node in nows:
        literal = _timestamp(now)
        if isinstance(node, exp.CurrentDate):
            literal = exp.cast(exp.Literal.string(now.astimezone(dt.UTC).date().isoformat()), "DATE")
        node.replace(literal)
    folded = simplify(_fold_numeric_casts(tree), dialect="trino")
    return folded if folded.sql() != conjunct.sql() else conjunct


def _is_lower_bound(node: exp.Expression) -> bool:
    """``column >= <expression of now>`` (or ``<expression> <= column``): a bound whose folded value is at or
    below the engine's, so the pushed range contains every row the engine keeps."""
    if isinstance(node, LOWER_BOUNDS):
        return isinstance(node.this, exp.Column) and not _now_nodes(node.this)
    if isinstance(node, exp.LT | exp.LTE):
        return isinstance(node.expression, exp.Column) and not _now_nodes(node.expression)
    return False
