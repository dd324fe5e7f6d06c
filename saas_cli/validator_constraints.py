"""``validate --constraints "score>50,status=customer"``: the SDK validator's constraint grammar, as Athena would
send it, and the check that a read honoured it.

The grammar is the Java ConnectorValidator's: comma-separated ``column<op>value`` with ``=``, ``!=``, ``>``,
``>=``, ``<``, ``<=``, ANDed; ``column=`` (no value) means IS NULL and ``column!=`` IS NOT NULL. Values are read as
the column's type (numbers, ``true``/``false``, dates and timestamps in ISO-8601, text as written); conditions on
the same column intersect. Every problem names the condition and the column.

The connector promises to apply constraints exactly (``athena_connector/filtering.py``), so a row that breaks one
is a failure of the connector, found here independently of its own filter code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from athena_connector.wire import Constraints
from saas_cli.errors import UsageError
from saas_cli.sql_constraints import Domain, Interval, NotPushable, convert, orderable, value_set

_CONDITION = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(!=|>=|<=|=|>|<)\s*(.*?)\s*$")
_ALL = Interval()


@dataclass(frozen=True)
class ParsedConstraints:
    constraints: Constraints
    domains: dict[str, Domain]
    text: str


def _kind(data_type: pa.DataType) -> str:
    if pa.types.is_boolean(data_type):
        return "bool"
    if pa.types.is_integer(data_type) or pa.types.is_floating(data_type) or pa.types.is_decimal(data_type):
        return "number"
    return "string"


def _value(raw: str, data_type: pa.DataType, where: str) -> Any:
    kind = _kind(data_type)
    value: Any = raw
    if kind == "bool":
        if raw.lower() not in ("true", "false"):
            raise UsageError(f"--constraints {where}: a boolean column takes true or false, got {raw!r}")
        value = raw.lower() == "true"
    try:
        return convert(kind, value, data_type)
    except (NotPushable, ValueError, ArithmeticError) as exc:
        raise UsageError(f"--constraints {where}: {raw!r} is not a {data_type} value ({exc})") from None


def _domain(op: str, raw: str, data_type: pa.DataType, where: str) -> Domain:
    if raw == "":
        if op == "=":
            return Domain((), True)
        if op == "!=":
            return Domain((_ALL,), False)
        raise UsageError(f"--constraints {where}: {op} needs a value")
    if not orderable(data_type):
        raise UsageError(f"--constraints {where}: a {data_type} column takes only 'column=' or 'column!=' (null tests)")
    v = _value(raw, data_type, where)
    intervals = {
        "=": (Interval(v, True, v, True),),
        "!=": (Interval(None, False, v, False), Interval(v, False, None, False)),
        ">": (Interval(v, False, None, False),),
        ">=": (Interval(v, True, None, False),),
        "<": (Interval(None, False, v, False),),
        "<=": (Interval(None, False, v, True),),
    }[op]
    return Domain(intervals, False)


def parse_constraints(text: str, schema: pa.Schema) -> ParsedConstraints:
    """The constraints Athena would send for ``text`` on a table of ``schema``; UsageError naming the problem."""
    domains: dict[str, Domain] = {}
    for part in text.split(","):
        if not part.strip():
            raise UsageError(f"--constraints {text!r}: an empty condition (two commas, or one at an end)")
        match = _CONDITION.match(part)
        if match is None:
            raise UsageError(
                f"--constraints: {part.strip()!r} is not column<op>value (ops: =, !=, >, >=, <, <=), "
                'e.g. "score>50,status=customer"'
            )
        column, op, raw = match.groups()
        if column not in schema.names:
            raise UsageError(
                f"--constraints {part.strip()!r}: no column {column!r} (columns: {', '.join(schema.names)})"
            )
        domain = _domain(op, raw, schema.field(column).type, repr(part.strip()))
        domains[column] = domain if column not in domains else domains[column].intersect(domain)
    summary = {c: value_set(d, schema.field(c).type) for c, d in domains.items()}
    return ParsedConstraints(Constraints(summary=summary), domains, text)


def _admits(domain: Domain, value: Any) -> bool:
    if value is None:
        return domain.null_allowed
    for iv in domain.intervals:
        low_ok = iv.low is None or value > iv.low or (iv.low_inclusive and value == iv.low)
        high_ok = iv.high is None or value < iv.high or (iv.high_inclusive and value == iv.high)
        if low_ok and high_ok:
            return True
    return False


def violations(table: pa.Table, parsed: ParsedConstraints, limit: int = 3) -> list[str]:
    """Rows of ``table`` that break the constraints, described (at most ``limit``)."""
    out: list[str] = []
    columns = {c: table.column(c).to_pylist() for c in parsed.domains if c in table.column_names}
    missing = [c for c in parsed.domains if c not in table.column_names]
    if missing:
        return [f"the answer has no column {', '.join(missing)}"]
    for row in range(table.num_rows):
        for column, domain in parsed.domains.items():
            value = columns[column][row]
            if not _admits(domain, value):
                out.append(f"row {row}: {column}={value!r}")
                if len(out) >= limit:
                    return out
    return out
