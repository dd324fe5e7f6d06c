"""What a handler module does for the Lambda cold start once its imports are done."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.deploy.cfn import REPO


@pytest.mark.parametrize("module", ["athena_connector.handler", "appflow_connector.handler"])
def test_importing_a_handler_freezes_what_its_imports_made(module: str) -> None:
    """The objects the imports made go to the collector's permanent generation, so the first request's
    collections do not walk them again (docs/benchmarks.md, cold start)."""
    probe = f"import gc, {module}; print(gc.get_freeze_count())"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stdout.strip()) > 10_000  # 0 without the freeze; about 30k (AppFlow) and 120k (Athena)
