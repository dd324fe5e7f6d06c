"""The peer's virtualenv, ``benchmarks/.venv-peer``: CPython 3.12 (the peer needs it) with ``athena-federation==0.1.6``
from PyPI (it pins pyarrow 17.0.0 and smart-open 7.0.4) and the same ``requests`` as ours, so that both read the
demo API with the same HTTP stack.

``python -m benchmarks.peer_env`` creates it (or says why it cannot); ``benchmarks.run`` does so when it is missing.
The 3.12 interpreter is ``$BENCH_PYTHON312``, else ``python3.12`` on PATH, else pyenv's ``3.12.1``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEER_VENV = HERE / ".venv-peer"
PEER_SDK = "athena-federation==0.1.6"


def python312() -> str | None:
    """A CPython 3.12 interpreter, or None."""
    candidates = [os.environ.get("BENCH_PYTHON312"), shutil.which("python3.12")]
    for candidate in candidates:
        if candidate and _is_312(candidate):
            return candidate
    if shutil.which("pyenv") or Path.home().joinpath(".pyenv").is_dir():
        try:
            out = subprocess.run(
                ["python3", "-c", "import sys; print(sys.executable)"],
                env={**os.environ, "PYENV_VERSION": "3.12.1"},
                capture_output=True,
                text=True,
                check=True,
                timeout=30,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None
        if out and _is_312(out):
            return out
    return None


def _is_312(python: str) -> bool:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print(sys.version_info[:2] == (3, 12))"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return False
    return out == "True"


def peer_python() -> Path:
    return PEER_VENV / "bin" / "python"


def peer_ready() -> bool:
    python = peer_python()
    if not python.exists():
        return False
    probe = (
        "import athena_federation, pyarrow, requests; from importlib.metadata import version; "
        "print(version('athena-federation'))"
    )
    try:
        out = subprocess.run(
            [str(python), "-c", probe], capture_output=True, text=True, timeout=60, check=False
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return False
    return out == PEER_SDK.split("==")[1]


def requests_version() -> str:
    from importlib.metadata import version

    return version("requests")


def ensure_peer_venv(log: object = None) -> tuple[bool, str]:
    """(ready, what happened). Creates the virtualenv when it is missing or incomplete."""
    if peer_ready():
        return True, f"{PEER_VENV} already set up"
    python = python312()
    if python is None:
        return (
            False,
            "no CPython 3.12 found (set BENCH_PYTHON312, or install python3.12); athena-federation 0.1.6 needs it",
        )
    out = log if log is not None else subprocess.DEVNULL
    try:
        subprocess.run([python, "-m", "venv", "--clear", str(PEER_VENV)], check=True, stdout=out, stderr=out)
        subprocess.run(
            [str(peer_python()), "-m", "pip", "install", "--quiet", PEER_SDK, f"requests=={requests_version()}"],
            check=True,
            stdout=out,
            stderr=out,
            timeout=900,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return False, f"could not create {PEER_VENV} with {PEER_SDK}: {exc}"
    if not peer_ready():
        return False, f"{PEER_VENV} was created but does not import athena_federation {PEER_SDK}"
    return True, f"created {PEER_VENV} with {python} and {PEER_SDK}"


if __name__ == "__main__":
    ok, message = ensure_peer_venv(sys.stderr)
    print(message)
    raise SystemExit(0 if ok else 1)
