"""SQL mistakes in the user's terms: what is wrong, and where in *their* query (line, column and a caret).

Parse errors come from sqlglot, whose messages name its own classes ("Required keyword: 'expression' missing for
<class '...Mul'>"); engine errors come from DuckDB, which sees the rewritten query (``__scan_0 AS contacts``), not
the one the user typed. Both are translated here; the position is found in the user's SQL text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from sqlglot import exp
from sqlglot.errors import ParseError

from saas_cli.errors import SqlError

# sqlglot's expression classes as the operator or clause the user wrote
_NODE_WORDS = {
    "Where": "WHERE needs a condition after it",
    "Having": "HAVING needs a condition after it",
    "And": "AND needs a condition on both sides",
    "Or": "OR needs a condition on both sides",
    "Not": "NOT needs a condition after it",
    "Limit": "LIMIT needs a number after it",
    "Order": "ORDER BY needs a column after it",
    "Group": "GROUP BY needs a column after it",
    "Between": "BETWEEN needs 'low AND high'",
    "In": "IN needs a list of values",
    "Cast": "CAST needs 'value AS type'",
    "Alias": "AS needs a name after it",
}
_REQUIRED = re.compile(r"Required keyword: '(\w+)' missing for <class '[\w.]*\.(\w+)'>")
_EXPECTING = re.compile(r"Expecting (.+)")


def where(sql: str, offset: int, width: int = 1) -> str:
    """``(line L, column C)`` and the line with a caret under the offending text."""
    offset = max(0, min(offset, len(sql)))
    line_start = sql.rfind("\n", 0, offset) + 1
    line_end = sql.find("\n", offset)
    text = sql[line_start : line_end if line_end >= 0 else len(sql)]
    line = sql.count("\n", 0, offset) + 1
    column = offset - line_start + 1
    caret = " " * (column - 1) + "^" * max(1, min(width, len(text) - column + 1))
    return f"(line {line}, column {column})\n  {text}\n  {caret}"


def _offset(sql: str, line: int, end_column: int, token: str) -> int:
    """sqlglot reports the line and the column where the offending token *ends*; the offset of its start."""
    lines = sql.split("\n")
    before = sum(len(text) + 1 for text in lines[: max(0, line - 1)])
    return before + max(0, end_column - len(token))


def parse_error(sql: str, exc: ParseError) -> SqlError:
    errors = getattr(exc, "errors", None) or []
    if not errors:
        return SqlError(f"cannot parse the query: {str(exc).splitlines()[0]}")
    first = errors[0]
    token = str(first.get("highlight") or "").strip()
    description = str(first.get("description") or "")
    required = _REQUIRED.match(description)
    expecting = _EXPECTING.match(description)
    if required:
        node = required.group(2)
        what = _NODE_WORDS.get(node) or (f"'{token}' needs a value on its right" if token else "a value is missing")
    elif expecting:
        what = f"expected {expecting.group(1)} before '{token}'" if token else f"expected {expecting.group(1)}"
    elif description.startswith("Invalid expression / Unexpected token"):
        what = f"unexpected '{token}'"
    else:
        what = description
    line, column = int(first.get("line") or 1), int(first.get("col") or 1)
    return SqlError(f"cannot parse the query: {what} {where(sql, _offset(sql, line, column, token), len(token))}")


def token_error(sql: str, exc: Exception) -> SqlError:
    """The tokenizer's failure: almost always a quote that is never closed."""
    quote = next((i for i, ch in enumerate(sql) if ch in "'\"" and sql.count(ch, i) % 2 == 1), None)
    if quote is not None:
        return SqlError(f"cannot parse the query: a quote is never closed {where(sql, quote)}")
    return SqlError(f"cannot parse the query: {str(exc).splitlines()[0]}")


def column_position(sql: str, tree: exp.Expression, name: str, qualifier: str | None = None) -> str:
    """Where the user wrote the column ``name`` (optionally ``qualifier.name``), or "" if it cannot be found."""
    for column in tree.find_all(exp.Column):
        if column.name.lower() != name.lower():
            continue
        if qualifier is not None and column.table.lower() != qualifier.lower():
            continue
        node = column.args.get("table") if qualifier is not None else column.this
        start = (node or column.this).meta.get("start") if hasattr(node or column.this, "meta") else None
        if isinstance(start, int):
            return " " + where(sql, start, len(column.sql()))
    return ""


_COLUMN_NOT_FOUND = re.compile(r'Referenced column "([^"]+)" not found')
_NO_SUCH_COLUMN = re.compile(r'(?:Table|Values list) "([^"]+)" does not have a column named "([^"]+)"')
_TABLE_NOT_FOUND = re.compile(r'Referenced table "([^"]+)" not found')
_NO_FUNCTION = re.compile(r'Scalar Function with name (\w+) does not exist!?(?:.*Did you mean "([^"]+)")?', re.S)
_SCAN = re.compile(r"__scan_\d+ AS ")


def engine_error(sql: str, tree: exp.Expression, text: str, columns: Mapping[str, list[str]]) -> SqlError:
    """DuckDB's error in the user's words. ``columns``: each table alias of the query -> its columns (GetTable)."""
    body = text.split(":", 1)[1].strip() if ":" in text.split("\n", 1)[0] else text
    first_line = body.split("\n", 1)[0]
    tables = ", ".join(sorted(columns))
    match = _COLUMN_NOT_FOUND.search(first_line)
    if match:
        name = match.group(1)
        known = "; ".join(
            ", ".join(cols) if len(columns) == 1 else f"{alias}: {', '.join(cols)}"
            for alias, cols in sorted(columns.items())
        )
        return SqlError(
            f"unknown column '{name}'{column_position(sql, tree, name)}",
            hint=f"columns of {tables}: {known}" if len(known) < 1500 else f"see the columns with: DESCRIBE {tables}",
        )
    match = _NO_SUCH_COLUMN.search(first_line)
    if match:
        alias, name = match.group(1), match.group(2)
        return SqlError(
            f"{alias} has no column '{name}'{column_position(sql, tree, name, alias)}",
            hint=f"columns of {alias}: {', '.join(columns.get(alias.lower(), []))}",
        )
    match = _TABLE_NOT_FOUND.search(first_line)
    if match:
        return SqlError(f"unknown table or alias '{match.group(1)}' (the query reads: {tables})")
    match = _NO_FUNCTION.search(body)
    if match:
        suggestion = f"; did you mean {match.group(2)}?" if match.group(2) else ""
        return SqlError(f"unknown function {match.group(1)}(){suggestion}")
    message = _SCAN.sub("", first_line)
    return SqlError(f"the query failed in the engine: {message}")
