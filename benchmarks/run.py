"""Run the benchmark suite and write ``docs/benchmarks.md`` (tables, PNG plots, the machine, the command).

    .venv/bin/python -m benchmarks.run            # the full suite (about 20-30 minutes on 2 cores)
    .venv/bin/python -m benchmarks.run --quick    # tiny sizes, one repetition: a smoke run (CI)

Every figure of a table comes from one run of this command, measured side by side: the variants compared with each
other run as warm worker processes that take turns, repetition by repetition, against the same demo API process.
Each is quoted as an absolute (median) and as a ratio. See ``docs/benchmarks.md`` for the method.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from benchmarks import harness, peer_env, report
from benchmarks.harness import OUT, REPO, PyEnv, Worker, child_env, load, summary
from benchmarks.services import API_KEY, DemoApi, Moto

ENTITY = "contacts"
SCHEMA_NAME = "demo_crm"
BUCKET = "bench-spill"
COLUMNS = [
    "id",
    "account_id",
    "first_name",
    "email",
    "status",
    "score",
    "lifetime_value",
    "birthday",
    "opt_in",
    "updated_at",
]
PAGE_SIZE = 500  # the demo spec's page size for contacts (what our client asks for)
APPFLOW_MAX_RESULTS = 1000  # the SDK's default maxResults
ATHENA_MAX_BLOCK = 16_000_000  # what Athena sends
ATHENA_MAX_INLINE = 3_465_000
ATHENA_SECRET = "bench/athena-saas"
APPFLOW_SECRET = "appflow!123456789012-bench-profile"
SCALING_COLUMNS = "id, status, updated_at"
SECTIONS = ("sizes", "throughput", "memory", "coldstart", "scaling")


@dataclass
class Plan:
    quick: bool
    inline_rows: int
    rows: int
    big_rows: int
    reps: int
    cold_reps: int
    scaling_rows: int
    scaling_page: int
    scaling_latency_ms: float
    splits: tuple[int, ...]
    scaling_reps: int
    max_inline: int = ATHENA_MAX_INLINE
    sections: tuple[str, ...] = SECTIONS

    @classmethod
    def make(cls, quick: bool) -> Plan:
        if quick:
            # A small inline limit, so that the smoke run's "spill" workload really spills.
            return cls(True, 300, 2_000, 6_000, 1, 1, 400, 50, 5.0, (1, 2), 1, max_inline=100_000)
        return cls(False, 10_000, 100_000, 1_000_000, 5, 11, 24_000, 50, 50.0, (1, 2, 4, 8), 2)


@dataclass
class Context:
    plan: Plan
    ours: PyEnv
    moto: Moto
    log: IO[str]
    peer: bool
    peer_note: str
    athena_secret: str = ""
    appflow_secret: str = ""
    types: dict[str, str] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)

    def say(self, text: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        print(f"[{stamp}] {text}", flush=True)
        self.log.write(f"[{stamp}] {text}\n")
        self.log.flush()


# ------------------------------------------------------------------------------------------------ workers


def base_config(api: DemoApi, rows: int, max_inline: int, page_size: int = PAGE_SIZE) -> dict[str, Any]:
    return {
        "base_url": api.base_url,
        "api_key": API_KEY,
        "entity": ENTITY,
        "schema_name": SCHEMA_NAME,
        "page_size": page_size,
        "columns": COLUMNS,
        "rows": rows,
        "bucket": BUCKET,
        "max_block_size": ATHENA_MAX_BLOCK,
        "max_inline_block_size": max_inline,
    }


def connector_env(ctx: Context, api: DemoApi, function: str) -> dict[str, str]:
    env = {**ctx.moto.env, "SAAS_SPEC": "demo", "SAAS_BASE_URL": api.base_url}
    if function == "athena":
        env.update(SAAS_SECRET_ARN=ctx.athena_secret, spill_bucket=BUCKET)
    return child_env(env)


def start_worker(ctx: Context, variant: str, api: DemoApi, rows: int) -> Worker:
    # The inline workload keeps Athena's limit even in --quick (it must answer inline).
    cfg = base_config(api, rows, ATHENA_MAX_INLINE if rows <= ctx.plan.inline_rows else ctx.plan.max_inline)
    script = str(harness.HERE / "worker.py")
    if variant in ("floor", "floor-1000"):
        if variant == "floor-1000":
            cfg["page_size"] = APPFLOW_MAX_RESULTS
        argv = [*ctx.ours.argv, script, "floor", "--config", json.dumps(cfg), *ctx.ours.args("floor")]
        return Worker(variant, argv, child_env({}), ctx.log)
    if variant in ("athena", "athena-nos3"):
        cfg["store"] = "s3" if variant == "athena" else "memory"
        argv = [*ctx.ours.argv, script, "athena", "--config", json.dumps(cfg), *ctx.ours.args("athena")]
        return Worker(variant, argv, connector_env(ctx, api, "athena"), ctx.log)
    if variant == "appflow":
        cfg.update(max_results=APPFLOW_MAX_RESULTS, secret_arn=ctx.appflow_secret)
        argv = [*ctx.ours.argv, script, "appflow", "--config", json.dumps(cfg), *ctx.ours.args("appflow")]
        return Worker(variant, argv, connector_env(ctx, api, "appflow"), ctx.log)
    peer_script = str(harness.HERE / "peer_worker.py")
    python = str(peer_env.peer_python())
    if variant == "floor-peer":
        return Worker(variant, [python, peer_script, "floor", "--config", json.dumps(cfg)], child_env({}), ctx.log)
    if variant == "peer":
        cfg["types"] = ctx.types
        return Worker(variant, [python, peer_script, "peer", "--config", json.dumps(cfg)], child_env({}), ctx.log)
    raise ValueError(variant)


@contextlib.contextmanager
def workers(ctx: Context, variants: list[str], api: DemoApi, rows: int) -> Iterator[dict[str, Worker]]:
    started: dict[str, Worker] = {}
    try:
        for variant in variants:
            started[variant] = start_worker(ctx, variant, api, rows)
        yield started
    finally:
        for worker in started.values():
            worker.close()


def check(reply: dict[str, Any], variant: str) -> dict[str, Any]:
    if "error" in reply:
        raise harness.WorkerError(f"{variant}: {reply['error']}")
    return reply


# ------------------------------------------------------------------------------------------- throughput


def side_by_side(ctx: Context, name: str, rows: int, variants: list[str]) -> dict[str, Any]:
    """Warm workers take turns (the order rotates each repetition); the first run of each checks its output."""
    out: dict[str, Any] = {"rows": rows, "load_before": load(), "variants": {}}
    with DemoApi({ENTITY: rows}, log=ctx.log) as api, workers(ctx, variants, api, rows) as ws:
        checks = {}
        for v, w in ws.items():
            ctx.say(f"  {name}: {v}: warm-up and check")
            checks[v] = check(w.run(validate=True), v)
        reference = checks[variants[0]].get("digest")
        runs: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
        for rep in range(ctx.plan.reps):
            order = variants[rep % len(variants) :] + variants[: rep % len(variants)]
            for v in order:
                runs[v].append(check(ws[v].run(), v))
            ctx.say(f"  {name}: repetition {rep + 1}/{ctx.plan.reps} done (load {load()[0]})")
        for v in variants:
            digest = checks[v].get("digest")
            out["variants"][v] = {
                **summary(runs[v]),
                "runs": [{"wall": r["wall"], "cpu": r["cpu"]} for r in runs[v]],
                "same_result": digest == reference if digest is not None else None,
                "digest": digest,
                "response": checks[v].get("response"),
                "response_bytes": checks[v].get("response_bytes"),
                "blocks": checks[v].get("blocks"),
                "calls": checks[v].get("calls"),
                "python": ws[v].ready.get("python"),
                "pyarrow": ws[v].ready.get("pyarrow"),
                "sdk": ws[v].ready.get("sdk"),
            }
    out["load_after"] = load()
    return out


def throughput(ctx: Context) -> None:
    peer = ["floor-peer", "peer"] if ctx.peer else []
    ctx.say(f"throughput: inline workload, {ctx.plan.inline_rows:,} rows")
    inline = side_by_side(ctx, "inline", ctx.plan.inline_rows, ["floor", "athena", *peer])
    ctx.say(f"throughput: spill workload, {ctx.plan.rows:,} rows")
    spill = side_by_side(
        ctx, "spill", ctx.plan.rows, ["floor", "athena", "athena-nos3", *peer, "floor-1000", "appflow"]
    )
    ctx.results["throughput"] = {"inline": inline, "spill": spill}


# ----------------------------------------------------------------------------------------------- memory


def fresh_read(ctx: Context, variant: str, rows: int) -> dict[str, Any]:
    with DemoApi({ENTITY: rows}, log=ctx.log) as api, workers(ctx, [variant], api, rows) as ws:
        worker = ws[variant]
        reply = check(worker.run(), variant)
        return {
            "rows": rows,
            "wall": reply["wall"],
            "cpu": reply["cpu"],
            "peak_rss_kib": reply["peak_rss_kib"],
            "ready_rss_kib": worker.ready.get("rss_kib"),
            "load": load(),
        }


def memory(ctx: Context) -> None:
    """One read per fresh process: peak RSS (the process's high-water mark) of the small and the large table."""
    out: dict[str, Any] = {"rows": ctx.plan.rows, "big_rows": ctx.plan.big_rows, "runs": {}}
    variants = ["athena", *(["peer"] if ctx.peer else []), "floor"]
    for variant in variants:
        for rows in (ctx.plan.rows, ctx.plan.big_rows):
            ctx.say(f"memory: {variant}, {rows:,} rows in a fresh process (load {load()[0]})")
            out["runs"][f"{variant}@{rows}"] = fresh_read(ctx, variant, rows)
    ctx.results["memory"] = out


# -------------------------------------------------------------------------------------------- cold start


def cold_events(api: DemoApi, ctx: Context) -> dict[str, Any]:
    """The first request of each handler: built here (not in the measured process) and sent as JSON."""
    import pyarrow as pa

    from athena_connector.schema import table_schema
    from athena_connector.wire import (
        Constraints,
        FederatedIdentity,
        ReadRecordsRequest,
        S3SpillLocation,
        Split,
        TableName,
        generate_key,
        to_wire,
    )
    from shared.spec import load_spec

    full = table_schema(load_spec("demo").entity(ENTITY), "timestamp").schema
    schema = pa.schema([full.field(c) for c in COLUMNS])
    split = Split(S3SpillLocation(BUCKET, "athena-federation-spill/cold/split-0", True), generate_key(), {})
    athena = ReadRecordsRequest(
        FederatedIdentity("123456789012", "arn:aws:iam::123456789012:user/bench"),
        "cold",
        "saas",
        TableName(SCHEMA_NAME, ENTITY),
        schema,
        split,
        Constraints(limit=100),
        ATHENA_MAX_BLOCK,
        ATHENA_MAX_INLINE,
    )
    appflow = {
        "type": "QueryDataRequest",
        "entityIdentifier": ENTITY,
        "connectorContext": {
            "apiVersion": "v1",
            "connectorRuntimeSettings": {},
            "credentials": {"secretArn": ctx.appflow_secret, "authenticationType": "ApiKey"},
        },
        "selectedFieldNames": COLUMNS,
        "filterExpression": None,
        "maxResults": 100,
        "nextToken": None,
    }
    return {"athena": json.loads(json.dumps(to_wire(athena))), "appflow": appflow}


def cold_probe(
    ctx: Context, env_: PyEnv, function: str, mode: str, env: dict[str, str], extra: list[str]
) -> dict[str, Any]:
    argv = [*env_.argv, str(harness.HERE / "cold.py"), mode, *extra, *env_.args(function)]
    done = subprocess.run(argv, env=env, cwd=REPO, capture_output=True, text=True, timeout=600, check=False)
    ctx.log.write(f"\n=== cold {function} {mode}\n{done.stderr[-4000:]}\n")
    lines = [line for line in done.stdout.splitlines() if line.startswith('{"mode"')]
    if done.returncode != 0 or not lines:
        raise harness.WorkerError(
            f"cold start probe {function}/{mode} failed: {done.stdout[-500:]}{done.stderr[-500:]}"
        )
    return dict(json.loads(lines[-1]))


def without_bytecode(ctx: Context) -> PyEnv | None:
    """The same packages without their ``.pyc`` (what a build on a host without CPython 3.12 ships): as
    ``/var/task`` is read-only, every cold start then compiles every module it imports."""
    if "-S" not in ctx.ours.argv:
        return None
    import shutil

    paths: dict[str, list[str]] = {}
    for function, dirs in ctx.ours.paths.items():
        if function == "floor":
            continue
        package = Path(dirs[0])
        copy = OUT / "sam-build-nopyc" / package.name
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        paths[function] = [str(copy), *dirs[1:]]
    return PyEnv(ctx.ours.label + ", without .pyc", ctx.ours.argv, paths, ctx.ours.block, ctx.ours.python)


def coldstart(ctx: Context) -> None:
    out: dict[str, Any] = {"env": ctx.ours.label, "load_before": load()}
    stripped = without_bytecode(ctx)
    envs = {"as built": ctx.ours, **({"without .pyc": stripped} if stripped else {})}
    with DemoApi({ENTITY: 1000}, log=ctx.log) as api:
        events = cold_events(api, ctx)
        for function in ("athena", "appflow"):
            env = connector_env(ctx, api, function)
            config = ["--config", json.dumps({"event": events[function]})]
            ctx.say(f"cold start: {function}: discovering its third-party modules")
            found = cold_probe(ctx, ctx.ours, function, function, env, [*config, "--discover"])
            modules_file = OUT / f"cold-{function}-modules.txt"
            modules_file.write_text("\n".join(found["modules"]) + "\n")
            runs: dict[str, dict[str, list[dict[str, Any]]]] = {k: {"floor": [], "handler": []} for k in envs}
            for rep in range(ctx.plan.cold_reps):
                for name, pyenv in envs.items():
                    floor = cold_probe(ctx, pyenv, function, "floor", env, ["--modules", str(modules_file)])
                    runs[name]["floor"].append(floor)
                    runs[name]["handler"].append(cold_probe(ctx, pyenv, function, function, env, config))
                ctx.say(f"  {function}: {rep + 1}/{ctx.plan.cold_reps} (load {load()[0]})")
            top = sorted({m.split(".")[0] for m in found["modules"]})
            out[function] = {
                "modules": len(found["modules"]),
                "packages": top,
                **{name: _cold_summary(r) for name, r in runs.items()},
            }
    out["load_after"] = load()
    ctx.results["coldstart"] = out


def _cold_summary(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    floors, handlers = runs["floor"], runs["handler"]
    return {
        "floor_import": harness.median([f["import_s"] for f in floors]),
        "import": harness.median([h["import_s"] for h in handlers]),
        "first": harness.median([h["first_s"] for h in handlers]),
        "second": harness.median([h["second_s"] for h in handlers]),
        "cold": harness.median([h["import_s"] + h["first_s"] for h in handlers]),
        "floor_min": min(f["import_s"] for f in floors),
        "cold_min": min(h["import_s"] + h["first_s"] for h in handlers),
        "failed_imports": sorted({n for f in floors for n in f.get("failed", [])}),
        "runs": runs,
    }


# --------------------------------------------------------------------------------------------- sizes


def sam_build(ctx: Context) -> Path | None:
    build_dir = OUT / "sam-build"
    ctx.say("sizes: sam build of both functions (no Docker)")
    done = subprocess.run(
        [sys.executable, str(REPO / "deploy" / "package_sizes.py"), "--build", "--build-dir", str(build_dir)],
        cwd=REPO,
        stdout=ctx.log,
        stderr=ctx.log,
        timeout=1800,
        check=False,
    )
    if done.returncode == 2 or not (build_dir / "AthenaConnectorFunction").is_dir():
        ctx.results["sizes"] = {"error": "sam build failed (see benchmarks/out/run.log)"}
        return None
    return build_dir


def sizes(ctx: Context, build_dir: Path | None) -> None:
    out: dict[str, Any] = ctx.results.setdefault("sizes", {})
    if build_dir is not None:
        done = subprocess.run(
            [
                sys.executable,
                str(REPO / "deploy" / "package_sizes.py"),
                "--build-dir",
                str(build_dir),
                "--zipped",
                "--json",
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        try:
            out["functions"] = json.loads(done.stdout)
        except ValueError:
            out["error"] = f"package_sizes.py said: {done.stdout[-300:]}{done.stderr[-300:]}"
    if ctx.peer:
        out["peer"] = peer_footprint()


def peer_footprint() -> dict[str, Any]:
    """What ``pip install athena-federation==0.1.6`` puts in site-packages (pip itself left out)."""
    site = next((peer_env.PEER_VENV / "lib").glob("python3*/site-packages"))
    sizes: dict[str, int] = {}
    for entry in site.iterdir():
        if entry.name.split("-")[0].lower() in ("pip", "setuptools", "_distutils_hack", "distutils-precedence.pth"):
            continue
        size = (
            entry.stat().st_size
            if entry.is_file()
            else sum(p.stat().st_size for p in entry.rglob("*") if p.is_file() and not p.is_symlink())
        )
        sizes[entry.name] = size
    total = sum(sizes.values())
    largest = sorted(sizes.items(), key=lambda kv: -kv[1])[:5]
    return {"bytes": total, "largest": largest}


# ------------------------------------------------------------------------------------------- scaling


def scaling_spec(splits: int, rows: int, page_size: int) -> Path:
    import yaml

    spec = yaml.safe_load((REPO / "shared" / "specs" / "demo.yaml").read_text())
    for entity in spec["entities"]:
        if entity["name"] == ENTITY:
            entity["splits"] = {"by": "id_range", "field": "id", "start": 1, "end": rows, "count": splits}
            entity["pagination"]["page_size"] = page_size
    path = OUT / f"scaling-{splits}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


_RESULT_LINE = re.compile(r"(\d+) result rows in ([0-9.]+) s")


def scaling(ctx: Context) -> None:
    plan = ctx.plan
    cli = Path(sys.executable).with_name("saas-connectors")
    sql = f"SELECT {SCALING_COLUMNS} FROM {ENTITY}"
    out: dict[str, Any] = {
        "rows": plan.scaling_rows,
        "page_size": plan.scaling_page,
        "latency_ms": plan.scaling_latency_ms,
        "sql": sql,
        "how": "saas-connectors query --explain (the local runner; its own timer, from parsing to the result)",
        "runs": {str(k): [] for k in plan.splits},
        "load_before": load(),
    }
    with DemoApi({ENTITY: plan.scaling_rows}, latency_ms=plan.scaling_latency_ms, log=ctx.log) as api:
        env = child_env({"SAAS_BASE_URL": api.base_url, "SAAS_API_KEY": API_KEY})
        for rep in range(plan.scaling_reps):
            for k in plan.splits if rep % 2 == 0 else tuple(reversed(plan.splits)):
                spec = scaling_spec(k, plan.scaling_rows, plan.scaling_page)
                argv = [
                    str(cli),
                    "query",
                    "--explain",
                    "--spec",
                    str(spec),
                    "--workers",
                    str(max(plan.splits)),
                    "--format",
                    "csv",
                    "--output",
                    str(OUT / "scaling.csv"),
                    sql,
                ]
                started = time.perf_counter()
                done = subprocess.run(
                    argv, env=env, cwd=REPO, capture_output=True, text=True, timeout=1800, check=False
                )
                wall = time.perf_counter() - started
                text = done.stdout + done.stderr
                match = _RESULT_LINE.search(text)
                if done.returncode != 0:
                    ctx.log.write(text)
                    raise harness.WorkerError(f"saas-connectors query failed ({done.returncode}): {text[-600:]}")
                if match is not None and int(match.group(1)) != plan.scaling_rows:
                    raise harness.WorkerError(f"the query returned {match.group(1)} rows, not {plan.scaling_rows}")
                # The runner's own timer when its --explain output shows it, else the process's wall time.
                seconds = float(match.group(2)) if match is not None else wall
                splits_read = re.search(r"from (\d+) split", text)
                out["runs"][str(k)].append(
                    {
                        "query_s": seconds,
                        "timer": "runner" if match is not None else "process",
                        "process_s": wall,
                        "splits": int(splits_read.group(1)) if splits_read else None,
                    }
                )
                ctx.say(f"  scaling: {k} split(s): {seconds:.2f} s (load {load()[0]})")
    out["median"] = {k: harness.median([r["query_s"] for r in v]) for k, v in out["runs"].items()}
    out["load_after"] = load()
    ctx.results["scaling"] = out


# ----------------------------------------------------------------------------------------------- main


def machine() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kib / 2**20:.1f} GiB"
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False
    )
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True, check=False)
    import pyarrow

    return {
        "cpu": cpu,
        "cores": __import__("os").cpu_count(),
        "memory": mem,
        "os": platform.platform(),
        "orchestrator_python": sys.version.split()[0],
        "pyarrow_venv": pyarrow.__version__,
        "commit": commit.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else ""),
    }


