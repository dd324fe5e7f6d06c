"""``saas-connectors demo``: everything end to end with no account and no configuration.

The demo CRM API and an S3/Secrets Manager stand-in (moto) start on loopback; then SQL runs through the Athena
connector, an AppFlow flow lands Parquet in S3 (full, then incremental), pandas reads it back like a notebook,
and scores are written back through the AppFlow connector. Every step is checked against the API's own data;
the exit code is 0 only if every check passed.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from saas_cli.output import heading, print_table, progress, say

DEFAULT_SCALE = 0.1
MIN_SCALE = 0.05  # 1,000 contacts: enough for the export query to spill and for 25 changed contacts

EPILOG = """examples:
  saas-connectors demo                 the whole demo (8-10 s measured on 2 busy cores)
  saas-connectors demo --scale 0.3     more data (the demo CRM's size factor)
"""


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "demo",
        parents=[common],
        help="run everything end to end on the bundled demo CRM (no AWS account needed)",
        description="Start the demo CRM API and a local S3 (moto), then run SQL through the Athena connector, "
        "an AppFlow flow to Parquet in S3 (full, then incremental), a pandas read of the landed data, and a "
        "write-back through the AppFlow connector. Each step is checked against the API's own data.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--scale",
        type=scale_value,
        default=DEFAULT_SCALE,
        help=f"demo data size, {MIN_SCALE} or more (default {DEFAULT_SCALE}: 2,000 contacts)",
    )
    p.add_argument("--port", type=int, default=0, help="port for the demo API (default: any free port)")


def scale_value(text: str) -> float:
    """``--scale``: a finite number no smaller than the demo needs (argparse reports the message)."""
    from saas_cli.demo_appflow import CHANGED

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value < MIN_SCALE:
        raise argparse.ArgumentTypeError(
            f"must be at least {MIN_SCALE} (the demo needs about 1,000 contacts: a query large enough to spill "
            f"and {CHANGED} contacts to change), got {text}"
        )
    return value


@dataclass
class Step:
    name: str
    ok: bool
    detail: str
    seconds: float


class Steps:
    def __init__(self) -> None:
        self.done: list[Step] = []

    def run(self, name: str, fn: Callable[[], tuple[bool, str, Any]]) -> Any:
        heading(name)
        started = time.perf_counter()
        try:
            ok, detail, value = fn()
        except Exception as exc:
            ok, detail, value = False, f"{type(exc).__name__}: {exc}", None
            say(f"  failed: {detail}", style="bold red")
        self.done.append(Step(name, ok, detail, time.perf_counter() - started))
        return value

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.done)


def run_demo(args: argparse.Namespace) -> int:
    from saas_cli.demo_env import DemoEnvironment
    from shared.spec import load_spec

    started = time.perf_counter()
    steps = Steps()
    with DemoEnvironment(scale=args.scale, port=args.port) as env:
        server = env.server
        sizes = server.app.dataset.sizes
        say("saas-connectors demo", style="bold")
        rows = f"accounts {sizes.accounts}, contacts {sizes.contacts}, deals {sizes.deals}"
        say(f"  demo CRM API:   {server.base_url} ({rows})")
        say(f"  S3 and Secrets Manager (moto): {env.aws_endpoint}")
        say("  connectors:     in this process, called with JSON events as AWS sends them")
        spec = load_spec("demo", base_url=server.base_url)
        steps.run("1. Athena: SQL through the federated query connector", lambda: _athena(server, spec))
        flow = steps.run(
            "2. AppFlow: a flow for contacts to Parquet in S3 (full, then incremental)", lambda: _flow(env)
        )
        notebook = steps.run("3. SageMaker: read the landed Parquet with pandas", lambda: _notebook(env, flow))
        steps.run(
            "4. Write-back: scores to the CRM through the AppFlow destination path", lambda: _write(env, notebook)
        )
    _summary(steps, time.perf_counter() - started)
    _next_steps()
    return 0 if steps.ok else 1


NEXT_STEPS = """
Try next (README.md, "Run the connectors locally"):
  . .venv/bin/activate
  saas-connectors demo-api --port 8080 --quiet &
  export SAAS_BASE_URL=http://127.0.0.1:8080/api/v1 SAAS_API_KEY=demo-secret-key
  saas-connectors query --explain "SELECT status, count(*) FROM contacts WHERE score > 50 GROUP BY status"
  saas-connectors flow run contacts --destination ./landing
  saas-connectors --help
Your own API: write a spec (docs/spec.md), then saas-connectors spec lint my-api.yaml."""


def _next_steps() -> None:
    say(NEXT_STEPS)


def _athena(server: Any, spec: Any) -> tuple[bool, str, Any]:
    from saas_cli.demo_athena import report_queries, run_queries

    with progress() as bar:
        checks = run_queries(server, spec, bar)
    report_queries(checks, spec)
    bad = [str(i) for i, c in enumerate(checks, 1) if not c.ok]
    spilled = [str(i) for i, c in enumerate(checks, 1) if c.outcome.spilled]
    pushed = sum(1 for c in checks if any(s.pushdown.constraints.summary for s in c.outcome.scans))
    detail = f"{len(checks)} queries, {pushed} with filters pushed down, query {', '.join(spilled) or 'none'} spilled"
    if bad:
        detail += f"; query {', '.join(bad)} differ from the API's data"
    elif not spilled:
        detail += "; expected a spilled query"
    return not bad and bool(spilled), detail, checks


def _flow(env: Any) -> tuple[bool, str, Any]:
    from saas_cli.demo_appflow import CHANGED, run_flows

    with progress() as bar:
        check = run_flows(env, bar)
    rows = []
    for run, ok in ((check.full, check.full_ok), (check.incremental, check.incremental_ok)):
        window = "everything" if run.mode == "full" else f"[{run.window[0]}, {run.window[1]})"
        rows.append(
            (
                run.mode,
                window,
                run.records,
                run.pages,
                len(run.files),
                f"{run.bytes:,}",
                f"{run.seconds:.2f}",
                "ok" if ok else "MISMATCH",
            )
        )
    print_table(
        f"Flow {check.full.flow_name} (records compared with the API's)",
        ["run", "window", "records", "pages", "files", "bytes", "seconds", "check"],
        rows,
    )
    say(f"  full run landed in        {check.full.location}/")
    say(f"  the API changed {CHANGED} contacts; the incremental run read: {check.incremental.filter_expression}")
    say(f"  incremental run landed in {check.incremental.location}/")
    say(f"  watermark kept in         {check.state_file} (a temporary folder, removed when the demo ends)")
    ok = check.full_ok and check.incremental_ok
    detail = f"full {check.full.records} records, incremental {check.incremental.records} (the {CHANGED} changed)"
    return ok, detail, check


def _notebook(env: Any, flow: Any) -> tuple[bool, str, Any]:
    from saas_cli.demo_appflow import FLOW_NAME, read_like_a_notebook

    if flow is None:
        return False, "skipped: the flow did not run", None
    say(f"  pd.read_parquet(<every part under {env.landing}/{FLOW_NAME}/>), newest version of each id")
    check = read_like_a_notebook(env)
    say(f"  {check.rows} contacts x {check.columns} columns; newest update {check.latest}")
    say(f"  by status: {', '.join(f'{k} {v}' for k, v in check.by_status.items())}")
    say(f"  mean score {check.mean_score:.2f}")
    detail = f"{check.rows} current contacts, equal to the API's" if check.ok else "differs from the API's data"
    return check.ok, detail, check


def _write(env: Any, notebook: Any) -> tuple[bool, str, Any]:
    from saas_cli.demo_appflow import write_scores_back

    if notebook is None:
        return False, "skipped: nothing was read", None
    check = write_scores_back(env, notebook)
    say(
        f"  UPDATE contacts: {check.result.written} of {check.records} records written in "
        f"{check.result.batches} WriteData call(s); the CRM now holds the new scores"
    )
    for index, message in check.result.failed[:5]:
        say(f"  record {index}: {message}", style="red")
    return check.ok, f"{check.result.written}/{check.records} scores written and read back", check


def _summary(steps: Steps, seconds: float) -> None:
    heading("Summary")
    print_table(
        "",
        ["step", "result", "seconds", "check"],
        [(s.name, s.detail, f"{s.seconds:.1f}", "ok" if s.ok else "FAILED") for s in steps.done],
    )
    if steps.ok:
        say(f"All {len(steps.done)} steps checked out in {seconds:.1f} s.", style="bold green")
    else:
        failed = ", ".join(s.name.split(".")[0] for s in steps.done if not s.ok)
        say(f"FAILED: step {failed} did not check out ({seconds:.1f} s).", style="bold red")
