"""The table scans of a SQL query (sqlglot, Trino/Athena dialect), and the query rewritten to read them.

Each reference to a connector table is one *scan*, as in Athena: its own GetTableLayout, splits and reads,
with the columns the query needs and the constraints derived for it (``sql_constraints``). The query itself
is rewritten so every scan reads a registered table ``__scan_<n>`` (keeping the alias, or the table name as the
alias, so qualified column references still resolve), then runs in DuckDB.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from saas_cli.errors import SqlError
from saas_cli.sql_errors import parse_error, token_error

READ_DIALECT = "trino"  # Athena's DML is Trino's
ENGINE_DIALECT = "duckdb"
OUTER = ("LEFT", "RIGHT", "FULL")


@dataclass
class Scan:
    """One reference to a connector table in the query."""

    index: int
    schema: str | None  # as written (None: the catalog's schema)
    table: str
    alias: str
    node: exp.Table
    select: exp.Select | None
    null_supplying: bool = False  # the inner side of an outer join: WHERE conjuncts cannot be pushed
    join_on: exp.Expression | None = None  # this scan's own ON clause (outer joins)
    columns: set[str] = field(default_factory=set)
    star: bool = False

    @property
    def view(self) -> str:
        return f"__scan_{self.index}"


@dataclass
class ParsedQuery:
    tree: exp.Expression
    scans: list[Scan]
    sql: str = ""  # as the user wrote it (error positions point into it)
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))  # current_timestamp, as folded

    def engine_sql(self) -> str:
        """The query for DuckDB: every scan replaced by its registered table."""
        tree = self.tree.copy()
        by_index = dict(enumerate(self.scans))
        for i, node in enumerate(_scan_nodes(tree, _cte_names(tree))):
            scan = by_index[i]
            replacement = exp.Table(this=exp.to_identifier(scan.view))
            replacement.set("alias", exp.TableAlias(this=exp.to_identifier(scan.alias)))
            node.replace(replacement)
        try:
            return tree.sql(dialect=ENGINE_DIALECT)
        except sqlglot.errors.SqlglotError as exc:
            raise SqlError(f"cannot translate the query for the engine: {exc}") from None


def parse_query(sql: str) -> ParsedQuery:
    if not sql.strip():
        raise SqlError("the query is empty")
    try:
        statements = [s for s in sqlglot.parse(sql, read=READ_DIALECT) if s is not None]
    except ParseError as exc:
        raise parse_error(sql, exc) from None
    except TokenError as exc:
        raise token_error(sql, exc) from None
    if len(statements) != 1:
        raise SqlError(f"expected one statement, found {len(statements)}")
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        raise SqlError(f"only queries (SELECT ...) can run here, not {tree.key.upper()}")
    ctes = _cte_names(tree)
    scans = []
    for i, node in enumerate(_scan_nodes(tree, ctes)):
        table = node.name.lower()
        schema = node.db.lower() if node.db else None
        alias = (node.alias or node.name).lower()
        select = node.find_ancestor(exp.Select)
        scans.append(Scan(i, schema, table, alias, node, select))
    if not scans:
        raise SqlError("the query reads no table of this catalog")
    _mark_joins(scans)
    return ParsedQuery(tree, scans, sql)


def _cte_names(tree: exp.Expression) -> set[str]:
    return {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}


def _scan_nodes(tree: exp.Expression, ctes: set[str]) -> Iterator[exp.Table]:
    """Table references that name a stored table (not a CTE, not a table function), in tree order."""
    for node in tree.find_all(exp.Table):
        if not isinstance(node.this, exp.Identifier):
            continue  # UNNEST(...), table functions
        if not node.db and node.name.lower() in ctes:
            continue
        yield node


def direct_tables(select: exp.Select) -> list[tuple[exp.Expression, exp.Join | None]]:
    """The FROM source and each JOIN source of a SELECT, with its join (None for the FROM)."""
    out: list[tuple[exp.Expression, exp.Join | None]] = []
    source = select.args.get("from_") or select.args.get("from")
    if source is not None:
        out.append((source.this, None))
    for join in select.args.get("joins") or []:
        out.append((join.this, join))
    return out


def _mark_joins(scans: list[Scan]) -> None:
    """Which scans sit on the null-supplying side of an outer join (their WHERE conjuncts stay above)."""
    for scan in scans:
        if scan.select is None:
            continue
        sources = direct_tables(scan.select)
        position = next((i for i, (node, _) in enumerate(sources) if node is scan.node), None)
        if position is None:
            continue
        joins = [join for _, join in sources]
        own = joins[position]
        side = (own.side or "").upper() if own is not None else ""
        later = [(j.side or "").upper() for j in joins[position + 1 :] if j is not None]
        if side in ("LEFT", "FULL") or any(s in ("RIGHT", "FULL") for s in later):
            scan.null_supplying = True
        if own is not None and side in ("LEFT",):
            scan.join_on = own.args.get("on")


def assign_columns(parsed: ParsedQuery, columns_of: dict[int, list[str]]) -> None:
    """The columns each scan must return (Athena's projection): every column the query names that the scan
    may own, or all of them for ``*`` / ``alias.*``. Over-approximates for ambiguous names, never misses."""
    scans = parsed.scans
    aliases = {s.alias for s in scans}
    for column in parsed.tree.find_all(exp.Column):
        parts = [p.name.lower() for p in column.parts]  # e.g. [c, address, city]
        if isinstance(column.this, exp.Star):
            qualifier = parts[-2] if len(parts) >= 2 else None
            for scan in scans:
                if qualifier == scan.alias:
                    scan.star = True
            continue
        for scan in scans:
            names = columns_of[scan.index]
            if len(parts) >= 2 and parts[0] == scan.alias and parts[1] in names:
                scan.columns.add(parts[1])  # alias.column[.field...]
            elif len(parts) >= 3 and parts[1] == scan.alias and parts[2] in names:
                scan.columns.add(parts[2])  # schema.table.column
            elif parts[0] in names and (len(parts) == 1 or parts[0] not in aliases):
                scan.columns.add(parts[0])  # column, or column.field (struct access)
    for select in parsed.tree.find_all(exp.Select):
        if not any(isinstance(e, exp.Star) for e in select.expressions):
            continue
        direct = {id(node) for node, _ in direct_tables(select)}
        for scan in scans:
            if id(scan.node) in direct:
                scan.star = True
    for scan in scans:
        if scan.star:
            scan.columns = set(columns_of[scan.index])
