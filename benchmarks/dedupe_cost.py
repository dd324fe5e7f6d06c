"""What duplicate detection (``shared.duplicates``) costs: ``python -m benchmarks.dedupe_cost [--rows N] [--json F]``.

* **Athena, per row**: ``DuplicateCheck.keep_new`` over 500-record pages of demo-like records (an integer id, and
  separately a 24-character string id), i.e. key extraction, the 64-bit hash and the set; the same pages without
  detection are the baseline (a list copy). Microseconds per row, best of 3.
* **AppFlow, per row**: the typed-row path: ``stable_key`` (BLAKE2b-64 of the key's text) plus the set and window.
* **Memory**: bytes held by a ``SeenKeys`` of 1,000,000 keys (tracemalloc: the set and its integers).
* **Token size**: the length of an AppFlow nextToken as a run grows (the window stops growing at ``TOKEN_KEYS``).
"""

from __future__ import annotations

import argparse
import json
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from appflow_connector.tokens import QueryToken
from shared.duplicates import TOKEN_KEYS, DuplicateCheck, SeenKeys, raw_key_getter, stable_key
from shared.spec.loader import load_spec_text
from shared.tokens import MAX_TOKEN_CHARS
from tests.support.fake_saas import fake_spec_text

PAGE = 500


def _entity() -> Any:
    return load_spec_text(fake_spec_text("http://127.0.0.1:9", "cursor")).entity("items")


def _best(fn: Callable[[], None], rows: int, reps: int = 3) -> float:
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best / rows * 1e6


def athena_cost(rows: int, ids: list[Any]) -> dict[str, float]:
    entity = _entity()
    getter = raw_key_getter(entity)
    assert getter is not None
    pages = [[{"id": i, "name": "x", "status": "open"} for i in ids[s : s + PAGE]] for s in range(0, rows, PAGE)]

    def detect() -> None:
        check = DuplicateCheck(entity, "drop", SeenKeys())
        for page in pages:
            check.keep_new(page, getter, 1)

    def baseline() -> None:
        for page in pages:
            list(page)

    with_us, base_us = _best(detect, rows), _best(baseline, rows)
    return {"us_per_row": round(with_us - base_us, 3)}


def appflow_cost(rows: int) -> dict[str, float]:
    entity = _entity()
    typed = [{"id": i} for i in range(rows)]

    def detect() -> None:
        check = DuplicateCheck(entity, "drop", SeenKeys(window=TOKEN_KEYS))
        for row in typed:
            values = [row["id"]]
            key = stable_key(values)
            if not check.repeat(key, values, 1):
                check.remember(key)

    return {"us_per_row": round(_best(detect, rows), 3)}


def memory_per_million() -> dict[str, float]:
    keys = [stable_key([i]) for i in range(1_000_000)]
    tracemalloc.start()
    seen = SeenKeys(limit=2_000_000)
    for k in keys:
        seen.add(k)
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # the integers are already allocated (keys): count them as the set holds them, 32 bytes each
    return {"bytes_per_key_set_only": round(held / 1e6, 1), "bytes_per_key_with_ints": round(held / 1e6 + 32, 1)}


def token_sizes() -> list[dict[str, int]]:
    out = []
    upstream = "sc1." + "A" * 900  # a client token of typical size (cursor, guard, history)
    for run in (0, 100, 500, 1024, 10_000, 1_000_000):
        keys = [stable_key([i]) for i in range(max(0, run - TOKEN_KEYS), run)]
        token = QueryToken("f" * 16, upstream, emitted=run, keys=keys)
        token.distinct = run
        out.append({"records_in_run": run, "keys_carried": len(keys), "token_chars": len(token.encode())})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    result = {
        "athena_int_key": athena_cost(args.rows, list(range(args.rows))),
        "athena_str_key": athena_cost(args.rows, [f"0016g00000{i:014d}" for i in range(args.rows)]),
        "appflow_int_key": appflow_cost(args.rows),
        "memory_per_1m_keys": memory_per_million(),
        "appflow_token": token_sizes(),
        "token_limit_chars": MAX_TOKEN_CHARS,
        "token_keys": TOKEN_KEYS,
    }
    print(f"rows: {args.rows}")
    print(f"Athena detection, int key:    {result['athena_int_key']['us_per_row']} us/row")
    print(f"Athena detection, string key: {result['athena_str_key']['us_per_row']} us/row")
    print(f"AppFlow detection, int key:   {result['appflow_int_key']['us_per_row']} us/row")
    mem = result["memory_per_1m_keys"]
    print(
        f"memory per 1M keys: {mem['bytes_per_key_with_ints']} bytes/key ({mem['bytes_per_key_set_only']} in the set)"
    )
    for row in result["appflow_token"]:
        print(
            f"AppFlow run of {row['records_in_run']:>9,} records: {row['keys_carried']:>5} keys, "
            f"nextToken {row['token_chars']:>6,} characters (limit {MAX_TOKEN_CHARS:,})"
        )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
