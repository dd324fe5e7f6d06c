"""``--explain``: the calls the engine made, and what each scan pushed to the connector (and the API)."""

from __future__ import annotations

from collections import Counter
from typing import Any, TextIO

from athena_connector.order_search import order_search
from athena_connector.wire import AllOrNoneValueSet, SortedRangeSet, ValueSet
from saas_cli.api_plan import api_plan
from saas_cli.athena_engine import QueryOutcome, ScanResult
from saas_cli.output import heading, say
from saas_cli.sql_literal import sql_literal
from shared.spec.model import SourceSpec


def describe_value_set(vs: ValueSet) -> str:
    if isinstance(vs, AllOrNoneValueSet):
        if vs.all:
            return "IS NOT NULL" if not vs.null_allowed else "anything"
        return "IS NULL" if vs.null_allowed else "nothing"
    if isinstance(vs, SortedRangeSet):
        parts = []
        for r in vs.ranges:
            if r.is_all:
                parts.append("IS NOT NULL")
            elif r.is_single_value:
                parts.append(f"= {sql_literal(r.low.value)}")
            else:
                low = "(-inf" if r.low.is_unbounded else f"{'[' if r.low_inclusive else '('}{sql_literal(r.low.value)}"
                high = (
                    "+inf)" if r.high.is_unbounded else f"{sql_literal(r.high.value)}{']' if r.high_inclusive else ')'}"
                )
                parts.append(f"in {low}, {high}")
        if vs.null_allowed:
            parts.append("IS NULL")
        return " or ".join(parts) if parts else "nothing"
    values = ", ".join(sql_literal(v) for v in vs.values)
    text = f"{'in' if vs.white_list else 'not in'} ({values})"
    return text + (" or IS NULL" if vs.null_allowed else "")


def capability_names(capabilities: dict[str, Any]) -> str:
    if not capabilities:
        return "none"
    return ", ".join(sorted(capabilities))


def scan_lines(res: ScanResult, spec: SourceSpec | None = None) -> list[str]:
    scan = res.scan
    c = res.pushdown.constraints
    label = f"{res.info.name.schema_name}.{scan.table}" + (f" AS {scan.alias}" if scan.alias != scan.table else "")
    lines = [f"scan {scan.index + 1}: {label}"]
    lines.append(f"  columns read:   {', '.join(res.projection.names) or '(none: only the row count)'}")
    if c.summary:
        for column, vs in c.summary.items():
            lines.append(f"  pushed filter:  {column} {describe_value_set(vs)}  [{type(vs).__name__}]")
    else:
        lines.append("  pushed filter:  none")
    for text in res.pushdown.pushed:
        lines.append(f"    from: {text}")
    for text, why in res.pushdown.kept:
        lines.append(f"  kept by engine: {text}  ({why})")
    if c.limit >= 0:
        order = ", ".join(f"{o.column_name} {o.direction.value}" for o in c.order_by)
        lines.append(f"  pushed limit:   {c.limit}" + (f" ordered by {order}" if order else ""))
    elif res.pushdown.limit_note:
        lines.append(f"  limit:          {res.pushdown.limit_note}")
    if spec is not None:
        try:
            entity = spec.entity(scan.table)
        except KeyError:
            entity = None
        if entity is not None:
            plan = api_plan(entity, res.pushdown.domains)
            params = " ".join(f"{k}={v}" for k, v in plan.params) or "none"
            lines.append(f"  API parameters: {params}  (per the spec's filters)")
            if plan.parents is not None:
                lines.append(f"  parents read:   {plan.parents} (only the parents the query names)")
            if plan.local:
                lines.append(f"  connector-side: {'; '.join(plan.local)}")
            lines += order_search_lines(entity, res, {k for k, _ in plan.params})
    spill = ""
    if res.spilled_splits:
        spill = f", {res.spilled_splits} spilled to S3 ({res.spilled_blocks} blocks, {res.spilled_bytes:,} bytes)"
    lines.append(
        f"  read:           {res.rows} rows from {len(res.splits)} split(s) "
        f"({res.partitions} partition(s), {res.split_calls} GetSplits call(s)){spill}"
    )
    return lines


def order_search_lines(entity: Any, res: ScanResult, used: set[str]) -> list[str]:
    """ORDER BY ... LIMIT and LIKE: the sort and search parameters the connector sends, and how exact it stays."""
    c = res.pushdown.constraints
    if not c.expression and not (c.order_by and c.has_limit):
        return []
    types = {f.name: f.type for f in res.info.schema}
    extra = order_search(entity, c, types, used)
    lines = []
    if extra.params:
        params = " ".join(f"{k}={v}" for k, v in extra.params)
        lines.append(f"  API sort/search: {params}  (per the spec's sort and search)")
    lines += [f"  {note}" for note in extra.notes]
    if c.expression:
        lines.append("  LIKE:           applied by the connector to every row (the API's search only narrows)")
    return lines


def call_lines(outcome: QueryOutcome) -> list[str]:
    """Per request type: the count, the wall time (first sent to last answered) and, where calls overlapped,
    their summed time (ReadRecords run in parallel: the sum is not the time the query took)."""
    counts: Counter[str] = Counter()
    summed: Counter[str] = Counter()
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    for call in outcome.calls:
        name = call.request.removesuffix("Request")
        counts[name] += 1
        summed[name] += call.seconds
        first[name] = min(first.get(name, call.started), call.started)
        last[name] = max(last.get(name, call.started + call.seconds), call.started + call.seconds)
    lines = [f"  {'call':<26} {'count':>5}  {'wall time':>9}  summed over parallel calls"]
    for name, n in counts.items():
        wall = last[name] - first[name]
        parallel = f"{summed[name]:8.3f} s" if summed[name] > wall * 1.05 else ""
        lines.append(f"  {name:<26} {n:>5}  {wall:7.3f} s  {parallel}".rstrip())
    lines.append(f"  {'whole query':<26} {len(outcome.calls):>5}  {outcome.seconds:7.3f} s")
    return lines


def print_explain(outcome: QueryOutcome, spec: SourceSpec | None = None, stream: TextIO | None = None) -> None:
    heading("Calls made (as Athena makes them)", stream)
    for line in call_lines(outcome):
        say(line, stream=stream)
    say(
        f"  serDeVersion {outcome.ping.serde_version}; capabilities: {capability_names(outcome.capabilities)}",
        stream=stream,
    )
    heading("Pushdown per scan", stream)
    for res in outcome.scans:
        for line in scan_lines(res, spec):
            say(line, stream=stream)
    heading("Engine (DuckDB) ran", stream)
    say(f"  {outcome.engine_sql}", stream=stream)
    say(f"  {outcome.result.num_rows} result rows in {outcome.seconds:.2f} s", stream=stream)
