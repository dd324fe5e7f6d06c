"""Read throughput of the demo API: ``python -m demo_api.bench --rows 100000 --page-size 1000``.

Without ``--url`` it starts its own server in a separate process (so client and server do not share
a GIL), reads ``--rows`` contacts with cursor pagination and prints rows/second.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence

import requests


def read_contacts(base_url: str, api_key: str, rows: int, page_size: int) -> tuple[int, float]:
    session = requests.Session()
    session.headers["X-API-Key"] = api_key
    n, cursor = 0, None
    start = time.perf_counter()
    while n < rows:
        params: dict[str, str | int] = {"page_size": page_size}
        if cursor:
            params["cursor"] = cursor
        r = session.get(f"{base_url}/contacts", params=params, timeout=60)
        r.raise_for_status()
        body = r.json()
        n += len(body["results"])
        cursor = body["meta"]["next_cursor"]
        if not cursor:
            break
    return n, time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m demo_api.bench", description=__doc__)
    p.add_argument("--rows", type=int, default=100_000, help="contacts to read")
    p.add_argument("--page-size", type=int, default=1000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--url", help="base URL of a running server (default: start one)")
    p.add_argument("--api-key", default="demo-secret-key")
    p.add_argument("--prefetch", action="store_true", help="start the server with --prefetch")
    args = p.parse_args(argv)
    proc = None
    base_url = args.url
    if base_url is None:
        cmd = [sys.executable, "-m", "demo_api", "--port", "0", "--quiet", "--rows", f"contacts={args.rows}"]
        cmd += ["--api-key", args.api_key] + (["--prefetch"] if args.prefetch else [])
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        base_url = proc.stdout.readline().split()[-1]
    try:
        for run in range(1, args.runs + 1):
            n, seconds = read_contacts(base_url, args.api_key, args.rows, args.page_size)
            print(f"run {run}: {n} contacts, page size {args.page_size}: {seconds:.2f} s = {n / seconds:,.0f} rows/s")
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
