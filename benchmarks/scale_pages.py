"""Concurrent pages inside one read against a slow API: ``python -m benchmarks.scale_pages [--quick] [--reps N]``.

One split, read through ``athena_connector.handler.lambda_handler`` with a JSON ReadRecords event in a process of
its own (like a Lambda), against the demo API in another process with 100 and 300 ms of latency per request and
100 records per page: an offset entity whose API reports the total (``accounts``: up to K pages at once) and a
cursor entity (``contacts``: the next page fetched while this one is built and written). Each is read with the
spec's ``pagination.concurrency`` at K and at 1 (one page at a time), and its wall time is set against

* the sequential bound: pages x latency (what one request at a time cannot beat), and
* the concurrent bound: pages x latency / K (what K requests at once cannot beat).

Targets (issue 13): offset within 1.2x of the concurrent bound, cursor within 1.1x of the sequential bound. Pages
are counted by the demo API (requests it answered during the read). The spec keeps the demo's client-side rate
limit (500 requests/s), which K requests every 100 ms stay under. Prints a table; ``--json`` writes the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import Any

import requests
import yaml

from benchmarks.services import API_KEY, DemoApi

ENTITIES = {"accounts": "offset", "contacts": "cursor"}
COLUMNS = ["id", "updated_at"]
PAGE_SIZE = 100
K = 4
LATENCIES_MS = (100, 300)
TARGETS = {"offset": ("concurrent", 1.2), "cursor": ("sequential", 1.1)}


def spec_text(concurrency: int) -> str:
    """The demo spec with 100 records a page and ``pagination.concurrency`` set everywhere."""
    data = yaml.safe_load((resources.files("shared.specs") / "demo.yaml").read_text())
    paginations = [data["api"]["pagination"], *(e["pagination"] for e in data["entities"] if "pagination" in e)]
    for pagination in paginations:
        pagination["page_size"] = PAGE_SIZE
        pagination["concurrency"] = concurrency
    return yaml.safe_dump(data, sort_keys=False)


# ------------------------------------------------------------------------------------------- the measured process


def child(config: dict[str, Any]) -> dict[str, Any]:
    """One ReadRecords of the whole entity (one split) through the handler; the handler's wall time."""
    import pyarrow as pa

    from athena_connector.handler import lambda_handler
    from athena_connector.wire import (
        Constraints,
        FederatedIdentity,
        GetTableRequest,
        ReadRecordsRequest,
        S3SpillLocation,
        Split,
        TableName,
        decode_records,
        decode_schema,
        to_wire,
    )

    class Context:
        aws_request_id = "bench"
        function_name = "bench"
        function_version = "$LATEST"
        memory_limit_in_mb = 1769
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"

        def __init__(self) -> None:
            self.end = time.monotonic() + 900

        def get_remaining_time_in_millis(self) -> int:
            return int((self.end - time.monotonic()) * 1000)

    identity = FederatedIdentity("123456789012", "arn:aws:iam::123456789012:user/bench")
    table = TableName("demo_crm", config["entity"])

    def invoke(message: Any) -> dict[str, Any]:
        return lambda_handler(json.loads(json.dumps(to_wire(message))), Context())

    full = decode_schema(invoke(GetTableRequest(identity, "meta", "saas", table))["schema"])  # warm: spec, client
    schema = pa.schema([full.field(c) for c in COLUMNS])
    spill = S3SpillLocation("unused-bench-bucket", "spill/bench/split-0", True)
    request = ReadRecordsRequest(
        identity, "bench", "saas", table, schema, Split(spill, None, {}), Constraints(), 16_000_000, 6_000_000
    )
    event = json.loads(json.dumps(to_wire(request)))
    started = time.perf_counter()
    out = lambda_handler(event, Context())
    wall = time.perf_counter() - started
    assert out["@type"] == "ReadRecordsResponse", out["@type"]
    rows = decode_records(out["records"]["records"], decode_schema(out["records"]["schema"])).num_rows
    return {"wall": wall, "rows": rows}


