#!/usr/bin/env python3
"""Build one Lambda package (``athena`` or ``appflow``) into an artifacts directory.

``sam build`` calls this through ``deploy/functions/<name>/Makefile`` (``BuildMethod: makefile``) with
``ARTIFACTS_DIR`` set; it also runs on its own::

    python deploy/build_function.py athena --out /tmp/athena-package

What it does, without Docker (a CPython 3.12 is used to byte-compile when the host has one, and is not required):

1. installs ``[project].dependencies`` plus the function's extra from ``pyproject.toml`` (the single source of
   versions) as Linux wheels for the Lambda runtime (CPython 3.12, manylinux up to glibc 2.34, x86_64), using
   pip's ``--platform``/``--python-version`` so the host's Python does not matter. The AWS SDK (boto3,
   botocore, s3transfer) is left out: the Lambda runtime provides it. A dependency published only as a
   source distribution (antlr4-python3-runtime 4.9.3) is built into a wheel first; that works for
   pure-Python packages only, and a compiled one fails the install instead of shipping a host binary;
2. copies the project packages the function needs (``shared`` plus its connector package, with the
   bundled specs), nothing else;
3. for the Athena function, trims pyarrow: tests, headers, Cython sources, Arrow Flight and the S3
   filesystem (the connector uses neither; spill goes through boto3), duplicate copies of shared
   libraries, then strips the remaining ``.so`` files. Parquet, IPC and compute keep working;
4. byte-compiles every module with a CPython of the runtime's version when this host has one
   (``deploy.lambda_packages.runtime_python``; ``--no-bytecode`` skips it). ``/var/task`` is read-only, so a
   package without ``.pyc`` compiles every module it imports on every cold start: shipping them cut the
   measured cold starts by a third to a half (docs/benchmarks.md). The ``.pyc`` are ``checked-hash`` ones
   (PEP 552): valid whatever the file times in the zip, and ignored for a source file edited later;
5. refuses a package that contains a forbidden distribution (pyarrow in the AppFlow function) or lacks a
   required one, and writes ``package-manifest.json`` (distributions, versions, sizes, bytecode) at its root.

Pass extra pip options through ``PIP_*`` environment variables (e.g. ``PIP_CONSTRAINT=deploy/constraints.txt``
to pin every version for a reproducible deployment, or ``PIP_INDEX_URL`` for a private index).
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deploy.lambda_packages import (
    FUNCTIONS,
    GLIBC_MINOR,
    LAMBDA_PYTHON,
    MIB,
    PYPROJECT,
    REPO,
    RUNTIME_PROVIDED,
    FunctionPackage,
    normalize,
    requirements,
    runtime_python,
)

MANIFEST = "package-manifest.json"
ARCHES = {"x86_64": "x86_64", "arm64": "aarch64"}

# pyarrow pieces the Athena connector never loads (it imports pyarrow, pyarrow.compute and pyarrow.ipc).
PYARROW_DIRS = ("tests", "include", "src", "includes")
PYARROW_SUFFIXES = (".pyx", ".pxd", ".pxi", ".h", ".hpp", ".cc", ".cpp", ".cmake")
PYARROW_FILES = (
    r"^libarrow_flight\.so.*",
    r"^libarrow_python_flight\.so.*",
    r"^_flight\..*\.so$",
    r"^flight\.py$",
    r"^libarrow_s3\.so.*",
    r"^_s3fs\..*\.so$",
    r"^_pyarrow_cpp_tests\..*\.so$",
)


class BuildError(RuntimeError):
    pass


def log(message: str) -> None:
    print(f"[build_function] {message}", file=sys.stderr, flush=True)


def tree_size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def target_args(python_version: str, arch: str) -> list[str]:
    machine = ARCHES[arch]
    args: list[str] = []
    for minor in range(GLIBC_MINOR, 16, -1):
        args += ["--platform", f"manylinux_2_{minor}_{machine}"]
    args += ["--platform", f"manylinux2014_{machine}"]
    nodot = python_version.replace(".", "")
    args += ["--implementation", "cp", "--python-version", python_version]
    args += ["--abi", f"cp{nodot}", "--abi", "abi3", "--abi", "none"]
    return args


def pip(python: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [python, "-m", "pip", *args]
    log("$ " + " ".join(command))
    return subprocess.run(command, check=False, text=True, capture_output=True)


def install_dependencies(reqs: list[str], out: Path, python: str, python_version: str, arch: str) -> None:
    common = ["install", "--target", str(out), "--only-binary=:all:", "--no-compile", "--upgrade"]
    common += ["--disable-pip-version-check", "--no-warn-script-location", *target_args(python_version, arch)]
    first = pip(python, *common, *reqs)
    if first.returncode == 0:
        return
    if "No matching distribution" not in first.stderr and "Could not find a version" not in first.stderr:
        raise BuildError(f"pip install failed:\n{first.stdout[-3000:]}{first.stderr[-3000:]}")
    # Some requirement exists only as an sdist for the target: build wheels on this host (pure-Python ones
    # come out as py3-none-any and fit any Lambda), then install again with them as extra candidates.
    log("a dependency has no wheel for the Lambda runtime; building wheels from source distributions")
    with tempfile.TemporaryDirectory(prefix="wheelhouse-") as wheelhouse:
        built = pip(python, "wheel", "--wheel-dir", wheelhouse, "--disable-pip-version-check", *reqs)
        if built.returncode != 0:
            raise BuildError(f"pip wheel failed:\n{built.stdout[-3000:]}{built.stderr[-3000:]}")
        second = pip(python, *common, "--find-links", wheelhouse, *reqs)
        if second.returncode != 0:
            raise BuildError(
                "pip install failed even with locally built wheels (a compiled package without a wheel for "
                f"CPython {python_version} manylinux {arch}?):\n{second.stdout[-3000:]}{second.stderr[-3000:]}"
            )


def distributions(root: Path) -> dict[str, str]:
    """Installed distributions in a package directory: normalized name -> version."""
    found: dict[str, str] = {}
    for info in root.glob("*.dist-info"):
        name = version = None
        metadata = info / "METADATA"
        if metadata.is_file():
            for line in metadata.read_text(encoding="utf-8", errors="replace").splitlines():
                if line.startswith("Name:") and name is None:
                    name = line.split(":", 1)[1].strip()
                elif line.startswith("Version:") and version is None:
                    version = line.split(":", 1)[1].strip()
                elif not line.strip():
                    break
        if name is None:
            name, _, version = info.name[: -len(".dist-info")].partition("-")
        found[normalize(name)] = version or "?"
    return found


def top_level_names(info: Path) -> list[str]:
    """Top-level files/directories a dist-info's RECORD lists (to delete a distribution)."""
    names: set[str] = {info.name}
    record = info / "RECORD"
    if record.is_file():
        for line in record.read_text(encoding="utf-8", errors="replace").splitlines():
            path = line.split(",", 1)[0]
            if path and not path.startswith(".."):
                names.add(path.split("/", 1)[0])
    return sorted(names)


