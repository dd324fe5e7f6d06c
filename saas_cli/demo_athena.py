"""The demo's Athena part: a handful of SQL queries through the connector, each answer compared with DuckDB's
answer over the API's complete data, showing what was pushed down and which query spilled to S3."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from saas_cli.api_plan import api_plan
from saas_cli.athena_engine import AthenaEngine, QueryOutcome
from saas_cli.explain import describe_value_set
from saas_cli.invoker import ATHENA_HANDLER, InProcessInvoker
from saas_cli.output import Progress, print_table, say
from saas_cli.reference_data import expected_answer, normalized_rows, same_answer, typed_table
from shared.spec.model import SourceSpec

SPILL_INLINE_LIMIT = 65_536  # maxInlineBlockSize for the export query, so a demo-sized result spills


@dataclass(frozen=True)
class DemoQuery:
    title: str
    sql: str
    ordered: bool = False
    max_inline: int | None = None
    any_rows_of: str | None = None  # LIMIT without ORDER BY: any rows of this query's answer will do


QUERIES = (
    DemoQuery(
        "filters on two columns, pushed down",
        "SELECT status, count(*) AS contacts, round(avg(score), 1) AS avg_score FROM contacts "
        "WHERE status IN ('customer', 'lead') AND score >= 50 GROUP BY status ORDER BY status",
        ordered=True,
    ),
    DemoQuery(
        "a range, an equality and a date",
        "SELECT industry, count(*) AS accounts, sum(annual_revenue) AS revenue FROM accounts "
        "WHERE employees BETWEEN 100 AND 5000 AND is_active = true AND founded_on >= DATE '1990-01-01' "
        "GROUP BY industry ORDER BY industry",
        ordered=True,
    ),
    DemoQuery(
        "a join: open pipeline per account",
        "SELECT a.name, count(*) AS deals, sum(d.amount) AS pipeline FROM deals d "
        "JOIN accounts a ON a.id = d.account_id WHERE d.stage IN ('proposal', 'negotiation') "
        "GROUP BY a.name ORDER BY pipeline DESC, a.name LIMIT 5",
        ordered=True,
    ),
    DemoQuery(
        "a child entity, read only for the contacts named",
        "SELECT contact_id, type, count(*) AS n FROM activities WHERE contact_id IN (1, 2, 3, 4, 5, 6, 7, 8) "
        "GROUP BY contact_id, type ORDER BY contact_id, type",
        ordered=True,
    ),
    DemoQuery(
        "LIMIT pushed to the connector",
        "SELECT id, first_name, last_name FROM contacts WHERE status = 'customer' "
        "AND updated_at >= TIMESTAMP '2025-01-01 00:00:00' LIMIT 10",
        any_rows_of="SELECT id, first_name, last_name FROM contacts WHERE status = 'customer' "
        "AND updated_at >= TIMESTAMP '2025-01-01 00:00:00'",
    ),
    DemoQuery(
        "a filter the API cannot apply (kept by the engine)",
        "SELECT count(*) AS gmail_contacts FROM contacts WHERE lower(email) LIKE '%.gmail%' OR phone IS NULL",
    ),
    DemoQuery(
        "a wide export that spills to S3 (encrypted)",
        "SELECT * FROM contacts",
        max_inline=SPILL_INLINE_LIMIT,
    ),
)


@dataclass
class QueryCheck:
    query: DemoQuery
    outcome: QueryOutcome
    ok: bool
    expected_rows: int


def pushed_summary(outcome: QueryOutcome, spec: SourceSpec) -> tuple[str, str]:
    """(what the connector was sent, what the API was sent) for a demo table."""
    to_connector, to_api = [], []
    for res in outcome.scans:
        c = res.pushdown.constraints
        parts = [f"{col} {describe_value_set(vs)}" for col, vs in c.summary.items()]
        if c.limit >= 0:
            parts.append(f"LIMIT {c.limit}")
        if parts:
            to_connector.append(f"{res.scan.table}: " + "; ".join(parts))
        plan = api_plan(spec.entity(res.scan.table), res.pushdown.domains)
        params = [f"{k}={v}" for k, v in plan.params]
        if plan.parents is not None:
            params.append(f"{plan.parents} parents")
        if params:
            to_api.append(f"{res.scan.table}: " + " ".join(params))
    return "; ".join(to_connector) or "none", "; ".join(to_api) or "none"


def run_queries(server: Any, spec: SourceSpec, bar: Progress) -> list[QueryCheck]:
    tables = {e.name: typed_table(e, server.store.all_records(e.name)) for e in spec.entities}
    invoker = InProcessInvoker(ATHENA_HANDLER, function_name="athena-saas")
    checks = []
    for i, query in enumerate(QUERIES, 1):
        bar.update(f"query {i}/{len(QUERIES)}: ReadRecords", 0, None)
        engine = AthenaEngine(
            invoker,
            catalog="saas",
            schema=spec.api.name,
            progress=lambda what, done, total, i=i: bar.update(f"query {i}/{len(QUERIES)}: {what}", done, total),
            **({"max_inline": query.max_inline} if query.max_inline else {}),
        )
        outcome = engine.run(query.sql)
        if query.any_rows_of:
            everything = expected_answer(query.any_rows_of, tables)
            limit = int(query.sql.rsplit("LIMIT", 1)[1])
            ok = outcome.result.num_rows == min(limit, everything.num_rows) and set(
                normalized_rows(outcome.result, ordered=False)
            ) <= set(normalized_rows(everything, ordered=False))
            checks.append(QueryCheck(query, outcome, ok, min(limit, everything.num_rows)))
            continue
        expected = expected_answer(query.sql, tables)
        checks.append(
            QueryCheck(query, outcome, same_answer(outcome.result, expected, ordered=query.ordered), expected.num_rows)
        )
    return checks


def preview(table: Any, rows: int = 3, width: int = 110) -> str:
    """A few rows of an answer on one line each, so the demo shows data and not only counts."""
    lines = []
    for row in table.slice(0, rows).to_pylist():
        text = ", ".join(f"{k}={v}" for k, v in row.items())
        lines.append(text if len(text) <= width else text[: width - 3] + "...")
    return ("\n       " + "\n       ".join(lines)) if lines else " none"


def report_queries(checks: list[QueryCheck], spec: SourceSpec) -> None:
    rows = []
    for i, check in enumerate(checks, 1):
        outcome = check.outcome
        to_connector, to_api = pushed_summary(outcome, spec)
        splits = sum(len(s.splits) for s in outcome.scans)
        spilled = sum(s.spilled_splits for s in outcome.scans)
        blocks = sum(s.spilled_blocks for s in outcome.scans)
        rows.append(
            (
                i,
                check.query.title,
                outcome.result.num_rows,
                splits,
                f"{spilled} split(s), {blocks} block(s)" if spilled else "no",
                f"{outcome.seconds:.2f}",
                "ok" if check.ok else "MISMATCH",
            )
        )
        say(f"  {i}. {check.query.sql}", style="bold")
        say(f"     pushed to the connector: {to_connector}")
        say(f"     sent to the API:         {to_api}")
        kept = [text for res in outcome.scans for text, _ in res.pushdown.kept]
        if kept:
            say(f"     kept by the engine:      {'; '.join(kept)}")
        say(f"     answer ({outcome.result.num_rows} rows):{preview(outcome.result)}")
    print_table(
        "Queries through the Athena connector (answers compared with DuckDB over the API's full data)",
        ["#", "query", "rows", "splits", "spilled to S3", "seconds", "check"],
        rows,
    )
