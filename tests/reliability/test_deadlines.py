"""Near the Lambda timeout: Athena ends a read with a clean typed error before the runtime would kill it; AppFlow
answers with the records it has and a nextToken that continues exactly after them."""

from __future__ import annotations

import re
import time

import pyarrow as pa
import pytest

from demo_api.server import DemoServer
from tests.athena.connector.harness import FakeContext
from tests.reliability import drivers

PAGE_DELAY_S = 0.5  # every page is slow, but within the read timeout


def _slow_pages(server: DemoServer, entity: str, delay: float = PAGE_DELAY_S) -> None:
    server.set_faults([{"kind": "slow", "entity": entity, "delay_s": delay, "count": None}])


@pytest.mark.parametrize("remaining_s", [1.2, 2.0])
def test_athena_read_ends_with_a_timeout_error_before_the_lambda_does(
    remaining_s: float, athena: drivers.Athena, server: DemoServer
) -> None:
    splits, _ = athena.c.splits("accounts")  # before the faults: planning is not what runs out of time
    schema = athena.c.table_schema("accounts")
    _slow_pages(server, "accounts", 1.0)  # pages are fetched several at once: each must be slower to run out of time
    context = FakeContext(remaining_ms=remaining_s * 1000)
    started = time.monotonic()
    with pytest.raises(Exception) as info:
        athena.c.read_split("accounts", splits[0], schema, context=context)
    elapsed = time.monotonic() - started
    assert type(info.value).__name__ == "OperationTimeoutException", f"{type(info.value).__name__}: {info.value}"
    message = str(info.value)
    assert "entity 'accounts'" in message and "page" in message, message
    assert elapsed < remaining_s, f"the handler returned after {elapsed:.2f}s of {remaining_s}s"


def test_athena_read_that_fits_is_complete(athena: drivers.Athena, server: DemoServer) -> None:
    splits, _ = athena.c.splits("contacts")
    schema = pa.schema([athena.c.table_schema("contacts").field("id")])
    _slow_pages(server, "contacts", 0.05)
    rows = []
    for split in splits:
        table, _ = athena.c.read_split("contacts", split, schema, context=FakeContext(remaining_ms=20_000))
        rows += table.column("id").to_pylist()
    assert sorted(rows) == [r["id"] for r in server.store.all_records("contacts")]


@pytest.mark.parametrize("entity", ["accounts", "contacts", "deals"])
def test_appflow_returns_what_it_has_with_a_token_near_the_timeout(
    entity: str, server: DemoServer, env: pytest.MonkeyPatch, fast_spec_path: object
) -> None:
    run = drivers.AppFlowRun(drivers.load(fast_spec_path), settings={"page_size": "8"})  # type: ignore[arg-type]
    source = server.store.all_records(entity)
    _slow_pages(server, entity)
    started = time.monotonic()
    first = run.call(run.event(entity, max_results=1000), budget_s=3.5)
    elapsed = time.monotonic() - started
    assert first["isSuccess"], first["errorDetails"]
    assert elapsed < 3.5, f"the call took {elapsed:.2f}s of a 3.5s Lambda"
    assert 0 < len(first["records"]) < len(source), "a partial answer"
    assert first["nextToken"], "with a token to continue"
    server.clear_faults()
    outcome = run.read(entity, max_results=1000)  # a fresh run to compare with
    rest = []
    token = first["nextToken"]
    while token:
        response = run.call(run.event(entity, max_results=1000, token=token))
        assert response["isSuccess"], response["errorDetails"]
        rest += response["records"]
        token = response["nextToken"]
    import json

    ids = [json.loads(r)["id"] for r in first["records"] + rest]
    assert ids == [r["id"] for r in source] == outcome.ids(), "continued exactly: nothing lost or repeated"


def test_athena_split_out_of_time_says_how_far_it_got_and_deletes_its_spilled_blocks(
    athena: drivers.Athena, server: DemoServer, caplog: pytest.LogCaptureFixture
) -> None:
    """3 s left and a margin of 0.6 s (a fifth): the first page is read and spilled, every later page hangs. The
    read uses the time up to the margin (not 0.5 s less), then fails with what it read, the time it took and what to
    do; the blocks it spilled are gone from the bucket."""
    import boto3

    from tests.athena.connector.harness import SPILL_BUCKET

    splits, _ = athena.c.splits("accounts")
    split = splits[0]
    schema = athena.c.table_schema("accounts")
    server.set_faults([{"kind": "slow", "entity": "accounts", "delay_s": 5.0, "count": None, "after": 1}])
    context = FakeContext(remaining_ms=3000)
    started = time.monotonic()
    with caplog.at_level("INFO", logger="athena_connector"), pytest.raises(Exception) as info:
        athena.c.read_split("accounts", split, schema, max_block=4000, max_inline=100, context=context)
    elapsed = time.monotonic() - started
    assert type(info.value).__name__ == "OperationTimeoutException", f"{type(info.value).__name__}: {info.value}"
    message = str(info.value)
    assert "cannot finish before the Lambda timeout" in message, message
    assert f"read 1 page(s), {drivers.PAGE_SIZE} row(s) from the API" in message, message
    assert re.search(r"in \d+\.\ds", message), message
    for advice in ("more splits", "counts records", "longer timeout"):
        assert advice in message, message
    assert "without returning a partial result" in message
    assert 2.3 <= elapsed < 3.0, f"stopped after {elapsed:.2f}s; the deadline was 2.4s, the Lambda's end 3s"
    left = boto3.client("s3").list_objects_v2(Bucket=SPILL_BUCKET, Prefix=split.spill_location.key)
    assert left.get("KeyCount", 0) == 0, [o["Key"] for o in left.get("Contents", [])]
    deleted = [r.getMessage() for r in caplog.records if "failed read had spilled" in r.getMessage()]
    assert deleted and not deleted[0].startswith("deleted the 0"), deleted  # there were blocks to delete
