"""The scale benchmarks' smoke run: ``python -m benchmarks.scale --quick`` runs all three side by side, reads every
record, judges every target and writes its section to the given doc, never to docs/benchmarks.md.

No timing assertions (the quick run's sizes are tiny and the machine shared): only what must hold at any speed.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "benchmarks.md"

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("scale") / "benchmarks.md"
    before = DOC.read_bytes()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.scale",
            "--quick",
            "--out",
            str(out),
            "--json",
            str(out.with_suffix(".json")),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert DOC.read_bytes() == before, "the quick run wrote docs/benchmarks.md"
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done, out, json.loads(out.with_suffix(".json").read_text())


def test_the_section_is_written_where_asked(quick: tuple[Any, Path, dict[str, Any]]) -> None:
    _, out, _ = quick
    text = out.read_text()
    assert text.count("## Scale against slow, rate-limited APIs") == 1
    assert text.index("<!-- scale:begin -->") < text.index("<!-- scale:end -->")
    assert "`python -m benchmarks.scale --quick`" in text and "Load average" in text
    assert "largest table = splits x rows/s per split x time per split" in text
    assert "scale_pages" in text and "scale_quota" in text and "scale_splits" in text


def test_every_benchmark_read_everything(quick: tuple[Any, Path, dict[str, Any]]) -> None:
    _, _, results = quick
    pages, quota, splits = results["pages"], results["quota"], results["splits"]
    assert not any("error" in part for part in (pages, quota, splits))
    expected_pages = math.ceil(pages["settings"]["rows"] / pages["settings"]["page_size"])
    ours = {(r["entity"], r["concurrency"]) for r in pages["rows"] if r["concurrency"] != "peer"}
    assert ours == {(e, k) for e in ("accounts", "contacts") for k in (pages["settings"]["k"], 1)}
    for row in pages["rows"]:
        assert row["pages"] == expected_pages and row["wall_s"] > 0, row
    peers = [r for r in pages["rows"] if r["concurrency"] == "peer"]
    assert len(peers) == (2 if pages["peer"]["ran"] else 0)
    assert "no concurrency, quota or split sizing" in pages["peer"]["what"]
    assert {m["mode"] for m in quota["modes"]} == {"shared", "fallback"}
    for mode in quota["modes"]:
        assert mode["records"] == mode["expected_records"] and mode["failed_splits"] == 0, mode
    assert next(m for m in quota["modes"] if m["mode"] == "shared")["all_shared"] is True
    counted = [r for r in splits["rows"] if r["spec"] == "counted"]
    assert {r["entity"] for r in counted} == {"accounts", "contacts", "deals"}
    assert all(r["mark"] == "ok" for r in counted)


def test_the_largest_table_comes_from_the_measured_rates(quick: tuple[Any, Path, dict[str, Any]]) -> None:
    _, _, results = quick
    big = results["largest"]
    assert big["seconds"] == 900 - big["margin"] and big["margin"] > 0
    assert {p["pagination"] for p in big["by_pagination"]} == {"offset", "cursor"}
    for p in big["by_pagination"]:
        row = next(
            r for r in results["pages"]["rows"]
            if r["entity"] == p["entity"] and r["concurrency"] == results["pages"]["settings"]["k"]
        )  # fmt: skip
        assert p["rows_per_s"] == pytest.approx(results["pages"]["settings"]["rows"] / row["wall_s"])
        assert p["largest"] == pytest.approx(min(big["splits"] * p["rows_per_s"] * big["seconds"], big["cap_rows"]))
