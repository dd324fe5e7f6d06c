"""Scale against slow, rate-limited APIs, in one run: ``python -m benchmarks.scale [--quick] [--out PATH]``.

Issue 13's benchmarks side by side, each run as it runs alone (a subprocess printing what it prints alone), one
after the other so that none competes with another for the machine:

* ``benchmarks.scale_pages``: one split, 100 and 300 ms a page, an offset and a cursor entity, against the
  sequential and concurrent bounds, with the peer SDK beside ours (one page at a time);
* ``benchmarks.scale_quota``: 8 splits in 8 processes under one 10 requests/s quota at 300 ms a page, with the
  shared table and with each process's adaptive limiter alone (the fallback);
* ``benchmarks.scale_splits``: split planning at 1x, 10x and 100x the demo data (its lines are taken as printed);

then the largest table one query can read within Lambda's limits, from the measured rates:
splits x rows/s per split x time per split, capped by the quota's measured throughput.

Writes the section "Scale against slow, rate-limited APIs" of docs/benchmarks.md between ``<!-- scale:begin -->``
and ``<!-- scale:end -->`` (added with a short intro when the doc has no such section; the rest is left alone).
``--quick`` (2 splits, 3 pages, 50 ms, 1x: a smoke run of about a minute) never writes docs/benchmarks.md: only
``--out`` when given. ``--json`` also writes everything measured.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.doc_blocks import add_section, replace_block
from benchmarks.harness import REPO

DOC = REPO / "docs" / "benchmarks.md"
BLOCK = "scale"
HEADING = "## Scale against slow, rate-limited APIs"
INTRO = (
    "What a data scientist waits for against a real SaaS API is its latency and its quota, not our CPU. These figures "
    "come from `python -m benchmarks.scale`, which runs `benchmarks.scale_pages`, `benchmarks.scale_quota` and "
    "`benchmarks.scale_splits` (each also runnable alone) one after the other against the demo API with its latency "
    "and rate-limit settings, every split in a process of its own, and checks them against issue 13's targets. "
    "The peer Python SDK (athena-federation 0.1.6) reads the same pages beside ours where it can: it has no "
    "concurrency, quota or split sizing, so it appears in the one-split table only. The block below is rewritten "
    "by each full run."
)
LAMBDA_TIMEOUT_S = 900.0
PAGE_RATE_LATENCY_MS = 300  # the per-split rates of the largest-table estimate: scale_pages at this latency


@dataclass(frozen=True)
class Plan:
    quick: bool
    pages: list[str] = field(default_factory=list)
    quota: list[str] = field(default_factory=list)
    splits: list[str] = field(default_factory=list)


FULL = Plan(False)  # each benchmark's own defaults: issue 13's workloads
QUICK = Plan(
    True,
    pages=["--quick", "--rows", "300", "--reps", "1", "--latencies", "50"],
    quota=["--splits", "2", "--pages-per-split", "3", "--latency-ms", "50"],
    splits=["--scales", "1"],
)


# ----------------------------------------------------------------------------------------------------- running


def _run(module: str, args: list[str], timeout: float) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "POWERTOOLS_METRICS_DISABLED": "true"}
    started = time.perf_counter()
    print(f"== python -m {module} {' '.join(args)}", file=sys.stderr, flush=True)
    done = subprocess.run(  # its stderr (progress, and why it failed) passes through
        [sys.executable, "-m", module, *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        timeout=timeout,
        check=False,
    )
    return done, time.perf_counter() - started


def _failure(module: str, done: subprocess.CompletedProcess[str]) -> str:
    printed = done.stdout.strip()[-1000:] or "nothing"
    return f"`python -m {module}` exited with {done.returncode} after printing {printed} (its stderr says why)"


def run_pages(plan: Plan, tmp: Path) -> dict[str, Any]:
    out = tmp / "pages.json"
    done, seconds = _run("benchmarks.scale_pages", [*plan.pages, "--json", str(out)], 3600)
    if not out.is_file():  # exit 1 with the file written: a target missed, reported below
        return {"error": _failure("benchmarks.scale_pages", done), "seconds": seconds}
    report = json.loads(out.read_text())
    table = [line for line in done.stdout.splitlines() if line.startswith("|")]
    report.update(table="\n".join(table), seconds=seconds)
    return dict(report)


def run_quota(plan: Plan) -> dict[str, Any]:
    done, seconds = _run("benchmarks.scale_quota", [*plan.quota, "--json"], 3600)
    lines = done.stdout.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("[")), None)
    if done.returncode != 0 or start is None:
        return {"error": _failure("benchmarks.scale_quota", done), "seconds": seconds}
    summary = "\n".join(lines[:start]).strip()
    return {"summary": summary, "modes": json.loads("\n".join(lines[start:])), "seconds": seconds}


SPLIT_LINE = re.compile(
    r"^\s*(?P<scale>[\d.]+)x\s+(?P<entity>\w+)\s+(?P<spec>\w+)\s+records\s+(?P<records>[\d,]+)\s+splits\s+"
    r"(?P<splits>\d+)\s+largest\s+(?P<largest>[\d,]+)\s+\((?P<mark>ok|OVER)\)"
)


def run_splits(plan: Plan) -> dict[str, Any]:
    done, seconds = _run("benchmarks.scale_splits", plan.splits, 3600)
    lines = [line for line in done.stdout.splitlines() if line.startswith("target:") or SPLIT_LINE.match(line)]
    rows = [m.groupdict() for m in map(SPLIT_LINE.match, lines) if m]
    if done.returncode != 0 or not rows:
        return {"error": _failure("benchmarks.scale_splits", done), "lines": lines, "seconds": seconds}
    return {"lines": lines, "rows": rows, "seconds": seconds}


# ---------------------------------------------------------------------------------------------------- judging


def time_per_split() -> tuple[float, float]:
    """(seconds a split can read in a 900 s Lambda, the margin kept back): the handler's read margin at 900 s."""
    from athena_connector.config import ConnectorConfig
    from athena_connector.handler import MAX_MARGIN_SHARE

    margin = min(ConnectorConfig.from_environment({}).deadline_margin_s, LAMBDA_TIMEOUT_S * MAX_MARGIN_SHARE)
    return LAMBDA_TIMEOUT_S - margin, margin