def remove_distributions(root: Path, names: tuple[str, ...]) -> list[str]:
    wanted = {normalize(n) for n in names}
    removed: list[str] = []
    for info in list(root.glob("*.dist-info")):
        dist = normalize(info.name[: -len(".dist-info")].rpartition("-")[0] or info.name)
        if dist not in wanted:
            continue
        for name in top_level_names(info):
            target = root / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
        removed.append(dist)
    return removed


def remove_bytecode_and_scripts(root: Path) -> None:
    for cache in list(root.rglob("__pycache__")):
        shutil.rmtree(cache, ignore_errors=True)
    for compiled in list(root.rglob("*.py[co]")):
        compiled.unlink()
    scripts = root / "bin"  # console scripts pip writes with --target; useless in Lambda
    if scripts.is_dir():
        shutil.rmtree(scripts)


def copy_project(function: FunctionPackage, out: Path, repo: Path = REPO) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo")
    for package in function.packages:
        source = repo / package
        if not (source / "__init__.py").is_file():
            raise BuildError(f"project package {package}/ not found in {repo}")
        shutil.copytree(source, out / package, ignore=ignore, dirs_exist_ok=False)


def trim_pyarrow(root: Path) -> int:
    """Delete what the connector never loads from pyarrow and strip the shared libraries; return bytes saved."""
    pkg = root / "pyarrow"
    if not pkg.is_dir():
        return 0
    before = tree_size(pkg)
    for name in PYARROW_DIRS:
        shutil.rmtree(pkg / name, ignore_errors=True)
    patterns = [re.compile(p) for p in PYARROW_FILES]
    for path in list(pkg.rglob("*")):
        if path.is_file() and (path.suffix in PYARROW_SUFFIXES or any(p.match(path.name) for p in patterns)):
            path.unlink()
    # Wheels cannot hold symlinks, so libX.so, libX.so.N and libX.so.N.M.P are three copies of one file;
    # the extension modules load the soname libX.so.N only.
    for soname in pkg.glob("lib*.so.*"):
        if not re.fullmatch(r"lib.+\.so\.\d+", soname.name):
            continue
        base = soname.name.rsplit(".", 1)[0]
        for twin in [pkg / base, *pkg.glob(f"{soname.name}.*")]:
            if twin.is_file() and twin != soname and filecmp.cmp(twin, soname, shallow=False):
                twin.unlink()
    strip = shutil.which("strip")
    if strip:
        libraries = [str(p) for p in pkg.rglob("*.so*") if p.is_file()]
        result = subprocess.run([strip, "--strip-unneeded", *libraries], check=False, capture_output=True, text=True)
        if result.returncode != 0:  # e.g. a host strip that cannot read aarch64 objects
            log(f"strip failed, libraries left unstripped: {result.stderr.strip()[:300]}")
    else:
        log("no `strip` on PATH: pyarrow's shared libraries are left unstripped (about 25 MiB more)")
    return before - tree_size(pkg)