def run_child(config: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.scale_pages", "--child", json.dumps(config)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"the measured read failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------------- the orchestrator


def measure(rows: int, reps: int) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp, DemoApi({e: rows for e in ENTITIES}) as api:
        specs = {}
        for k in (K, 1):
            path = Path(tmp) / f"spec-k{k}.yaml"
            path.write_text(spec_text(k))
            specs[k] = path
        admin = api.root_url + "/_admin"
        for latency in LATENCIES_MS:
            requests.post(f"{admin}/config", json={"latency_ms": latency}, timeout=10).raise_for_status()
            for entity, style in ENTITIES.items():
                for k in (K, 1):
                    env = {
                        **os.environ,
                        "SAAS_SPEC": str(specs[k]),
                        "SAAS_BASE_URL": api.base_url,
                        "SAAS_API_KEY": API_KEY,
                        "spill_bucket": "unused-bench-bucket",
                        "POWERTOOLS_METRICS_DISABLED": "true",
                        "POWERTOOLS_LOG_LEVEL": "WARNING",
                    }
                    walls, pages = [], []
                    for _ in range(reps if k == K else 1):  # one page at a time: a reference, measured once
                        requests.delete(f"{admin}/stats", timeout=10).raise_for_status()
                        out = run_child({"entity": entity}, env)
                        assert out["rows"] == rows, f"{entity}: {out['rows']} rows of {rows}"
                        stats = requests.get(f"{admin}/stats", timeout=10).json()
                        walls.append(out["wall"])
                        pages.append(stats["routes"].get(f"GET /api/v1/{entity}", 0))
                    results.append(_row(entity, style, latency, k, walls, pages))
                    print(_format(results[-1]), file=sys.stderr, flush=True)
    return results


def _row(entity: str, style: str, latency: int, k: int, walls: list[float], pages: list[int]) -> dict[str, Any]:
    wall = statistics.median(walls)
    n = max(pages)
    sequential = n * latency / 1000
    concurrent = sequential / K
    row = {
        "entity": entity,
        "pagination": style,
        "latency_ms": latency,
        "concurrency": k,
        "pages": n,
        "wall_s": round(wall, 3),
        "walls_s": [round(w, 3) for w in walls],
        "sequential_bound_s": round(sequential, 3),
        "concurrent_bound_s": round(concurrent, 3),
        "vs_sequential": round(wall / sequential, 3),
        "vs_concurrent": round(wall / concurrent, 3),
    }
    if k == K:
        bound, target = TARGETS[style]
        ratio = row[f"vs_{bound}"]
        row["target"] = f"<= {target}x the {bound} bound"
        row["met"] = ratio <= target
    return row


def _format(row: dict[str, Any]) -> str:
    target = f"{row.get('target', '')} {'met' if row.get('met') else ('MISSED' if 'met' in row else '')}"
    return (
        f"| {row['entity']} ({row['pagination']}) | {row['latency_ms']} ms | K={row['concurrency']} | {row['pages']} "
        f"| {row['wall_s']:.2f} s | {row['sequential_bound_s']:.2f} s | {row['concurrent_bound_s']:.2f} s "
        f"| {row['vs_sequential']:.2f}x | {row['vs_concurrent']:.2f}x | {target.strip()} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale_pages", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 rows and one repetition (a smoke run)")
    parser.add_argument("--rows", type=int, default=6000, help="records per entity (default 6000: 60 pages)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions per variant (median reported)")
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0
    rows, reps = (2000, 1) if args.quick else (args.rows, args.reps)
    header = (
        "| entity (pagination) | latency | concurrency | pages | wall (median) | sequential bound | concurrent bound "
        "| wall / sequential | wall / concurrent | target |\n|---|---|---|---|---|---|---|---|---|---|"
    )
    print(f"One split, {rows} records, {PAGE_SIZE} a page, K={K}, median of {reps}; bounds: pages x latency (/ K)",
          file=sys.stderr)  # fmt: skip
    results = measure(rows, reps)
    print(header)
    for row in results:
        print(_format(row))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0 if all(r.get("met", True) for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
