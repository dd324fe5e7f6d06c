"""What goes into each Lambda package, and how big it may get.

One place for the build (``deploy/build_function.py``), the size check (``deploy/package_sizes.py``) and the
tests. Sizes are MiB (2**20 bytes), the unit of Lambda's "250 MB unzipped" quota (262,144,000 bytes).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = REPO / "pyproject.toml"
TEMPLATE = REPO / "template.yaml"

MIB = 1 << 20
LAMBDA_UNZIPPED_LIMIT_MIB = 250  # function code + all layers, unzipped
LAMBDA_PYTHON = "3.12"  # the template's python3.12 runtime (AL2023, glibc 2.34)
GLIBC_MINOR = 34  # AL2023: wheels tagged manylinux_2_17 .. manylinux_2_34 run there

# The Lambda Python runtime ships the AWS SDK; bundling it again costs ~33 MiB per function.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")


@dataclass(frozen=True)
class FunctionPackage:
    name: str  # short name used on the command line: athena | appflow
    logical_id: str  # the AWS::Serverless::Function in template.yaml
    handler: str  # module.function, relative to the package root
    packages: tuple[str, ...]  # project packages copied in (top-level directories of the repo)
    extras: tuple[str, ...]  # pyproject extras installed on top of [project].dependencies
    budget_mib: float  # unzipped size the package must stay under (the check fails above it)
    forbidden: tuple[str, ...] = ()  # distributions that must never be in this package
    required: tuple[str, ...] = ()  # distributions that must be in this package
    trim_pyarrow: bool = False


FUNCTIONS: dict[str, FunctionPackage] = {
    "athena": FunctionPackage(
        name="athena",
        logical_id="AthenaConnectorFunction",
        handler="athena_connector.handler.lambda_handler",
        packages=("shared", "athena_connector"),
        extras=("athena",),
        budget_mib=200,
        required=("pyarrow", "cryptography"),
        trim_pyarrow=True,
    ),
    "appflow": FunctionPackage(
        name="appflow",
        logical_id="AppFlowConnectorFunction",
        handler="appflow_connector.handler.lambda_handler",
        packages=("shared", "appflow_connector"),
        extras=("appflow",),
        budget_mib=30,
        forbidden=("pyarrow", "numpy", "pandas"),
        required=("custom-connector-sdk", "antlr4-python3-runtime"),
    ),
}

BY_LOGICAL_ID = {f.logical_id: f for f in FUNCTIONS.values()}

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def normalize(name: str) -> str:
    """PEP 503 name: ``Foo_Bar.baz`` -> ``foo-bar-baz``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    match = _NAME.match(requirement)
    if not match:
        raise ValueError(f"cannot read a distribution name from requirement {requirement!r}")
    return normalize(match.group(1))


def requirements(function: FunctionPackage, pyproject: Path = PYPROJECT) -> list[str]:
    """[project].dependencies plus the function's extras, as written in pyproject.toml, minus what the Lambda
    runtime already provides (boto3 and friends)."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    extras = project.get("optional-dependencies", {})
    own = normalize(project["name"])
    wanted: list[str] = list(project.get("dependencies", []))
    pending = list(function.extras)
    seen: set[str] = set()
    while pending:
        extra = pending.pop(0)
        if extra in seen:
            continue
        seen.add(extra)
        if extra not in extras:
            raise KeyError(f"pyproject.toml has no extra [{extra}] (needed by the {function.name} function)")
        for req in extras[extra]:
            if requirement_name(req) == own:  # "saas-connectors[a,b]" pulls other extras in
                inner = re.search(r"\[([^\]]*)\]", req)
                pending.extend(e.strip() for e in (inner.group(1).split(",") if inner else []) if e.strip())
            else:
                wanted.append(req)
    provided = {normalize(n) for n in RUNTIME_PROVIDED}
    out: list[str] = []
    for req in wanted:
        if requirement_name(req) not in provided and req not in out:
            out.append(req)
    return out


def _version_of(executable: str) -> tuple[int, int, str] | None:
    try:
        out = subprocess.run(
            [executable, "-c", "import sys, platform; print(*sys.version_info[:2], platform.machine())"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return None
    parts = out.stdout.split()
    if out.returncode != 0 or len(parts) != 3:
        return None
    return int(parts[0]), int(parts[1]), parts[2]


@functools.cache
def runtime_python(version: str = LAMBDA_PYTHON, machine: str | None = None) -> str | None:
    """A CPython of the Lambda runtime's version on this host (on ``machine``, when given), or None.

    Looks at ``$LAMBDA_PYTHON<major><minor>`` (e.g. ``LAMBDA_PYTHON312``), ``python3.12`` on PATH, pyenv's and uv's
    installs, /usr/bin and /usr/local/bin."""
    nodot = version.replace(".", "")
    name = f"python{version}"
    home = Path.home()
    candidates = [os.environ.get(f"LAMBDA_PYTHON{nodot}", ""), shutil.which(name) or ""]
    candidates += [str(p) for p in sorted((home / ".pyenv" / "versions").glob(f"{version}*/bin/{name}"))]
    candidates += [str(p) for p in sorted((home / ".local/share/uv/python").glob(f"cpython-{version}*/bin/{name}"))]
    candidates += [f"/usr/bin/{name}", f"/usr/local/bin/{name}"]
    wanted = tuple(int(x) for x in version.split("."))
    for candidate in candidates:
        if not candidate or not Path(candidate).exists():
            continue
        found = _version_of(candidate)
        if found and found[:2] == wanted and (machine is None or found[2] == machine):
            return candidate
    return None
