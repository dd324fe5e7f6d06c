"""The peer's virtualenv, ``benchmarks/.venv-peer``: CPython 3.12 (the peer needs it) with ``athena-federation==0.1.6``
from PyPI (it pins pyarrow 17.0.0 and smart-open 7.0.4) and the same ``requests`` as ours, so that both read the
demo API with the same HTTP stack.

``python -m benchmarks.peer_env`` creates it (or says why it cannot); ``benchmarks.run`` does so when it is missing.
The 3.12 interpreter is ``$LAMBDA_PYTHON312``, else ``python3.12`` on PATH, else pyenv's or uv's.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from deploy.lambda_packages import runtime_python

HERE = Path(__file__).resolve().parent
PEER_VENV = HERE / ".venv-peer"
PEER_SDK = "athena-federation==0.1.6"


def python312() -> str | None:
    """A CPython 3.12 (``deploy.lambda_packages.runtime_python``: ``$LAMBDA_PYTHON312``, PATH, pyenv, uv)."""
    return runtime_python("3.12")


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
            "no CPython 3.12 found (set LAMBDA_PYTHON312, or install python3.12); athena-federation 0.1.6 needs it",
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
