"""The benchmark suite's smoke run: ``python -m benchmarks.run --quick`` completes and writes sane numbers.

No timing assertions (timed assertions are flaky on shared machines): only that every section ran, that each
variant read every row and got the same result as the floor, and that the report was written.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(600)


def _positive(x: object) -> bool:
    return isinstance(x, int | float) and math.isfinite(x) and x > 0


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path_factory.mktemp("bench") / "benchmarks.md"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--out", str(out), "--img-dir", str(out.parent / "img")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return done, out


def test_quick_run_completes_and_writes_the_report(quick_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    done, out = quick_run
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    text = out.read_text()
    for heading in ("## Targets", "## Throughput", "## Peak memory", "## Cold start", "## Scaling with splits"):
        assert heading in text
    assert "--quick" in text


def test_quick_run_numbers_are_sane(quick_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    done, out = quick_run
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads(out.with_suffix(".json").read_text())
    assert not results.get("errors")
    plan = results["meta"]["plan"]
    for name, workload in results["throughput"].items():
        assert workload["rows"] == (plan["inline_rows"] if name == "inline" else plan["rows"])
        assert {"floor", "athena"} <= set(workload["variants"])
        for variant, r in workload["variants"].items():
            assert _positive(r["wall"]) and _positive(r["cpu"]), (name, variant, r)
            if r["digest"] is not None:
                assert r["same_result"], (name, variant, r["digest"])
                assert r["digest"]["rows"] == workload["rows"]
    spill = results["throughput"]["spill"]["variants"]
    assert spill["athena"]["response"] == "RemoteReadRecordsResponse" and spill["athena"]["blocks"] >= 1
    assert results["throughput"]["inline"]["variants"]["athena"]["response"] == "ReadRecordsResponse"
    assert spill["appflow"]["calls"] >= 2
    for run in results["memory"]["runs"].values():
        assert _positive(run["peak_rss_kib"])
    for function in ("athena", "appflow"):
        cold = results["coldstart"][function]["as built"]
        assert all(_positive(cold[k]) for k in ("floor_import", "import", "first", "second"))
        assert results["coldstart"][function]["modules"] > 10
    scaling = results["scaling"]["runs"]
    assert set(scaling) == {str(k) for k in plan["splits"]}
    for k, runs in scaling.items():
        assert all(_positive(r["query_s"]) and r["splits"] in (None, int(k)) for r in runs)
