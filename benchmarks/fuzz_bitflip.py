"""Flip bits in the Arrow payloads of valid Athena events; no case may kill the Lambda process.

Seeds: the Athena request vectors in ``<repo>/../shared/athena-vectors`` plus valid events for the demo tables
(from ``fuzz_entry_points``) and a few richer ones made here: ReadRecords with value sets on every column kind
(integers, text, decimals, booleans, dates, timestamps, in equatable sets and in ranges) and GetSplits on a
partitioned table with the layout's own partition block. Every base64 Arrow message in them (``schema``,
``records``, ``outputSchema``; in value blocks, partitions and UDF input) is a target. A case decodes one
target, flips 1 to 4 random bits (most cases 1), encodes it again and invokes the Athena ``lambda_handler``.

The cases run in a worker *subprocess* (a demo API and moto's S3 on loopback inside it), so that a segfault in
pyarrow's C++ code, the failure this hunts, is seen as the worker's death (exit 139 / signal 11) instead of
killing the run. Each case must end within ``--case-timeout`` seconds in an answer or one of the connector's
typed errors (not "unexpected ..."); a dead worker is recorded with its case and replaced.

Run from the repository root::

    python benchmarks/fuzz_bitflip.py --cases 20000 --write-docs

``tests/reliability/test_bitflip.py`` runs a few hundred cases in CI. ``--write-docs`` writes the counts into
docs/reliability.md between the ``bitflip:begin``/``bitflip:end`` markers.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import copy
import io
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.doc_blocks import last_run, replace_block  # noqa: E402

DOC = REPO / "docs" / "reliability.md"
ARROW_KEYS = ("schema", "records", "outputSchema")
OUTCOMES = ("answered", "typed_error", "unclear", "hang", "crash")
SELFTEST_SEGFAULT = "__selftest_segfault__"


# -------------------------------------------------------------------------------------------------------- seeds


def extra_seeds() -> list[tuple[str, Any]]:
    """ReadRecords with value sets of every column kind the demo tables have, and GetSplits on a partitioned
    table: the payloads whose values the read path decodes and compares."""
    import datetime as dt
    from decimal import Decimal

    import pyarrow as pa

    from athena_connector.metadata import META_ENTITY, META_PARTITION_FIELD
    from athena_connector.wire import (
        ArrowType,
        Block,
        Constraints,
        EncryptionKey,
        EquatableValueSet,
        FederatedIdentity,
        GetSplitsRequest,
        Range,
        ReadRecordsRequest,
        S3SpillLocation,
        SortedRangeSet,
        Split,
        TableName,
        to_wire,
    )

    identity = FederatedIdentity("123456789012", "arn:aws:iam::123456789012:user/fuzz")
    accounts = TableName("demo_crm", "accounts")
    columns = pa.schema(
        [
            ("id", pa.int64()),
            ("name", pa.string()),
            ("employees", pa.int32()),
            ("annual_revenue", pa.decimal128(14, 2)),
            ("is_active", pa.bool_()),
            ("founded_on", pa.date32()),
            ("rating", pa.float64()),
            ("updated_at", pa.date64()),
            ("tags", pa.list_(pa.string())),
        ]
    )
    ts = pa.date64()
    summary = {
        "id": SortedRangeSet(
            ArrowType.of("Int", bitWidth=64, isSigned=True), (Range.between(pa.int64(), 2, 90),), False
        ),
        "name": SortedRangeSet(ArrowType.of("Utf8"), (Range.between(pa.string(), "A", "zz"),), True),
        "employees": EquatableValueSet.of([10, 200, 3000], pa.int32(), white_list=False, null_allowed=True),
        "annual_revenue": SortedRangeSet(
            ArrowType.of("Decimal", precision=14, scale=2),
            (Range.between(pa.decimal128(14, 2), Decimal("0.00"), None),),
            True,
        ),
        "is_active": EquatableValueSet.of([True], pa.bool_(), null_allowed=True),
        "founded_on": SortedRangeSet(
            ArrowType.of("Date", unit="DAY"), (Range.between(pa.date32(), dt.date(1900, 1, 1), None),), True
        ),
        "updated_at": SortedRangeSet(
            ArrowType.of("Date", unit="MILLISECOND"),
            (Range.between(ts, dt.datetime(2000, 1, 1), dt.datetime(2100, 1, 1, 0, 0, 0, 1000)),),
            False,
        ),
    }
    split = Split(
        S3SpillLocation("fuzz-spill", "spill/q/bitflip", True),
        EncryptionKey(os.urandom(32), os.urandom(12)),
        {"split.kind": "id_range", "split.field": "id", "split.low": "1", "split.high": "500"},
    )
    read = ReadRecordsRequest(
        identity, "q", "lambda:fuzz", accounts, columns, split, Constraints(summary=summary), 16_000_000, 3_465_000
    )
    stage = pa.field("stage", pa.string())
    partitions = Block(
        pa.RecordBatch.from_arrays(
            [pa.array(["prospecting", "closed_won", None])],
            schema=pa.schema([stage], metadata={META_PARTITION_FIELD: "stage", META_ENTITY: "deals"}),
        )
    )
    deals = TableName("demo_crm", "deals")
    stage_set = {"stage": EquatableValueSet.of(["prospecting", "closed_won", "qualification"], pa.string())}
    splits = GetSplitsRequest(identity, "q", "lambda:fuzz", deals, partitions, (), Constraints(summary=stage_set), None)
    return [(name, json.loads(json.dumps(to_wire(e)))) for name, e in (("rich_read", read), ("rich_splits", splits))]


def seeds() -> list[tuple[str, Any]]:
    from benchmarks.fuzz_entry_points import athena_demo_seeds, athena_vector_seeds

    out = []
    for name, event in athena_vector_seeds() + athena_demo_seeds() + extra_seeds():
        if targets(event):
            out.append((name, event))
    return out


def targets(event: Any) -> list[tuple[Any, ...]]:
    """Paths of every non-empty base64 Arrow message in ``event``."""
    found: list[tuple[Any, ...]] = []
    stack: list[tuple[tuple[Any, ...], Any]] = [((), event)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if key in ARROW_KEYS and isinstance(item, str) and item:
                    found.append((*path, key))
                else:
                    stack.append(((*path, key), item))
        elif isinstance(value, list):
            stack.extend(((*path, i), item) for i, item in enumerate(value))
    return sorted(found, key=str)


def flip(event: Any, rng: random.Random) -> tuple[Any, str]:
    """A copy of ``event`` with 1 to 4 bits flipped in one of its Arrow messages; and where (for the report)."""
    doc = copy.deepcopy(event)
    path = rng.choice(targets(doc))
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    raw = bytearray(base64.b64decode(parent[path[-1]]))
    bits = rng.choice([1, 1, 1, 1, 2, 3, 4])
    flipped = []
    for _ in range(bits):
        bit = rng.randrange(len(raw) * 8)
        raw[bit // 8] ^= 1 << (bit % 8)
        flipped.append(bit)
    parent[path[-1]] = base64.b64encode(bytes(raw)).decode()
    return doc, f"{'.'.join(map(str, path))} bits {flipped}"


def body_flips(names: Iterable[str]) -> Iterator[tuple[str, Any, str]]:
    """Every single-bit flip in the body (offsets, validity, values) of every record batch in the named seeds:
    deterministic and exhaustive where a bad offset does harm, for a CI run that cannot miss by chance."""
    import pyarrow as pa
    from pyarrow import ipc

    wanted = set(names)
    for name, event in seeds():
        if name not in wanted:
            continue
        for path in targets(event):
            if path[-1] != "records":
                continue
            parent = event
            for part in path[:-1]:
                parent = parent[part]
            raw = base64.b64decode(parent[path[-1]])
            start = len(raw) - ipc.read_message(pa.py_buffer(raw)).body.size
            for bit in range(start * 8, len(raw) * 8):
                doc = copy.deepcopy(event)
                target = doc
                for part in path[:-1]:
                    target = target[part]
                flipped = bytearray(raw)
                flipped[bit // 8] ^= 1 << (bit % 8)
                target[path[-1]] = base64.b64encode(bytes(flipped)).decode()
                yield name, doc, f"{'.'.join(map(str, path))} bits [{bit}]"


# ----------------------------------------------------------------------------------------------------- worker


def worker_main() -> int:
    """Read cases (JSON lines) from stdin, answer results (JSON lines) on the original stdout."""
    from benchmarks.fuzz_entry_points import environment, run_case

    results = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # the connector's log lines and metrics go to stdout: away from the results channel
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the worker
    timeout_s = float(os.environ.get("BITFLIP_CASE_TIMEOUT", "10"))
    with environment():
        results.write(json.dumps({"ready": os.getpid()}) + "\n")
        for line in sys.stdin:
            case = json.loads(line)
            if case.get("seed") == SELFTEST_SEGFAULT:
                os.kill(os.getpid(), signal.SIGSEGV)
            with contextlib.redirect_stdout(io.StringIO()):
                result = run_case("athena", case["seed"], "bitflip", case["event"], timeout_s)
            results.write(json.dumps({"outcome": result.outcome, "detail": result.detail[:300]}) + "\n")
    return 0


class Worker:
    """One worker subprocess; ``run`` returns its result for a case, or ``crash``/``hang`` if it died or hung."""

    def __init__(self, timeout_s: float) -> None:
        env = {**os.environ, "BITFLIP_CASE_TIMEOUT": str(timeout_s), "PYTHONPATH": str(REPO)}
        self.timeout_s = timeout_s
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=REPO,
            env=env,
        )
        ready = self._read(120.0)
        if ready is None or "ready" not in ready:
            self.close()
            raise RuntimeError(f"the bit-flip worker did not start (exit {self.proc.poll()})")
        self.pid = int(ready["ready"])

    def _read(self, timeout_s: float) -> dict[str, Any] | None:
        import selectors

        assert self.proc.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            if not sel.select(timeout_s):
                return None
        line = self.proc.stdout.readline()
        return json.loads(line) if line else None

    def run(self, seed: str, event: Any) -> tuple[str, str]:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps({"seed": seed, "event": event}) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass
        answer = self._read(self.timeout_s * 3 + 5)
        if answer is not None:
            return answer["outcome"], answer["detail"]
        try:
            code = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.close()
            return "hang", f"no answer within {self.timeout_s * 3 + 5:.0f}s"
        name = signal.Signals(-code).name if code < 0 else f"exit {code}"
        return "crash", f"worker died: {name} (shell exit {128 - code if code < 0 else code})"

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


# --------------------------------------------------------------------------------------------------- campaign


@dataclass
class Failure:
    seed: str
    where: str
    outcome: str
    detail: str


@dataclass
class Campaign:
    seed: int = 0
    timeout_s: float = 10.0
    counts: Counter[str] = field(default_factory=Counter)
    by_seed: Counter[str] = field(default_factory=Counter)
    by_target: Counter[str] = field(default_factory=Counter)
    failures: list[Failure] = field(default_factory=list)
    workers_started: int = 0
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def run(self, cases: int, progress: bool = False) -> Campaign:
        """``cases`` random flips (reproducible from ``seed``)."""
        rng = random.Random(self.seed)
        pool = seeds()

        def random_cases() -> Iterator[tuple[str, Any, str]]:
            for _ in range(cases):
                name, event = rng.choice(pool)
                yield (name, *flip(event, rng))

        return self.run_cases(random_cases(), progress)

    def run_cases(self, cases: Iterable[tuple[str, Any, str]], progress: bool = False) -> Campaign:
        """Run ``(seed name, mutated event, where)`` cases in one worker (a new one after each crash)."""
        started = time.monotonic()
        worker: Worker | None = None
        try:
            for i, (name, mutated, where) in enumerate(cases):
                if worker is None or not worker.alive:
                    worker = Worker(self.timeout_s)
                    self.workers_started += 1
                outcome, detail = worker.run(name, mutated)
                self.counts[outcome] += 1
                self.by_seed[name] += 1
                self.by_target[where.split(" ")[0].rsplit(".", 1)[-1]] += 1
                if outcome not in ("answered", "typed_error"):
                    self.failures.append(Failure(name, where, outcome, detail))
                if progress and (i + 1) % 1000 == 0:
                    elapsed = time.monotonic() - started
                    print(f"  {i + 1} cases, {elapsed:.0f}s, failures {len(self.failures)}", file=sys.stderr)
        finally:
            if worker is not None:
                worker.close()
        self.seconds = time.monotonic() - started
        return self

    def summary(self) -> str:
        counts = ", ".join(f"{k} {self.counts[k]}" for k in OUTCOMES)
        lines = [
            f"cases: {self.total} over {len(self.by_seed)} seed events in {self.seconds:.1f}s "
            f"({self.total / max(self.seconds, 1e-9):.0f}/s), worker processes started: {self.workers_started}",
            f"outcomes: {counts}",
            "targets: " + ", ".join(f"{k} {v}" for k, v in sorted(self.by_target.items())),
        ]
        for failure in self.failures[:20]:
            lines.append(f"  FAIL {failure.seed} {failure.where}: {failure.outcome} {failure.detail}")
        return "\n".join(lines)


def write_docs(campaign: Campaign, command: str) -> None:
    replace_block(DOC, "bitflip", last_run(command, campaign.summary()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--case-timeout", type=float, default=10.0)
    parser.add_argument("--write-docs", action="store_true", help="write the counts into docs/reliability.md")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker_main()
    campaign = Campaign(seed=args.seed, timeout_s=args.case_timeout).run(args.cases, progress=True)
    print(campaign.summary())
    if args.write_docs:
        write_docs(campaign, f"python benchmarks/fuzz_bitflip.py --cases {args.cases} --seed {args.seed}")
    return 0 if not campaign.failures else 1


if __name__ == "__main__":
    sys.exit(main())