def page_targets(pages: dict[str, Any]) -> list[tuple[str, str, bool]]:
    out = []
    for row in pages.get("rows", []):
        if "met" not in row:
            continue
        bound = "concurrent" if "concurrent" in row["target"] else "sequential"
        what = (
            f"{row['entity']} ({row['pagination']}, K={row['concurrency']}), {row['latency_ms']} ms: "
            f"{row['target'].replace('<=', 'within')}"
        )
        measured = (
            f"{row[f'vs_{bound}']:.2f}x ({row['wall_s']:.2f} s for {row['pages']} pages; bound "
            f"{row[f'{bound}_bound_s']:.2f} s)"
        )
        out.append((what, measured, bool(row["met"])))
    return out


def quota_targets(quota: dict[str, Any], settings: str) -> list[tuple[str, str, bool]]:
    out = []
    for r in quota.get("modes", []):
        mode = "shared table" if r["mode"] == "shared" else "fallback (no table: each process's limiter alone)"
        out += [
            (f"{settings}, {mode}: 0 failed splits", f"{r['failed_splits']}", r["failed_splits"] == 0),
            (
                f"{settings}, {mode}: >= 85% of the quota's throughput",
                f"{r['throughput_share']:.1%} ({r['records']:,} records in {r['wall_s']:.1f} s)",
                r["throughput_share"] >= 0.85,
            ),
            (
                f"{settings}, {mode}: <= 5% of requests answered 429",
                f"{r['share_429']:.1%} ({r['answered_429']} of {r['requests']})",
                r["share_429"] <= 0.05,
            ),
        ]
    return out


