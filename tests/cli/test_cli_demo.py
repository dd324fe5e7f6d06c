"""``saas-connectors demo`` as the README's first command runs it: no configuration, no AWS account."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.cli.conftest import REPO


def test_demo_exits_zero_and_says_what_it_did(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "SAAS_")) and k not in ("spill_bucket", "spill_prefix", "schema_name")
    }
    env["PYTHONPATH"] = str(REPO)
    env["TMPDIR"] = str(tmp_path)  # the demo's temporary folder is removed when it ends
    script = Path(sys.executable).parent / "saas-connectors"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "saas_cli.main"]
    proc = subprocess.run(
        [*command, "demo"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=170, check=False
    )
    out = proc.stdout
    assert proc.returncode == 0, out[-3000:] + proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    for text in (
        "1. Athena: SQL through the federated query connector",
        "pushed to the connector: contacts: status = 'customer' or = 'lead'",
        "sent to the API:         contacts: status=customer,lead",
        "kept by the engine:",
        "a wide export that spills to S3",
        "2. AppFlow: a flow for contacts to Parquet in S3 (full, then incremental)",
        "incremental run read: updated_at between",
        "s3://saas-connectors-demo-landing/appflow/demo-contacts-to-s3/",
        "3. SageMaker: read the landed Parquet with pandas",
        "4. Write-back: scores to the CRM through the AppFlow destination path",
        "All 4 steps checked out",
        "answer (2 rows):\n       status=customer, contacts=",  # a few rows of each answer, not only counts
        "Try next (README.md",
    ):
        assert text in out, text
    lines = [line for line in out.splitlines() if "spills to S3" in line and "split(s)" in line]
    assert lines and "ok" in lines[0], "the export query spilled and matched the API's data"
    assert "MISMATCH" not in out and "FAILED" not in out
    assert not list(tmp_path.glob("saas-demo-*"))
