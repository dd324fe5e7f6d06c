"""Split planning as the data grows: splits per entity and the largest split's rows at 1x, 10x and 100x the demo data.

Run on its own: ``python -m benchmarks.scale_splits [--scales 1 10 100] [--target N]``.

For each scale, a demo API (in this process, on loopback) and GetSplits through ``lambda_handler`` with JSON
events, paged with continuation tokens, three times: with the bundled spec (counts declared: splits sized to
the target by count probes), with its ``count`` declarations removed (``probed``: sizes estimated from probe
pages, ``shared.density``) and the same with ``split_probes=false`` (``static``: the hints only). ``probes`` is
the number of requests the API received during planning (its own request counter). Each split's rows are the API's
exact count for that split's window and partition. The target defaults to what one split reads in half of a
900 s Lambda at 100 records a page and 0.3 s a page (``shared.split_sizing.default_target(100, None)``).
Planning time is the wall time of all GetSplits calls for the entity (the API's count index is built before
timing, as a long-running API would have it).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

ENTITIES = ("accounts", "contacts", "deals")


@dataclass
class Row:
    scale: float
    entity: str
    spec: str
    records: int
    splits: int
    largest: int
    calls: int
    seconds: float
    probes: int


def _uncounted_spec(directory: Path) -> Path:
    data = yaml.safe_load((resources.files("shared.specs") / "demo.yaml").read_text())
    for entity in data["entities"]:
        entity.pop("count", None)
    path = directory / "demo_uncounted.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _plan(entity: str) -> tuple[list[dict[str, str]], int, float]:
    """Every split's properties from GetSplits through the handler, the number of calls and their wall time."""
    from athena_connector.handler import lambda_handler
    from athena_connector.wire import (
        Constraints,
        FederatedIdentity,
        GetSplitsRequest,
        GetTableLayoutRequest,
        GetTableRequest,
        TableName,
        decode_schema,
        to_wire,
    )
    from athena_connector.wire.blocks import block_from_wire

    identity = FederatedIdentity("123456789012", "arn:aws:iam::123456789012:user/bench")
    table = TableName("demo_crm", entity)

    def invoke(message: Any) -> dict[str, Any]:
        return lambda_handler(json.loads(json.dumps(to_wire(message))), None)

    schema = decode_schema(invoke(GetTableRequest(identity, "q", "lambda:bench", table))["schema"])
    layout = invoke(GetTableLayoutRequest(identity, "q", "lambda:bench", table, Constraints(), schema, ()))
    partitions = block_from_wire(layout["partitions"], "partitions")
    out: list[dict[str, str]] = []
    token, calls = None, 0
    started = time.perf_counter()
    while True:
        calls += 1
        answer = invoke(GetSplitsRequest(identity, "q", "lambda:bench", table, partitions, (), Constraints(), token))
        out += [dict(s["properties"]) for s in answer["splits"]]
        token = answer["continuationToken"]
        if token is None:
            return out, calls, time.perf_counter() - started


def _rows(client: Any, entity_name: str, properties: dict[str, str]) -> int:
    from shared.counts import count_matching
    from shared.deadline import Deadline
    from shared.splits import partition_scope, split_predicates

    entity = client.entity(entity_name)
    predicates = [*split_predicates(entity, properties), *partition_scope(entity, properties).pushed]
    return count_matching(client, entity, predicates, Deadline.none())


def _warm(client: Any, entity: str) -> None:
    """One count of each shape the plan probes, so the API's count index exists before planning is timed."""
    from shared.splits import FIELD, HIGH, KIND, LOW

    if entity == "deals":
        _rows(client, entity, {"partition.field": "stage", "partition.value": "proposal", KIND: "id_range",
                               FIELD: "id", LOW: "1", HIGH: "2"})  # fmt: skip
    elif entity == "contacts":
        _rows(client, entity, {KIND: "time_window", FIELD: "updated_at", LOW: "2024-01-01T00:00:00Z"})


def run(scales: list[float], target: int) -> list[Row]:
    from athena_connector.runtime import reset_runtime
    from demo_api.server import DemoServer
    from shared.client import SaaSClient
    from shared.counts import count_matching
    from shared.deadline import Deadline
    from shared.spec import load_spec

    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        uncounted = str(_uncounted_spec(Path(tmp)))
        specs = {"counted": ("demo", "true"), "probed": (uncounted, "true"), "static": (uncounted, "false")}
        for scale in scales:
            with DemoServer(port=0, scale=scale) as server:
                os.environ.update(
                    SAAS_BASE_URL=server.base_url,
                    SAAS_API_KEY=server.api_key,
                    spill_bucket="bench-spill",
                    max_rows_per_split=str(target),
                    POWERTOOLS_LOG_LEVEL="WARNING",
                )
                client = SaaSClient(load_spec("demo", base_url=server.base_url), {"api_key": server.api_key})
                for entity in ENTITIES:
                    _warm(client, entity)
                    total = count_matching(client, client.entity(entity), [], Deadline.none())
                    for label, (spec, probes) in specs.items():
                        os.environ.update(SAAS_SPEC=spec, split_probes=probes)
                        reset_runtime()
                        server.app.stats.reset()
                        try:
                            splits, calls, seconds = _plan(entity)
                        except Exception as exc:  # reported in the table; the run goes on
                            print(f"{scale:>6g}x  {entity:<9} {label:<8} FAILED: {str(exc)[:300]}", flush=True)
                            continue
                        requests = server.app.stats.snapshot()["requests_total"]
                        largest = max(_rows(client, entity, p) for p in splits)
                        rows.append(Row(scale, entity, label, total, len(splits), largest, calls, seconds, requests))
                        print(_format(rows[-1], target), flush=True)
    return rows


def _format(row: Row, target: int) -> str:
    mark = "ok" if row.largest <= target else "OVER"
    return (
        f"{row.scale:>6g}x  {row.entity:<9} {row.spec:<8} records {row.records:>9,}  splits {row.splits:>5}  "
        f"largest {row.largest:>9,} ({mark})  GetSplits calls {row.calls:>3}  probes {row.probes:>5}  "
        f"planning {row.seconds:7.3f} s"
    )


def main(argv: list[str] | None = None) -> None:
    from shared.split_sizing import default_target

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 10.0, 100.0])
    parser.add_argument("--target", type=int, default=default_target(100, None))
    args = parser.parse_args(argv)
    print(f"target: {args.target:,} rows per split (100 records/page, 0.3 s/page, half of 900 s)")
    run(args.scales, args.target)


if __name__ == "__main__":
    main()
