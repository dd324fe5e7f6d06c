"""The README's local walk-through, run as written and in order: the shell block after the ``readme-test: run``
marker goes to bash line by line (``set -e``: the first failing command fails the test). Lines marked
``# aws-only`` need deployed functions; they are excluded commands, counted and named here (not skipped tests).

The block runs in a fresh folder that looks like the repository root (``shared`` and ``.venv`` linked), with the
demo API's port 8080 replaced by a free one so the test does not depend on what else runs on the machine."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.cli.conftest import REPO
from tests.support.aws import free_port

MARKER = "<!-- readme-test: run"
AWS_ONLY = "# aws-only"


def runnable_block(readme: str) -> list[str]:
    """The lines of the first ```bash block after the marker."""
    after = readme[readme.index(MARKER) :]
    match = re.search(r"```bash\n(.*?)```", after, re.S)
    assert match, "no bash block after the readme-test marker"
    return [line for line in match.group(1).splitlines() if line.strip()]


def test_the_readme_walk_through_runs_as_written(tmp_path: Path) -> None:
    lines = runnable_block((REPO / "README.md").read_text(encoding="utf-8"))
    excluded = [line for line in lines if line.rstrip().endswith(AWS_ONLY)]
    commands = [line for line in lines if line not in excluded]
    assert len(excluded) == 1 and "--athena-function" in excluded[0]  # the only command that needs AWS
    assert len(commands) >= 15

    (tmp_path / "shared").symlink_to(REPO / "shared")
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))
    port = str(free_port())
    script = "set -euo pipefail\n" + "\n".join(line.replace("8080", port) for line in commands) + "\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SAAS_")) and k not in ("spill_bucket",)}
    env.update({"PYTHONPATH": str(REPO), "POWERTOOLS_LOG_LEVEL": "CRITICAL", "LOG_LEVEL": "ERROR"})
    proc = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}"
    assert "Traceback" not in proc.stderr
    out = proc.stdout
    assert "pushed filter:  score in (50.0, +inf)" in out
    assert "full run of contacts" in out and "incremental run of contacts" in out
    assert "20 of 20 records written" in out
    incremental = out[out.index("incremental run of contacts") :]
    assert re.search(r"\b20\b", incremental.splitlines()[3]), incremental[:800]  # the 20 written contacts landed
    assert (tmp_path / "contacts-fields.yaml").is_file() and (tmp_path / "scores.parquet").is_file()
    assert "my-api.yaml: ok" in out
