"""The deployment tools the tests run: cfn-lint, the SAM CLI, and a CPython 3.12 like the Lambda runtime's."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

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


def _version_of(executable: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [
                executable,
                "-c",
                "import sys, platform; print(sys.version_info[0], sys.version_info[1], platform.machine())",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return None
    parts = out.stdout.split()
    if out.returncode != 0 or len(parts) != 3 or parts[2] != "x86_64":
        return None
    return int(parts[0]), int(parts[1])


@functools.cache
def python312() -> str | None:
    """A CPython 3.12 on x86_64 Linux (the python3.12 Lambda runtime's interpreter), or None.

    Looks at $LAMBDA_PYTHON312, python3.12 on PATH, pyenv's and uv's installs, /usr/bin and /usr/local/bin."""
    candidates = [os.environ.get("LAMBDA_PYTHON312", "")]
    candidates += [shutil.which("python3.12") or ""]
    home = Path.home()
    candidates += [str(p) for p in sorted((home / ".pyenv" / "versions").glob("3.12*/bin/python3.12"))]
    candidates += [
        str(p) for p in sorted((home / ".local" / "share" / "uv" / "python").glob("cpython-3.12*/bin/python3.12"))
    ]
    candidates += ["/usr/bin/python3.12", "/usr/local/bin/python3.12"]
    for candidate in candidates:
        if candidate and Path(candidate).exists() and _version_of(candidate) == (3, 12):
            return candidate
    return None
