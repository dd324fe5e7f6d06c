"""The deployment tools the tests run: cfn-lint, the SAM CLI, and a CPython 3.12 like the Lambda runtime's."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from deploy.lambda_packages import runtime_python
from tests.deploy.cfn import REPO

BIN = Path(sys.executable).parent
TOOL_ENV = {**os.environ, "SAM_CLI_TELEMETRY": "0", "SAM_CLI_DISABLE_UPDATE_CHECK": "1", "NO_COLOR": "1"}
MISSING = (
    "{tool} is not installed in this environment: it comes with the project's [deploy] extra "
    "(pip install -e '.[deploy]'), which CI installs"
)


def cfn_lint_command() -> list[str]:
    exe = BIN / "cfn-lint"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("cfn-lint")
    if found:
        return [found]
    raise FileNotFoundError(MISSING.format(tool="cfn-lint"))


def sam_command() -> list[str]:
    try:
        import samcli  # noqa: F401
    except ImportError:
        raise FileNotFoundError(MISSING.format(tool="aws-sam-cli")) from None
    return [sys.executable, "-m", "samcli"]


def run(command: list[str], *, cwd: Path = REPO, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=TOOL_ENV, capture_output=True, text=True, timeout=timeout, check=False)


def python312() -> str | None:
    """A CPython 3.12 on x86_64 Linux (the python3.12 Lambda runtime's interpreter), or None."""
    return runtime_python("3.12", "x86_64")