def split_targets(splits: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """The sized plans (every label but ``static``, the hints alone, shown for reference) at every scale."""
    out = []
    labels = sorted({r["spec"] for r in splits.get("rows", []) if r["spec"] != "static"})
    target = next((line.split(":", 1)[1].split("rows")[0].strip() for line in splits.get("lines", [])
                   if line.startswith("target:")), "?")  # fmt: skip
    for label in labels:
        rows = [r for r in splits["rows"] if r["spec"] == label]
        over = [f"{r['entity']} at {r['scale']}x ({r['largest']})" for r in rows if r["mark"] != "ok"]
        scales = "/".join(sorted({r["scale"] for r in rows}, key=float))
        largest = max(int(r["largest"].replace(",", "")) for r in rows)
        measured = f"largest {largest:,} rows over {scales}x" + (f"; over: {', '.join(over)}" if over else "")
        out.append((f"largest split at or under {target} rows at every scale ({label} plan)", measured, not over))
    return out


def largest_table(pages: dict[str, Any], quota: dict[str, Any]) -> dict[str, Any] | None:
    """splits x rows/s per split x time per split, capped by quota x records/page x measured share x time."""
    rows = [r for r in pages.get("rows", []) if r["concurrency"] == pages.get("settings", {}).get("k")]
    shared = next((r for r in quota.get("modes", []) if r["mode"] == "shared"), None)
    if not rows or shared is None:
        return None
    latency = PAGE_RATE_LATENCY_MS if any(r["latency_ms"] == PAGE_RATE_LATENCY_MS for r in rows) else None
    latency = latency or max(r["latency_ms"] for r in rows)
    seconds, margin = time_per_split()
    settings = quota["settings"]
    cap_rate = settings["rate"] * settings["page_size"] * shared["throughput_share"]
    out: dict[str, Any] = {"latency_ms": latency, "seconds": seconds, "margin": margin, "splits": settings["splits"]}
    out.update(quota_rate=settings["rate"], page_size=settings["page_size"], share=shared["throughput_share"])
    out["quota_wall_s"] = shared["wall_s"]
    out["cap_rows"] = cap_rate * seconds
    out["by_pagination"] = []
    for r in rows:
        if r["latency_ms"] != latency:
            continue
        per_split = pages["settings"]["rows"] / r["wall_s"]
        uncapped = settings["splits"] * per_split * seconds
        out["by_pagination"].append(
            {
                "entity": r["entity"],
                "pagination": r["pagination"],
                "rows_per_s": per_split,
                "one_split": per_split * seconds,
                "uncapped": uncapped,
                "largest": min(uncapped, out["cap_rows"]),
                "splits_to_cap": math.ceil(cap_rate / per_split),
            }
        )
    return out


# ---------------------------------------------------------------------------------------------------- writing


def _table(rows: list[tuple[str, str, bool]]) -> list[str]:
    lines = ["| target | measured | verdict |", "|---|---|---|"]
    return lines + [f"| {what} | {measured} | {'**met**' if ok else '**missed**'} |" for what, measured, ok in rows]


def render(results: dict[str, Any]) -> str:
    meta, pages, quota, splits = (results[k] for k in ("meta", "pages", "quota", "splits"))
    m = meta["machine"]
    lines = [
        f"Last run: `{meta['command']}` on {meta['date']}, {meta['seconds']:.0f} s"
        + (" (**--quick: a smoke run with tiny sizes; these numbers mean nothing**)" if meta["quick"] else "")
        + ".",
        "",
        f"- Machine: {m.get('cpu', '?')}, {m.get('cores', '?')} cores, {m.get('memory', '?')}; commit "
        f"{m.get('commit', '?')}.",
        f"- Load average (1/5/15 min): {meta['load_before']} before, {meta['load_after']} after (a shared machine: "
        "other jobs ran beside this one; wall times include their contention).",
        "",
        "### Targets (issue 13)",
        "",
    ]
    quota_settings = (
        f"{quota['settings']['splits']} splits, {quota['settings']['rate']:g} req/s, "
        f"{quota['settings']['latency_ms']:g} ms"
        if "settings" in quota
        else "quota"
    )
    targets = page_targets(pages) + quota_targets(quota, quota_settings) + split_targets(splits)
    lines += _table(targets)
    errors = [f"- {name}: {part['error']}" for name, part in (("pages", pages), ("quota", quota), ("splits", splits))
              if "error" in part]  # fmt: skip
    if errors:
        lines += ["", "Not measured (the benchmark failed):", "", *errors]
    lines += ["", "### One split, concurrent pages (`benchmarks.scale_pages`)", ""]
    if "rows" in pages:
        s = pages["settings"]
        lines += [
            f"{s['rows']:,} records of each entity, {s['page_size']} a page, K={s['k']} pages at once for offset "
            f"(cursor: the next page fetched while this one is built), median of {s['reps']} (K=1, one page at a "
            "time, measured once as a reference); wall time of one ReadRecords through the Lambda handler in a "
            "fresh process; pages counted by the demo API. Bounds: pages x latency (sequential), / K (concurrent).",
            "",
            pages["table"],
            "",
            (
                f"The peer SDK ({pages['peer']['note']}) answers the same ReadRecordsRequest in a fresh process of "
                f"its own; {pages['peer']['what']}, so only the sequential bound applies to it."
                if pages["peer"]["ran"]
                else f"The peer SDK was not run: {pages['peer']['note']} ({pages['peer']['what']})."
            ),
        ]
    lines += ["", "### Parallel splits under one quota (`benchmarks.scale_quota`)", ""]
    if "summary" in quota:
        lines += ["```text", quota["summary"], "```"]
    lines += ["", "### Split planning as the data grows (`benchmarks.scale_splits`)", ""]
    if splits.get("lines"):
        lines += ["```text", *splits["lines"], "```"]
    lines += ["", "### The largest table one query can read within Lambda's limits", ""]
    lines += _largest_lines(results.get("largest"))
    return "\n".join(lines)


def _largest_lines(big: dict[str, Any] | None) -> list[str]:
    if big is None:
        return ["Not computed: the page or quota benchmark did not give its rates."]
    cap = (
        f"{big['quota_rate']:g} req/s x {big['page_size']} records/page x {big['share']:.1%} measured share x "
        f"{big['seconds']:g} s = {big['cap_rows']:,.0f} rows"
    )
    lines = [
        f"largest table = splits x rows/s per split x time per split, capped by quota x records/page x measured "
        f"share x time per split. Time per split: Lambda's {LAMBDA_TIMEOUT_S:g} s minus the read's deadline margin "
        f"({big['margin']:g} s) = {big['seconds']:g} s. Rows/s per split: `scale_pages` at {big['latency_ms']} ms "
        f"a page (rows / median wall). Splits: {big['splits']}, as in `scale_quota`. The quota's cap: {cap} "
        f"(`scale_quota`, shared table; its share was measured over {big['quota_wall_s']:.1f} s, which the API's "
        f"one-second burst helps: over {big['seconds']:g} s the share can only approach 100% of the quota).",
        "",
        "| entity (pagination) | rows/s per split | one split in "
        f"{big['seconds']:g} s | {big['splits']} splits, no quota | under the quota | splits that reach the quota |",
        "|---|---|---|---|---|---|",
    ]
    for p in big["by_pagination"]:
        uncapped = f"{big['splits']} x {p['rows_per_s']:,.0f} x {big['seconds']:g} = {p['uncapped']:,.0f}"
        lines.append(
            f"| {p['entity']} ({p['pagination']}) | {p['rows_per_s']:,.0f} | {p['one_split']:,.0f} | {uncapped} "
            f"| **{p['largest']:,.0f}** | {p['splits_to_cap']} |"
        )
    lines += [
        "",
        "Under the quota, more splits than the last column do not read more: the API's quota, not the connector, "
        "sets the largest table. Reading it takes as many splits as keep each under the time per split; with "
        "counts declared, the planner kept every split under its target at every scale measured (table above).",
    ]
    return lines


def write(doc: Path, body: str) -> None:
    """The block in ``doc``; the section (heading, intro, markers) added first when the doc has none."""
    text = doc.read_text() if doc.is_file() else "# Benchmarks\n"
    if f"<!-- {BLOCK}:begin -->" not in text:
        section = f"{HEADING}\n\n{INTRO}\n\n<!-- {BLOCK}:begin -->\n<!-- {BLOCK}:end -->\n"
        doc.parent.mkdir(parents=True, exist_ok=True)
        doc.write_text(add_section(text, section))
    replace_block(doc, BLOCK, body)


# ------------------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run of about a minute")
    parser.add_argument("--out", type=Path, help="the doc to write (default docs/benchmarks.md; --quick: none)")
    parser.add_argument("--json", type=Path, help="also write everything measured to this file")
    args = parser.parse_args(argv)
    from benchmarks.run import machine

    plan = QUICK if args.quick else FULL
    started = time.perf_counter()
    meta: dict[str, Any] = {
        "command": "python -m benchmarks.scale" + (" --quick" if args.quick else ""),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "quick": args.quick,
        "machine": machine(),
        "load_before": [round(x, 2) for x in os.getloadavg()],
    }
    with tempfile.TemporaryDirectory() as tmp:
        pages = run_pages(plan, Path(tmp))
    quota = run_quota(plan)
    if "modes" in quota:
        quota["settings"] = _quota_settings(plan)
    splits = run_splits(plan)
    meta.update(load_after=[round(x, 2) for x in os.getloadavg()], seconds=time.perf_counter() - started)
    results = {"meta": meta, "pages": pages, "quota": quota, "splits": splits}
    results["largest"] = largest_table(pages, quota)
    body = render(results)
    print(body)
    out = args.out if args.out else (None if args.quick else DOC)
    if out is not None:
        write(out, body)
        print(f"\nwritten to {out}", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 1 if any("error" in part for part in (pages, quota, splits)) else 0


def _quota_settings(plan: Plan) -> dict[str, Any]:
    """The settings scale_quota ran with: its defaults, overridden by the plan's arguments."""
    from benchmarks.scale_quota import Settings

    given = dict(zip(plan.quota[::2], plan.quota[1::2], strict=True))
    s = Settings(
        splits=int(given.get("--splits", Settings.splits)),
        rate=float(given.get("--rate", Settings.rate)),
        latency_ms=float(given.get("--latency-ms", Settings.latency_ms)),
        pages_per_split=int(given.get("--pages-per-split", Settings.pages_per_split)),
    )
    return {"splits": s.splits, "rate": s.rate, "latency_ms": s.latency_ms, "page_size": s.page_size}


if __name__ == "__main__":
    raise SystemExit(main())