def compile_bytecode(root: Path, python_version: str) -> str | None:
    """Byte-compile the package for the runtime's CPython; return what was done (None: no such interpreter)."""
    python = runtime_python(python_version)
    if python is None:
        log(
            f"no CPython {python_version} on this host (set LAMBDA_PYTHON{python_version.replace('.', '')}): the "
            "package ships without .pyc, so every cold start compiles the modules it imports"
        )
        return None
    command = [python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "checked-hash", str(root)]
    result = subprocess.run(command, check=False, capture_output=True, text=True)
    if result.returncode != 0:
        # Some third-party files are not meant to compile (templates, py2-only test data): they stay source.
        log(f"compileall reported files it could not compile: {(result.stdout + result.stderr).strip()[:300]}")
    return f"CPython {python_version} checked-hash .pyc"


def check_contents(function: FunctionPackage, installed: dict[str, str]) -> None:
    bad = [n for n in function.forbidden if normalize(n) in installed]
    if bad:
        raise BuildError(f"the {function.name} package must not contain {', '.join(bad)} (pulled in by a dependency?)")
    missing = [n for n in function.required if normalize(n) not in installed]
    if missing:
        raise BuildError(f"the {function.name} package lacks {', '.join(missing)}")


def build(
    function: FunctionPackage,
    out: Path,
    *,
    python: str = sys.executable,
    python_version: str = LAMBDA_PYTHON,
    arch: str = "x86_64",
    trim: bool = True,
    bytecode: bool = True,
    pyproject: Path = PYPROJECT,
    repo: Path = REPO,
) -> dict[str, object]:
    started = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    leftovers = [p for p in out.iterdir()]
    if leftovers:
        if not (out / MANIFEST).is_file():
            raise BuildError(f"{out} is not empty and was not made by this script; refusing to overwrite it")
        for path in leftovers:
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
    reqs = requirements(function, pyproject)
    log(f"{function.name}: installing {' '.join(reqs)} for CPython {python_version} manylinux {arch}")
    install_dependencies(reqs, out, python, python_version, arch)
    dropped = remove_distributions(out, RUNTIME_PROVIDED)
    if dropped:
        log(f"left out {', '.join(dropped)} (provided by the Lambda runtime)")
    remove_bytecode_and_scripts(out)
    copy_project(function, out, repo)
    saved = trim_pyarrow(out) if (trim and function.trim_pyarrow) else 0
    installed = distributions(out)
    check_contents(function, installed)
    compiled = compile_bytecode(out, python_version) if bytecode else None
    size = tree_size(out)
    manifest: dict[str, object] = {
        "function": function.name,
        "logical_id": function.logical_id,
        "handler": function.handler,
        "python": python_version,
        "architecture": arch,
        "requirements": reqs,
        "distributions": dict(sorted(installed.items())),
        "project_packages": list(function.packages),
        "left_out_runtime_provided": list(RUNTIME_PROVIDED),
        "pyarrow_trimmed_bytes": saved,
        "bytecode": compiled,
        "size_bytes": size,
        "build_seconds": round(time.monotonic() - started, 1),
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    log(
        f"{function.name}: {size / MIB:.1f} MiB unzipped in {manifest['build_seconds']} s"
        + (f" (pyarrow trimmed by {saved / MIB:.1f} MiB)" if saved else "")
    )
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("function", choices=sorted(FUNCTIONS))
    parser.add_argument(
        "--out", default=os.environ.get("ARTIFACTS_DIR"), help="artifacts directory (default: $ARTIFACTS_DIR)"
    )
    parser.add_argument("--python-version", default=LAMBDA_PYTHON, help="Lambda runtime's Python (default 3.12)")
    parser.add_argument("--arch", choices=sorted(ARCHES), default="x86_64")
    parser.add_argument("--no-trim", action="store_true", help="keep pyarrow whole")
    parser.add_argument("--no-bytecode", action="store_true", help="ship no .pyc (cold starts compile every module)")
    parser.add_argument("--pyproject", type=Path, default=PYPROJECT, help="read requirements from this file")
    args = parser.parse_args(argv)
    if not args.out:
        parser.error("--out is required when ARTIFACTS_DIR is not set")
    try:
        build(
            FUNCTIONS[args.function],
            Path(args.out).resolve(),
            python_version=args.python_version,
            arch=args.arch,
            trim=not args.no_trim,
            bytecode=not args.no_bytecode,
            pyproject=args.pyproject,
        )
    except BuildError as exc:
        log(f"error: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