def section(ctx: Context, name: str, fn: Callable[[], None]) -> None:
    if name not in ctx.plan.sections:
        return
    started = time.perf_counter()
    try:
        fn()
    except Exception as exc:  # one failing section is reported, the others still run
        ctx.say(f"{name}: FAILED: {exc}")
        ctx.results.setdefault("errors", {})[name] = f"{type(exc).__name__}: {exc}"
    ctx.results.setdefault("seconds", {})[name] = round(time.perf_counter() - started, 1)


def table_types() -> dict[str, str]:
    from athena_connector.schema import table_schema
    from shared.spec import load_spec

    schema = table_schema(load_spec("demo").entity(ENTITY), "timestamp").schema
    return {c: str(schema.field(c).type).replace(" ", "") for c in COLUMNS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes and one repetition (a smoke run, seconds)")
    parser.add_argument(
        "--out",
        type=Path,
        help="the Markdown report (default docs/benchmarks.md; --quick: under benchmarks/out/quick/)",
    )
    parser.add_argument("--img-dir", type=Path, help="where the PNG plots go (default docs/img)")
    parser.add_argument("--only", action="append", choices=SECTIONS, help="run only these sections (repeatable)")
    parser.add_argument("--reps", type=int, help="timed repetitions per variant (default 5; --quick 1)")
    parser.add_argument("--no-peer", action="store_true", help="leave the peer out")
    parser.add_argument("--venv", action="store_true", help="run our code in the project virtualenv, not Lambda-like")
    args = parser.parse_args(argv)

    plan = Plan.make(args.quick)
    if args.reps:
        plan.reps = args.reps
    if args.only:
        plan.sections = tuple(args.only)
    quick_dir = OUT / "quick"
    out_md = args.out or (quick_dir / "benchmarks.md" if args.quick else REPO / "docs" / "benchmarks.md")
    img_dir = args.img_dir or (quick_dir / "img" if args.quick else REPO / "docs" / "img")
    OUT.mkdir(parents=True, exist_ok=True)
    command = "python -m benchmarks.run" + ("".join(f" {shlex.quote(a)}" for a in (argv or sys.argv[1:])))
    started = time.time()

    with open(OUT / ("run-quick.log" if args.quick else "run.log"), "w") as log, Moto(log=log) as moto:
        peer_ok, peer_note = False, "left out (--no-peer)"
        if not args.no_peer:
            if args.quick and not peer_env.peer_ready():
                peer_note = f"left out: {peer_env.PEER_VENV} does not exist (`python -m benchmarks.peer_env`)"
            else:
                peer_ok, peer_note = peer_env.ensure_peer_venv(log)
        ctx = Context(plan, harness.venv_env(), moto, log, peer_ok, peer_note)
        ctx.say(f"peer: {peer_note}")
        ctx.results["meta"] = {
            "command": command,
            "quick": args.quick,
            "started": time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(started)),
            "load_start": load(),
            "machine": machine(),
            "peer_note": peer_note,
            "plan": plan.__dict__,
            "columns": COLUMNS,
        }
        moto.create_bucket(BUCKET)
        ctx.athena_secret = moto.create_secret(ATHENA_SECRET, json.dumps({"api_key": API_KEY}))
        ctx.appflow_secret = moto.create_secret(APPFLOW_SECRET, json.dumps({"apiKey": API_KEY}))
        ctx.types = table_types()

        build_dir = None
        if "sizes" in plan.sections and not args.quick:
            build_dir = sam_build(ctx)
        elif (OUT / "sam-build" / "AthenaConnectorFunction").is_dir() and not args.quick:
            build_dir = OUT / "sam-build"
        python312 = peer_env.python312()
        if build_dir is not None and python312 and not args.venv:
            ctx.ours = harness.lambda_env(python312, build_dir)
        ctx.results["meta"]["ours_env"] = ctx.ours.label
        ctx.say(f"our code runs in: {ctx.ours.label}")

        section(ctx, "sizes", lambda: sizes(ctx, build_dir))
        section(ctx, "throughput", lambda: throughput(ctx))
        section(ctx, "memory", lambda: memory(ctx))
        section(ctx, "coldstart", lambda: coldstart(ctx))
        section(ctx, "scaling", lambda: scaling(ctx))
        ctx.results["meta"]["load_end"] = load()
        ctx.results["meta"]["duration_s"] = round(time.time() - started, 1)

    results_json = out_md.with_suffix(".json") if args.quick else OUT / "results.json"
    results_json.parent.mkdir(parents=True, exist_ok=True)
    results_json.write_text(json.dumps(ctx.results, indent=2, default=str))
    report.write(ctx.results, out_md, img_dir)
    print(f"wrote {out_md} (and {results_json})")
    return 1 if ctx.results.get("errors") else 0


if __name__ == "__main__":
    raise SystemExit(main())
