"""A million contacts without materialising them; the command-line entry point."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import requests

from demo_api import DemoServer, main

REPO = Path(__file__).resolve().parents[2]


def test_a_million_contacts_start_fast_and_serve_pages_in_constant_memory() -> None:
    tracemalloc.start()
    try:
        start = time.monotonic()
        srv = DemoServer(port=0, rows={"contacts": 1_000_000}).start()
        started = time.monotonic() - start
        try:
            headers = {"X-API-Key": srv.api_key}
            first = requests.get(f"{srv.base_url}/contacts", params={"page_size": 1000}, headers=headers, timeout=30)
            tail = requests.get(
                f"{srv.base_url}/contacts", params={"id_min": 999_995}, headers=headers, timeout=30
            ).json()
            one = requests.get(f"{srv.base_url}/contacts/765432", headers=headers, timeout=30).json()
            acts = requests.get(f"{srv.base_url}/contacts/999999/activities", headers=headers, timeout=30)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            srv.stop()
    finally:
        tracemalloc.stop()
    assert started < 2.0
    assert [c["id"] for c in first.json()["results"]] == list(range(1, 1001))
    assert [c["id"] for c in tail["results"]] == list(range(999_995, 1_000_001))
    assert tail["meta"]["next_cursor"] is None
    assert one["id"] == 765432 and acts.status_code == 200
    assert peak < 40_000_000  # bytes: nothing proportional to the million rows


def test_cli_serves_until_interrupted() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "demo_api", "--port", "0", "--scale", "0.01", "--api-key", "cli-key", "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    try:
        assert proc.stdout is not None
        first_line = proc.stdout.readline()
        base_url = first_line.split()[-1]
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/api/v1")
        assert "cli-key" in proc.stdout.readline()
        me = requests.get(f"{base_url}/me", headers={"X-API-Key": "cli-key"}, timeout=10)
        assert me.status_code == 200
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
        assert code == 0, f"exit {code}; stderr: {proc.stderr.read() if proc.stderr else ''}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_rejects_bad_rows(capsys: object) -> None:
    assert main(["--rows", "widgets=5", "--port", "0"]) == 2
    assert main(["--rows", "contacts=lots", "--port", "0"]) == 2


def test_a_live_clock_never_stamps_before_the_write() -> None:
    """``demo-api``'s default clock: each stamp is at or after the real moment of the write (rounded up to the
    second), and stamps never go backwards."""
    import time

    from demo_api.clock import ServerClock

    clock = ServerClock(live=True)
    stamps = []
    for _ in range(50):
        before = time.time()
        stamps.append(clock.tick())
        assert before <= stamps[-1] <= time.time() + 1
    assert stamps == sorted(stamps)
    assert ServerClock().tick() == 1_751_328_000  # the fixed clock the tests use is unchanged
