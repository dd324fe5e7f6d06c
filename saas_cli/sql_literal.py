"""Values as the SQL literals that would write them: what ``--explain`` shows, so it can be pasted back."""

from __future__ import annotations

import datetime as dt
from typing import Any


def sql_literal(value: Any) -> str:
    """A pushed value as the SQL literal that would write it (what the user can paste back into a query)."""
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            utc = value.astimezone(dt.UTC).replace(tzinfo=None)
            return f"TIMESTAMP '{utc.isoformat(sep=' ', timespec='milliseconds')} UTC'"
        return f"TIMESTAMP '{value.isoformat(sep=' ', timespec='milliseconds')}'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, bytes):
        return f"X'{value.hex()}'"
    return str(value)


def predicate_text(field: str, op: str, value: Any) -> str:
    """``field op value`` with the value (or each value of a tuple) as a SQL literal."""
    if isinstance(value, tuple):
        return f"{field} {op} ({', '.join(sql_literal(v) for v in value)})"
    return f"{field} {op}" if value is None else f"{field} {op} {sql_literal(value)}"
