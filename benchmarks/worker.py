"""A measured process running our code: ``python benchmarks/worker.py MODE --config JSON [--path DIR]...``.

Run as a script (not ``-m``) so that it can run either in the project's virtualenv or Lambda-like: CPython 3.12
with ``-S`` (no site-packages) and ``--path`` set to the ``sam build`` output of a function plus a directory with
boto3 (which the Lambda runtime provides). Modes:

* ``floor``: fetch every page over HTTP and decode the JSON (``pages.read_all``), nothing else;
* ``athena``: one ReadRecordsRequest of one split through ``athena_connector.handler.lambda_handler``, as a JSON
  event, timing the handler plus ``json.dumps`` of its answer (the Lambda runtime's serialization). The spill store
  is S3 (moto's server in another process: PUTs included) or ``memory`` (PUTs excluded, blocks still encrypted);
* ``appflow``: QueryData pages through ``appflow_connector.handler.lambda_handler`` until ``nextToken`` is null.

Configuration comes from ``--config`` (JSON) and the environment (``SAAS_*``, ``spill_bucket``, ``AWS_*``), set by
the orchestrator. See ``_proto`` for the line protocol and what a measurement is.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import _proto  # noqa: E402

CATALOG = "saas"
ACCOUNT = "123456789012"


class LambdaContext:
    """What the handlers read from the Lambda context: the remaining time (15 minutes here) and names."""

    function_name = "saas-connector-bench"
    function_version = "$LATEST"
    memory_limit_in_mb = 1769
    invoked_function_arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:saas-connector-bench"
    aws_request_id = "00000000-0000-0000-0000-000000000000"

    def __init__(self, seconds: float = 900.0) -> None:
        self._end = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._end - time.monotonic()) * 1000))


# ------------------------------------------------------------------------------------------------ floor


def floor_mode(cfg: dict[str, Any]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    import pages

    session = pages.new_session(cfg["api_key"])
    columns = cfg["columns"]

    def run(command: dict[str, Any]) -> dict[str, Any]:
        if command.get("validate"):
            kept: list[dict[str, Any]] = []
            wall, cpu, _ = _proto.timed(
                lambda: kept.extend(
                    itertools.chain.from_iterable(
                        pages.iter_pages(session, cfg["base_url"], cfg["entity"], cfg["page_size"])
                    )
                )
            )
            return {"wall": wall, "cpu": cpu, "rows": len(kept), "digest": _proto.digest_records(kept, columns)}
        wall, cpu, rows = _proto.timed(
            lambda: pages.read_all(session, cfg["base_url"], cfg["entity"], cfg["page_size"])
        )
        return {"wall": wall, "cpu": cpu, "rows": rows}

    return run


# ----------------------------------------------------------------------------------------------- athena


def athena_mode(cfg: dict[str, Any]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    import pyarrow as pa

    from athena_connector import spill
    from athena_connector.handler import lambda_handler
    from athena_connector.wire import (
        Constraints,
        FederatedIdentity,
        GetTableRequest,
        ReadRecordsRequest,
        S3SpillLocation,
        Split,
        TableName,
        decode_records,
        decode_schema,
        decode_spill_object,
        generate_key,
        to_wire,
    )
    from athena_connector.wire.splits import encryption_key_from_wire

    identity = FederatedIdentity(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:user/bench")
    table = TableName(cfg["schema_name"], cfg["entity"])
    columns = cfg["columns"]
    captured: dict[str, bytes] = {}
    capture = {"on": False}

    if cfg["store"] == "memory":

        def put(self: Any, location: Any, data: bytes) -> None:  # PUT excluded: keep the bytes only to check them
            if capture["on"]:
                captured[location.key] = data

        spill.S3BlockStore.put = put  # type: ignore[method-assign]

    def invoke(message: Any) -> dict[str, Any]:
        event = json.loads(json.dumps(to_wire(message)))
        return lambda_handler(event, LambdaContext())

    full = decode_schema(invoke(GetTableRequest(identity, "bench-meta", CATALOG, table))["schema"])
    schema = pa.schema([full.field(c) for c in columns])
    counter = itertools.count(1)
    s3 = None

    def s3_client() -> Any:
        nonlocal s3
        if s3 is None:
            import boto3

            s3 = boto3.client("s3")
        return s3

    def read_back(out: dict[str, Any]) -> Any:
        if out["@type"] == "ReadRecordsResponse":
            block = out["records"]
            return decode_records(block["records"], decode_schema(block["schema"]))
        key = encryption_key_from_wire(out["encryptionKey"], "encryptionKey")
        block_schema = decode_schema(out["schema"])
        batches = []
        for loc in out["remoteBlocks"]:
            if cfg["store"] == "memory":
                data = captured.pop(loc["key"])
            else:
                data = s3_client().get_object(Bucket=loc["bucket"], Key=loc["key"])["Body"].read()
            batches.append(decode_spill_object(data, block_schema, key))
        return pa.Table.from_batches(batches, schema=block_schema)

    def cleanup(out: dict[str, Any]) -> None:
        if cfg["store"] == "memory" or out["@type"] != "RemoteReadRecordsResponse":
            return
        keys = [{"Key": loc["key"]} for loc in out["remoteBlocks"]]
        for i in range(0, len(keys), 1000):
            s3_client().delete_objects(Bucket=out["remoteBlocks"][0]["bucket"], Delete={"Objects": keys[i : i + 1000]})

    def run(command: dict[str, Any]) -> dict[str, Any]:
        query_id = f"bench-{os.getpid()}-{next(counter)}"
        spill_at = S3SpillLocation(cfg["bucket"], f"athena-federation-spill/{query_id}/split-0", True)
        constraints = Constraints(limit=int(command["limit"])) if command.get("limit") else Constraints()
        request = ReadRecordsRequest(
            identity,
            query_id,
            CATALOG,
            table,
            schema,
            Split(spill_at, generate_key(), {}),
            constraints,
            cfg["max_block_size"],
            cfg["max_inline_block_size"],
        )
        event = json.loads(json.dumps(to_wire(request)))
        capture["on"] = bool(command.get("validate"))
        context = LambdaContext()
        wall, cpu, body = _proto.timed(lambda: json.dumps(lambda_handler(event, context)))
        out = json.loads(body)
        reply: dict[str, Any] = {
            "wall": wall,
            "cpu": cpu,
            "rows": cfg["rows"],
            "response_bytes": len(body),
            "response": out["@type"],
            "blocks": len(out.get("remoteBlocks") or []),
        }
        if command.get("validate"):
            result = read_back(out)
            reply["digest"] = _proto.digest_arrow(result, columns)
            reply["rows"] = result.num_rows
        cleanup(out)
        captured.clear()
        return reply

    return run


# ---------------------------------------------------------------------------------------------- appflow


def appflow_mode(cfg: dict[str, Any]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    from appflow_connector.handler import lambda_handler

    columns = cfg["columns"]
    context_base = {
        "apiVersion": "v1",
        "connectorRuntimeSettings": {},
        "credentials": {"secretArn": cfg["secret_arn"], "authenticationType": "ApiKey"},
        "flowName": "bench-flow",
        "executionId": "bench-execution",
        "connectorProfileLabel": "bench-profile",
    }

    def page(token: str | None) -> dict[str, Any]:
        event = {
            "type": "QueryDataRequest",
            "entityIdentifier": cfg["entity"],
            "connectorContext": context_base,
            "selectedFieldNames": columns,
            "filterExpression": None,
            "maxResults": cfg["max_results"],
            "nextToken": token,
        }
        event = json.loads(json.dumps(event))
        response = lambda_handler(event, LambdaContext(60.0))
        text = json.dumps(response)  # what the Lambda runtime sends back
        if not response.get("isSuccess"):
            raise RuntimeError(f"QueryData failed: {response.get('errorDetails')}")
        return {"records": response["records"], "next": response.get("nextToken"), "bytes": len(text)}

    def read_all(keep: list[str] | None) -> tuple[int, int, int]:
        token, rows, calls, size = None, 0, 0, 0
        while True:
            answer = page(token)
            calls += 1
            rows += len(answer["records"])
            size += answer["bytes"]
            if keep is not None:
                keep.extend(answer["records"])
            token = answer["next"]
            if token is None:
                return rows, calls, size

    def run(command: dict[str, Any]) -> dict[str, Any]:
        keep: list[str] | None = [] if command.get("validate") else None
        wall, cpu, (rows, calls, size) = _proto.timed(lambda: read_all(keep))
        reply: dict[str, Any] = {"wall": wall, "cpu": cpu, "rows": rows, "calls": calls, "response_bytes": size}
        if keep is not None:
            reply["digest"] = _proto.digest_records([json.loads(r) for r in keep], columns)
        return reply

    return run


MODES = {"floor": floor_mode, "athena": athena_mode, "appflow": appflow_mode}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=sorted(MODES))
    parser.add_argument("--config", required=True, help="JSON object")
    parser.add_argument("--path", action="append", default=[], help="prepend to sys.path (a Lambda package)")
    parser.add_argument("--block", action="append", default=[], help="a module the Lambda package does not carry")
    args = parser.parse_args(argv)
    sys.path[1:1] = args.path
    _proto.block_modules(args.block)
    out = _proto.protocol_stream()
    started = time.perf_counter()
    handle = MODES[args.mode](json.loads(args.config))
    ready = {
        "setup_s": time.perf_counter() - started,
        "python": sys.version.split()[0],
        "pyarrow": getattr(sys.modules.get("pyarrow"), "__version__", None),
    }
    _proto.serve(ready, handle, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
