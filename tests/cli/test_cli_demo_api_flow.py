"""The README's local walk-through against ``saas-connectors demo-api`` as a user runs it, each command a new
process: a full flow, scores written back, then an incremental flow that lands exactly the written records (the
demo API's clock runs live, so writes are stamped at the real time that ``flow run``'s windows use)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.cli.conftest import CLI, QUIET, REPO, run_subprocess
from tests.support.processes import stop_process


@pytest.fixture
def demo_api_process(tmp_path: Path) -> Iterator[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [*CLI, "demo-api", "--port", "0", "--scale", "0.02", "--quiet"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().split()[-1]
        assert base_url.endswith("/api/v1")
        yield base_url
    finally:
        stop_process(proc, 30)


def _landed(folder: Path) -> list[dict[str, object]]:
    return [row for part in sorted(folder.glob("*.parquet")) for row in pq.read_table(part).to_pylist()]


def test_full_write_back_then_incremental_against_demo_api(demo_api_process: str, tmp_path: Path) -> None:
    env = {**QUIET, "SAAS_SPEC": "demo", "SAAS_BASE_URL": demo_api_process, "SAAS_API_KEY": "demo-secret-key"}
    unset = ("AWS_ENDPOINT_URL", "spill_bucket", "SAAS_SECRET_ARN")

    def run(*args: str) -> str:
        done = run_subprocess(list(args), env, tmp_path, unset=unset)
        assert done.code == 0, done.err
        assert "Traceback" not in done.err
        return done.out

    assert "full run of contacts" in run("flow", "run", "contacts", "--destination", "landing")
    [full] = list((tmp_path / "landing" / "saas-contacts").iterdir())
    assert len(_landed(full)) == 400  # 20,000 x 0.02

    run(
        "query", "--format", "parquet", "--output", "scores.parquet",
        "SELECT id, score + 1 AS score FROM contacts WHERE status = 'lead' ORDER BY id LIMIT 10",
    )  # fmt: skip
    written = {row["id"]: row["score"] for row in pq.read_table(tmp_path / "scores.parquet").to_pylist()}
    assert len(written) == 10
    out = run("flow", "write", "contacts", "--input", "scores.parquet", "--operation", "UPDATE", "--id-field", "id")
    assert "10 of 10 records written" in out

    time.sleep(1.1)  # stamps are whole seconds rounded up: a write is inside windows ending 1 s after it
    out = run("flow", "run", "contacts", "--destination", "landing")
    assert "incremental run of contacts" in out
    [incremental] = [p for p in (tmp_path / "landing" / "saas-contacts").iterdir() if p != full]
    rows = _landed(incremental)
    assert {row["id"]: row["score"] for row in rows} == pytest.approx(written)
