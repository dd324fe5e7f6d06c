"""How the orchestrator talks to a measured process, and what a measurement is. Stdlib only.

A worker is a long-lived process (so repetitions are warm, like a warm Lambda): it prints one JSON line when it is
ready, then answers each JSON command read from stdin with one JSON line. Protocol lines go to a private copy of
the original stdout; anything the measured code prints (the peer SDK's ``print``, log lines, metrics) is sent to
stderr, which the orchestrator writes to a log file.

A measurement is wall time (``perf_counter``) and the process's CPU time (``process_time``: user + system, all of
its threads, so background spill uploads count); the demo API and the S3 stand-in run in other processes, so
their CPU is not counted. ``peak_rss_kib`` is the process's high-water mark (``ru_maxrss``).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO


def peak_rss_kib() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def current_rss_kib() -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
    except OSError:  # not Linux
        return peak_rss_kib()


def block_modules(names: list[str]) -> None:
    """Make ``import name`` fail, as in a Lambda package that does not carry it (pyarrow imports pandas lazily
    on its first conversion when pandas is installed, which a local virtualenv may have and Lambda does not)."""
    for name in names:
        if name not in sys.modules:
            sys.modules[name] = None  # type: ignore[assignment]


def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def protocol_stream() -> TextIO:
    """A private copy of stdout for protocol lines; fd 1 and ``sys.stdout`` then point at stderr."""
    sys.stdout.flush()
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return out


def serve(ready: dict[str, Any], handle: Callable[[dict[str, Any]], dict[str, Any]], out: TextIO) -> None:
    """Announce ``ready``, then answer commands until ``{"op": "exit"}`` or end of input."""
    out.write(json.dumps({"ready": True, **ready, "rss_kib": current_rss_kib()}) + "\n")
    for line in sys.stdin:
        command = json.loads(line)
        if command.get("op") == "exit":
            break
        try:
            reply = handle(command)
        except Exception as exc:  # reported to the orchestrator, which stops the run
            import traceback

            traceback.print_exc()
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        reply["peak_rss_kib"] = peak_rss_kib()
        reply["rss_kib"] = current_rss_kib()
        out.write(json.dumps(reply) + "\n")


# ------------------------------------------------------------------------------------------- digests
# What every variant must agree on: the number of rows, the sum of ids and the non-null count of each column.


def digest_records(records: list[dict[str, Any]], columns: list[str]) -> dict[str, Any]:
    return {
        "rows": len(records),
        "id_sum": sum(r["id"] for r in records),
        "non_null": {c: sum(1 for r in records if r.get(c) is not None) for c in columns},
    }


def digest_arrow(table: Any, columns: list[str]) -> dict[str, Any]:
    """``table``: a pyarrow Table or RecordBatch holding ``columns``."""
    import pyarrow.compute as pc

    total = pc.sum(table.column("id")).as_py() if table.num_rows else 0
    return {
        "rows": table.num_rows,
        "id_sum": total or 0,
        "non_null": {c: table.num_rows - table.column(c).null_count for c in columns},
    }


def arrow_type(name: str) -> Any:
    """``int64``, ``string``, ``float64``, ``bool``, ``date32``, ``date64``, ``decimal128(p,s)`` -> pyarrow type."""
    import pyarrow as pa

    if name.startswith("decimal128("):
        precision, scale = (int(x) for x in name[len("decimal128(") : -1].split(","))
        return pa.decimal128(precision, scale)
    simple = {
        "int32": pa.int32(),
        "int64": pa.int64(),
        "string": pa.string(),
        "double": pa.float64(),
        "float64": pa.float64(),
        "bool": pa.bool_(),
        "date32[day]": pa.date32(),
        "date32": pa.date32(),
        "date64[ms]": pa.date64(),
        "date64": pa.date64(),
    }
    return simple[name]
