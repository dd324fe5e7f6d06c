"""Orchestrator-side plumbing: measured worker processes, the Python environments they run in, and statistics."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "out"


@dataclass
class PyEnv:
    """How to start a Python process running our code: the interpreter (and flags), the paths it needs per function
    (``athena`` / ``appflow``) and the modules to hide from it."""

    label: str
    argv: list[str]
    paths: dict[str, list[str]] = field(default_factory=dict)
    block: list[str] = field(default_factory=list)
    python: str = ""

    def args(self, function: str) -> list[str]:
        out: list[str] = []
        for path in self.paths.get(function, []):
            out += ["--path", path]
        for name in self.block:
            out += ["--block", name]
        return out


def venv_env() -> PyEnv:
    """The project's virtualenv; pandas and numpy hidden, as in the Lambda packages (which carry neither)."""
    return PyEnv(
        label=f"project virtualenv, CPython {sys.version.split()[0]} (pandas and numpy hidden, as in Lambda)",
        argv=[sys.executable],
        block=["pandas", "numpy"],
        python=sys.version.split()[0],
    )


def lambda_env(python312: str, build_dir: Path) -> PyEnv:
    """CPython 3.12 (the functions' runtime) with ``-S``: no site-packages, only the ``sam build`` output of the
    function and boto3 (which the Lambda runtime provides, precompiled), like ``/var/task`` and ``/var/runtime``."""
    runtime = lambda_runtime(python312)
    version = subprocess.run(
        [python312, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True, text=True, check=True
    ).stdout.strip()
    return PyEnv(
        label=f"Lambda-like: CPython {version} -S with the `sam build` package (+ boto3, as the runtime provides)",
        argv=[python312, "-S"],
        paths={
            "athena": [str(build_dir / "AthenaConnectorFunction"), str(runtime)],
            "appflow": [str(build_dir / "AppFlowConnectorFunction"), str(runtime)],
            "floor": [str(build_dir / "AthenaConnectorFunction")],
        },
        python=version,
    )


def lambda_runtime(python312: str) -> Path:
    """A copy of boto3 and what it needs (pure Python), byte-compiled by ``python312``, as in ``/var/runtime``."""
    import shutil

    import boto3
    import botocore
    import dateutil
    import jmespath
    import s3transfer

    runtime = OUT / "lambda-runtime"
    stamp = runtime / f".built-{boto3.__version__}-{botocore.__version__}"
    if stamp.exists():
        return runtime
    shutil.rmtree(runtime, ignore_errors=True)
    runtime.mkdir(parents=True)
    for module in (boto3, botocore, s3transfer, jmespath, dateutil):
        source = Path(module.__file__ or "").parent
        shutil.copytree(source, runtime / source.name, ignore=shutil.ignore_patterns("__pycache__"))
    import six

    shutil.copy(six.__file__, runtime / "six.py")
    compile_tree(python312, runtime)
    stamp.touch()
    return runtime


def compile_tree(python: str, root: Path) -> None:
    """Byte-compile every module under ``root`` for ``python`` (as ``/var/runtime`` holds boto3)."""
    subprocess.run([python, "-m", "compileall", "-q", "-j", "0", str(root)], check=False, capture_output=True)


class WorkerError(RuntimeError):
    pass


class Worker:
    """A measured process speaking ``_proto``'s line protocol."""

    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str], log: IO[str]) -> None:
        self.name = name
        log.write(f"\n=== {name}: {' '.join(argv)[:400]}\n")
        log.flush()
        self.proc = subprocess.Popen(
            list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True, env=env, cwd=REPO
        )
        self.ready = self._read()

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait(timeout=30)
            raise WorkerError(f"{self.name}: the worker exited ({code}); see the log")
        reply = json.loads(line)
        if "error" in reply:
            raise WorkerError(f"{self.name}: {reply['error']}")
        return dict(reply)

    def run(self, **command: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"op": "run", **command}) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write('{"op": "exit"}\n')
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(timeout=10)


def child_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAAS_", "AWS_", "spill_", "POWERTOOLS_"))}
    env.pop("PYTHONPATH", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # a Lambda package is read-only: nothing gets cached next to it
    env.update(extra)
    return env


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    walls = [r["wall"] for r in runs]
    cpus = [r["cpu"] for r in runs]
    return {
        "n": len(runs),
        "wall": median(walls),
        "wall_min": min(walls) if walls else None,
        "wall_max": max(walls) if walls else None,
        "cpu": median(cpus),
        "cpu_min": min(cpus) if cpus else None,
        "cpu_max": max(cpus) if cpus else None,
    }
