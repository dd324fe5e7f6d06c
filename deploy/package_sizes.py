#!/usr/bin/env python3
"""Report the unzipped size of each Lambda package against its budget; exit 1 when one is over.

    python deploy/package_sizes.py                 # inspect .aws-sam/build (after `sam build`)
    python deploy/package_sizes.py --build         # run `sam build` first (no Docker needed)
    python deploy/package_sizes.py --budget athena=150 --zipped

Budgets (MiB, unzipped): AppFlow 30, Athena 200; Lambda's own limit is 250 MiB for code plus layers. The check
also fails when the AppFlow package contains pyarrow (or another forbidden distribution) or a package lacks
one it needs. Exit codes: 0 within budget, 1 over budget or wrong contents, 2 not built / build failed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deploy.lambda_packages import (
    FUNCTIONS,
    LAMBDA_UNZIPPED_LIMIT_MIB,
    MIB,
    REPO,
    TEMPLATE,
    FunctionPackage,
    normalize,
)

DEFAULT_BUILD_DIR = REPO / ".aws-sam" / "build"


@dataclass
class Report:
    function: FunctionPackage
    path: Path
    size_bytes: int = 0
    budget_mib: float = 0.0
    zipped_bytes: int | None = None
    largest: list[tuple[str, int]] = field(default_factory=list)
    distributions: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def size_mib(self) -> float:
        return self.size_bytes / MIB

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, object]:
        return {
            "function": self.function.name,
            "logical_id": self.function.logical_id,
            "path": str(self.path),
            "size_bytes": self.size_bytes,
            "size_mib": round(self.size_mib, 2),
            "budget_mib": self.budget_mib,
            "lambda_limit_mib": LAMBDA_UNZIPPED_LIMIT_MIB,
            "zipped_bytes": self.zipped_bytes,
            "largest": [{"name": n, "bytes": b} for n, b in self.largest],
            "distributions": self.distributions,
            "problems": self.problems,
            "ok": self.ok,
        }


def entry_size(path: Path) -> int:
    if path.is_symlink():
        return 0
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def installed_distributions(root: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for info in root.glob("*.dist-info"):
        name, _, version = info.name[: -len(".dist-info")].partition("-")
        found[normalize(name)] = version
    return found


def zipped_size(root: Path) -> int:
    """Size of the deployment zip (what `sam package` uploads), deflate level 6 like SAM."""
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "package.zip"
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
            for path in sorted(root.rglob("*")):
                if path.is_file() and not path.is_symlink():
                    archive.write(path, path.relative_to(root))
        return target.stat().st_size


def inspect(
    function: FunctionPackage, build_dir: Path, budget_mib: float | None = None, zipped: bool = False
) -> Report:
    path = build_dir / function.logical_id
    report = Report(function, path, budget_mib=function.budget_mib if budget_mib is None else budget_mib)
    if not path.is_dir():
        report.problems.append(f"not built: {path} does not exist (run `sam build` or pass --build)")
        return report
    sizes = [(p.name, entry_size(p)) for p in path.iterdir()]
    report.size_bytes = sum(s for _, s in sizes)
    report.largest = sorted(sizes, key=lambda item: -item[1])[:6]
    report.distributions = installed_distributions(path)
    top_level = {normalize(p.name) for p in path.iterdir()}
    if report.size_mib > report.budget_mib:
        report.problems.append(f"{report.size_mib:.1f} MiB is over its budget of {report.budget_mib:g} MiB")
    if report.size_mib > LAMBDA_UNZIPPED_LIMIT_MIB:
        report.problems.append(f"over Lambda's {LAMBDA_UNZIPPED_LIMIT_MIB} MiB unzipped limit: it cannot deploy")
    for name in function.forbidden:
        if normalize(name) in report.distributions or normalize(name) in top_level:
            report.problems.append(f"contains {name}, which this function must not carry")
    for name in function.required:
        if normalize(name) not in report.distributions:
            report.problems.append(f"lacks {name}")
    handler_module = function.handler.rsplit(".", 1)[0].replace(".", "/") + ".py"
    if not (path / handler_module).is_file():
        report.problems.append(f"handler module {handler_module} is missing")
    if zipped:
        report.zipped_bytes = zipped_size(path)
    return report


def sam_build(build_dir: Path, template: Path = TEMPLATE) -> float:
    """Run `sam build` (Makefile builds, no Docker); return its duration in seconds."""
    sam = shutil.which("sam") or str(Path(sys.executable).with_name("sam"))
    if not Path(sam).exists() and not shutil.which(sam):
        raise FileNotFoundError("the `sam` command (aws-sam-cli) is not installed")
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    started = time.monotonic()
    subprocess.run(
        [sam, "build", "--template-file", str(template), "--build-dir", str(build_dir)],
        check=True,
        cwd=template.parent,
        env=env,
    )
    return time.monotonic() - started


def render(reports: list[Report]) -> str:
    lines = [f"{'function':<26}{'unzipped':>12}{'budget':>10}{'Lambda limit':>14}{'zipped':>11}  status"]
    for r in reports:
        zipped = f"{r.zipped_bytes / MIB:.1f} MiB" if r.zipped_bytes is not None else "-"
        status = "ok" if r.ok else "FAIL"
        lines.append(
            f"{r.function.logical_id:<26}{r.size_mib:>8.1f} MiB{r.budget_mib:>6g} MiB"
            f"{LAMBDA_UNZIPPED_LIMIT_MIB:>10} MiB{zipped:>11}  {status}"
        )
    for r in reports:
        if r.largest:
            biggest = ", ".join(f"{name} {size / MIB:.1f}" for name, size in r.largest)
            lines.append(f"  {r.function.name}: largest (MiB): {biggest}")
        lines.extend(f"  {r.function.name}: {problem}" for problem in r.problems)
    return "\n".join(lines)


def parse_budgets(values: list[str]) -> dict[str, float]:
    budgets: dict[str, float] = {}
    for value in values:
        name, sep, amount = value.partition("=")
        if not sep or name not in FUNCTIONS:
            raise argparse.ArgumentTypeError(f"--budget wants NAME=MiB with NAME in {sorted(FUNCTIONS)}, got {value!r}")
        budgets[name] = float(amount)
    return budgets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", type=Path, default=DEFAULT_BUILD_DIR, help="sam build output (.aws-sam/build)")
    parser.add_argument("--build", action="store_true", help="run `sam build` into --build-dir first")
    parser.add_argument("--budget", action="append", default=[], metavar="NAME=MiB", help="override a budget")
    parser.add_argument("--zipped", action="store_true", help="also report the zipped size (slower)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    try:
        budgets = parse_budgets(args.budget)
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    if args.build:
        try:
            seconds = sam_build(args.build_dir)
        except (FileNotFoundError, subprocess.CalledProcessError) as exc:
            print(f"sam build failed: {exc}", file=sys.stderr)
            return 2
        print(f"sam build took {seconds:.1f} s", file=sys.stderr)
    reports = [inspect(f, args.build_dir, budgets.get(name), args.zipped) for name, f in FUNCTIONS.items()]
    print(json.dumps([r.as_dict() for r in reports], indent=2) if args.json else render(reports))
    if any(not r.path.is_dir() for r in reports):
        return 2
    return 0 if all(r.ok for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
