"""Complex expressions (``constraints.expression``): evaluated exactly on every row, and read for LIKE pushdown.

The connector advertises ``supports_complex_expression_pushdown`` with the functions in :data:`FUNCTIONS`
(names from the Athena Federation SDK's ``StandardFunctions``): ``$like_pattern`` (``col LIKE 'pattern'``, an
optional third argument being the ESCAPE character), and ``$and``, ``$or``, ``$not`` over them. Advertising
them is a promise to apply them exactly, so each is evaluated here on every row with SQL's three-valued logic
(a row passes only when the whole expression is TRUE); a function outside this list, or a shape the engine
should not send (LIKE on a non-text column, a non-constant pattern), is refused with a typed error instead of
being ignored. ``lower(...)`` and ``starts_with(...)`` are not among the SDK's function names, so they are not
advertised: Athena evaluates them itself.

The LIKEs of the top-level AND (``like_terms``) are also what the read may send as a search parameter
(``shared.search_pushdown``), always a superset: the pattern is applied here to every row whatever the API
returned.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from athena_connector.errors import InvalidInputException, OperationNotSupportedException
from athena_connector.wire import ConstantExpression, Expression, FunctionCallExpression, VariableExpression
from shared.search_pushdown import LikePattern, LikePatternError, parse_like

AND, OR, NOT, LIKE = "$and", "$or", "$not", "$like_pattern"
FUNCTIONS = (AND, OR, NOT, LIKE)


def columns(expressions: Sequence[Expression]) -> tuple[str, ...]:
    """The columns the expressions read (so the read fetches them even when the query does not select them)."""
    found: list[str] = []

    def walk(e: Expression) -> None:
        if isinstance(e, VariableExpression):
            found.append(e.column_name)
        elif isinstance(e, FunctionCallExpression):
            for a in e.arguments:
                walk(a)

    for e in expressions:
        walk(e)
    return tuple(dict.fromkeys(found))


def _constant_text(e: Expression, what: str) -> str:
    if not isinstance(e, ConstantExpression):
        raise OperationNotSupportedException(f"LIKE: the {what} must be a constant, got {type(e).__name__}")
    values = e.values
    if len(values) != 1 or not isinstance(values[0], str):
        raise OperationNotSupportedException(f"LIKE: the {what} must be one text value, got {values[:3]!r}")
    return values[0]


def like_of(call: FunctionCallExpression) -> tuple[str, LikePattern] | None:
    """``(column, pattern)`` of ``column LIKE 'constant'``; None for LIKE over anything but a column."""
    args = call.arguments
    if len(args) not in (2, 3):
        raise OperationNotSupportedException(f"{LIKE} takes a value, a pattern and an optional escape, got {len(args)}")
    pattern = _constant_text(args[1], "pattern")
    escape = _constant_text(args[2], "escape character") if len(args) == 3 else None
    try:
        parsed = parse_like(pattern, escape)
    except LikePatternError as exc:
        raise InvalidInputException(str(exc)) from None
    if isinstance(args[0], VariableExpression):
        return args[0].column_name, parsed
    return None


def like_terms(expressions: Sequence[Expression]) -> list[tuple[str, LikePattern]]:
    """The ``column LIKE 'pattern'`` conjuncts of the top-level AND (every row passing must match each)."""
    out: list[tuple[str, LikePattern]] = []

    def walk(e: Expression) -> None:
        if isinstance(e, FunctionCallExpression) and e.function_name == AND:
            for a in e.arguments:
                walk(a)
        elif isinstance(e, FunctionCallExpression) and e.function_name == LIKE:
            found = like_of(e)
            if found is not None:
                out.append(found)

    for e in expressions:
        walk(e)
    return out


def _evaluate(e: Expression, batch: pa.RecordBatch) -> pa.Array | pa.Scalar:
    if isinstance(e, VariableExpression):
        return batch.column(e.column_name)
    if isinstance(e, ConstantExpression):
        values = e.values
        if len(values) != 1:
            raise OperationNotSupportedException(f"a list constant ({len(values)} values) outside a function")
        return pa.scalar(values[0])
    name = e.function_name
    if name in (AND, OR):
        if not e.arguments:
            raise OperationNotSupportedException(f"{name} without arguments")
        combine = pc.and_kleene if name == AND else pc.or_kleene
        result = _boolean(_evaluate(e.arguments[0], batch), name, batch)
        for a in e.arguments[1:]:
            result = combine(result, _boolean(_evaluate(a, batch), name, batch))
        return result
    if name == NOT:
        if len(e.arguments) != 1:
            raise OperationNotSupportedException(f"{NOT} takes one argument, got {len(e.arguments)}")
        return pc.invert(_boolean(_evaluate(e.arguments[0], batch), name, batch))
    if name == LIKE:
        like_of(e)  # validates the arguments
        values = _evaluate(e.arguments[0], batch)
        pattern = parse_like(
            _constant_text(e.arguments[1], "pattern"),
            _constant_text(e.arguments[2], "escape character") if len(e.arguments) == 3 else None,
        )
        if isinstance(values, pa.Scalar) or not (
            pa.types.is_string(values.type) or pa.types.is_large_string(values.type)
        ):
            kind = "a constant" if isinstance(values, pa.Scalar) else str(values.type)
            raise OperationNotSupportedException(f"LIKE applies to text; the engine sent it for {kind}")
        return pc.match_substring_regex(values, pattern=pattern.regex())
    raise OperationNotSupportedException(
        f"expression function {name!r} is not supported by this connector (it advertises {', '.join(FUNCTIONS)})"
    )


def _boolean(value: pa.Array | pa.Scalar, where: str, batch: pa.RecordBatch) -> pa.Array:
    if isinstance(value, pa.Scalar):
        if not pa.types.is_boolean(value.type):
            raise OperationNotSupportedException(f"{where}: a {value.type} constant is not a condition")
        return pa.array([value.as_py()] * batch.num_rows, type=pa.bool_())
    if not pa.types.is_boolean(value.type):
        raise OperationNotSupportedException(f"{where}: a {value.type} value is not a condition")
    return value


def expression_mask(batch: pa.RecordBatch, expressions: Sequence[Expression]) -> pa.Array:
    """Rows for which every expression is TRUE (NULL, SQL's unknown, excludes the row)."""
    mask = pa.array([True] * batch.num_rows, type=pa.bool_())
    for e in expressions:
        mask = pc.and_(mask, pc.fill_null(_boolean(_evaluate(e, batch), "expression", batch), False))
    return mask
