"""The peer, measured: the unofficial Python SDK ``athena-federation`` 0.1.6 answering one ReadRecordsRequest for the
same entity, fed the records of the same HTTP pages our connector reads.

Runs inside the peer's own virtualenv (``benchmarks/.venv-peer``, CPython 3.12 with the SDK's pinned pyarrow
17.0.0): ``benchmarks/.venv-peer/bin/python benchmarks/peer_worker.py MODE --config JSON``. Stdlib, ``requests``,
pyarrow and the SDK only: nothing of ours is imported. Modes:

* ``floor``: the same floor as ours (``pages.read_all``), in this interpreter;
* ``peer``: the method of the reference baseline (peers-and-rest-client.md, part 1.8) with HTTP in front of it.
  The data source's ``records()`` is a generator of one column-major dict per HTTP page (the SDK's streaming
  form; it wants ``{column: [values]}``, so the rows are transposed), converting what pyarrow 17 cannot cast
  from the JSON text itself: ISO-8601 timestamps ending in ``Z`` become epoch milliseconds (Athena's
  ``timestamp`` is Arrow ``date64``); decimal and date strings, numbers and booleans go in as decoded. Pages come
  one request at a time (``pagination``: ``cursor``, the default, or ``offset``; the SDK has no concurrency). The SDK
  runs as shipped (its 5 MB threshold decides inline or spill); ``smart_open.open`` is replaced by an in-memory
  sink, so **the S3 PUT is excluded**, as in the reference. The timed unit is ``process_event(event)`` plus
  ``json.dumps`` of the returned dict.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import _proto  # noqa: E402
import pages  # noqa: E402

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MS = dt.timedelta(milliseconds=1)


def _to_millis(values: list[Any]) -> list[int | None]:
    fromiso = dt.datetime.fromisoformat
    return [None if v is None else (fromiso(v) - EPOCH) // MS for v in values]


def floor_mode(cfg: dict[str, Any]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    session = pages.new_session(cfg["api_key"])

    def run(command: dict[str, Any]) -> dict[str, Any]:
        wall, cpu, rows = _proto.timed(
            lambda: pages.read_all(session, cfg["base_url"], cfg["entity"], cfg["page_size"])
        )
        return {"wall": wall, "cpu": cpu, "rows": rows}

    return run


def peer_mode(cfg: dict[str, Any]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    import pyarrow as pa
    from athena_federation import AthenaDataSource, AthenaLambdaHandler, AthenaSDKUtils, batch_writer

    columns: list[str] = cfg["columns"]
    types = {c: _proto.arrow_type(t) for c, t in cfg["types"].items()}
    schema = pa.schema([pa.field(c, types[c]) for c in columns])
    millis_columns = {c for c in columns if types[c] == pa.date64()}
    iter_pages = pages.iter_offset_pages if cfg.get("pagination") == "offset" else pages.iter_pages
    session = pages.new_session(cfg["api_key"])

    class Sink(io.BytesIO):
        """Stands in for smart_open's S3 writer: keeps the bytes (to check them), counts them."""

        last: bytes = b""

        def close(self) -> None:
            Sink.last = self.getvalue()
            super().close()

    def fake_open(uri: str, mode: str = "rb", **_: Any) -> Sink:
        assert uri.startswith("s3://") and "w" in mode, (uri, mode)
        return Sink()

    batch_writer.open = fake_open  # the SDK imported smart_open.open into batch_writer

    class RestSource(AthenaDataSource):  # type: ignore[misc]
        def databases(self) -> list[str]:
            return [cfg["schema_name"]]

        def tables(self, database_name: str) -> list[str]:
            return [cfg["entity"]]

        def schema(self, database_name: str, table_name: str) -> Any:
            return schema

        def records(self, database_name: str, table_name: str, split: Any) -> Iterator[dict[str, list[Any]]]:
            for records in iter_pages(session, cfg["base_url"], cfg["entity"], cfg["page_size"]):
                data = {c: [r.get(c) for r in records] for c in columns}
                for c in millis_columns:
                    data[c] = _to_millis(data[c])
                yield data

    handler = AthenaLambdaHandler(data_source=RestSource(), spill_bucket=cfg["bucket"])

    def event() -> dict[str, Any]:
        # Serde v1, what Athena sends a connector whose PingResponse has no serDeVersion (the SDK's).
        return {
            "@type": "ReadRecordsRequest",
            "identity": {"id": "UNKNOWN", "principal": "UNKNOWN", "account": "123456789012"},
            "queryId": "bench-query",
            "catalogName": "saas",
            "tableName": {"schemaName": cfg["schema_name"], "tableName": cfg["entity"]},
            "schema": {"schema": AthenaSDKUtils.encode_pyarrow_object(schema)},
            "split": {
                "spillLocation": {
                    "@type": "S3SpillLocation",
                    "bucket": cfg["bucket"],
                    "key": "athena-spill/bench-query/split-0",
                    "directory": True,
                },
                "properties": {},
            },
            "constraints": {"summary": {}},
            "maxBlockSize": cfg["max_block_size"],
            "maxInlineBlockSize": cfg["max_inline_block_size"],
        }

    def run(command: dict[str, Any]) -> dict[str, Any]:
        request = json.loads(json.dumps(event()))
        Sink.last = b""
        wall, cpu, body = _proto.timed(lambda: json.dumps(handler.process_event(request)))
        out = json.loads(body)
        reply: dict[str, Any] = {
            "wall": wall,
            "cpu": cpu,
            "rows": cfg["rows"],
            "response_bytes": len(body),
            "response": out["@type"],
            "spilled_bytes": len(Sink.last),
        }
        if command.get("validate"):
            if out["@type"] == "ReadRecordsResponse":
                records = out["records"]
                batch = AthenaSDKUtils.decode_pyarrow_records(records["schema"], records["records"])
            else:
                batch = pa.ipc.read_record_batch(pa.py_buffer(Sink.last), schema)
            reply["digest"] = _proto.digest_arrow(batch, columns)
            reply["rows"] = batch.num_rows
        Sink.last = b""
        return reply

    return run


MODES = {"floor": floor_mode, "peer": peer_mode}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=sorted(MODES))
    parser.add_argument("--config", required=True, help="JSON object")
    args = parser.parse_args(argv)
    out = _proto.protocol_stream()
    started = time.perf_counter()
    handle = MODES[args.mode](json.loads(args.config))
    ready: dict[str, Any] = {"setup_s": time.perf_counter() - started, "python": sys.version.split()[0]}
    if args.mode == "peer":
        from importlib.metadata import version

        import pyarrow

        ready.update(pyarrow=pyarrow.__version__, sdk=version("athena-federation"))
    _proto.serve(ready, handle, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
