"""Records an API returns twice in one read (issue 17, item 9), through both Lambda entry points.

The demo API's ``repeat_record`` fault serves one page with an extra record in its middle: a copy of the page's own
first record (``back: 0``) or of the record that began a page served ``back`` pages earlier for the same query,
more than 64 records back (5 pages of 16): beyond the client's 64-record overlap guard (and AppFlow's own), which
only look at the start of a page anyway. AppFlow reads the same 16-record pages (the ``page_size`` setting) with
maxResults 7, so most calls stop in the middle of a page and the next call resumes there. Each source table holds
400 records; every answer is compared with the source's full contents.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import appflow_connector.records as appflow_records
import shared.duplicates as duplicates_module
from demo_api.server import DemoServer
from tests.reliability import drivers

ROWS = {"accounts": 45, "contacts": 400, "deals": 400}
ENTITIES = ("contacts", "deals")  # a keyset cursor, Link-header page numbers


@pytest.fixture(scope="module")
def server() -> Iterator[DemoServer]:
    with DemoServer(
        port=0, rows=ROWS, api_key=drivers.API_KEY, client_id=drivers.CLIENT_ID, client_secret=drivers.CLIENT_SECRET
    ) as srv:
        yield srv


def _use_spec(env: pytest.MonkeyPatch, tmp_path: Path, *, duplicates: str | None, concurrency: int) -> Path:
    """The fast spec with ``pagination.duplicates`` (None: unset, the default) and ``concurrency`` everywhere."""
    from athena_connector.runtime import reset_runtime

    data = drivers.fast_spec_data()
    blocks = [data["api"]["pagination"], *(e["pagination"] for e in data["entities"] if "pagination" in e)]
    for block in blocks:
        block["concurrency"] = concurrency
        if duplicates is not None:
            block["duplicates"] = duplicates
    path = drivers.write_spec(tmp_path / f"dup-{duplicates}-{concurrency}.yaml", data)
    env.setenv("SAAS_SPEC", str(path))
    reset_runtime()
    return path


def _repeat(server: DemoServer, entity: str, back: int, after: int) -> None:
    """From the list request after ``after`` on, every page served has a repeat: the same one whenever a page is
    asked for again (as a reader resuming inside it, or one fetching ahead, would see a buggy API do)."""
    server.set_faults([{"kind": "repeat_record", "entity": entity, "back": back, "after": after, "count": None}])


def _repeated_ids(server: DemoServer) -> set[Any]:
    ids = {e["repeated_id"] for e in server.app.faults.log if e["kind"] == "repeat_record"} - {None}
    assert ids, "the fault found no earlier page to repeat a record from"
    return ids


def _doubles(rows: list[dict[str, Any]]) -> set[Any]:
    return {i for i, n in collections.Counter(r["id"] for r in rows).items() if n > 1}


def _athena(env: pytest.MonkeyPatch, server: DemoServer, spec_path: Path) -> drivers.Athena:
    from tests.athena.connector.harness import Connector

    return drivers.Athena(Connector(server, env), drivers.load(spec_path))


# Where the repeat goes: a page's own first record again in its middle, or a record from 80 or more records back.
# ``after`` (list requests let through first) is late enough for that many pages of the same query.
BACK, AFTER, APPFLOW_AFTER = 5, 7, 7
PLACES = ["mid-page", "far-back"]


def _appflow(spec_path: Path) -> drivers.AppFlowRun:
    return drivers.AppFlowRun(drivers.load(spec_path), {"page_size": "16"})


@pytest.mark.parametrize("concurrency", [1, 4])
@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("entity", ENTITIES)
def test_athena_drops_a_repeated_record(
    entity: str, place: str, concurrency: int, env: pytest.MonkeyPatch, aws: str, server: DemoServer, tmp_path: Path
) -> None:
    spec_path = _use_spec(env, tmp_path, duplicates=None, concurrency=concurrency)
    athena = _athena(env, server, spec_path)
    source = server.store.all_records(entity)
    assert len(source) == 400
    _repeat(server, entity, BACK if place == "far-back" else 0, after=AFTER)
    outcome = athena.read(entity)
    _repeated_ids(server)
    assert outcome.ok, outcome.message
    assert outcome.rows == athena.expected(entity, source)  # 400 rows for 400, each once, as in the source


@pytest.mark.parametrize("concurrency", [1, 4])
@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("entity", ENTITIES)
def test_appflow_drops_a_repeated_record_across_calls(
    entity: str, place: str, concurrency: int, env: pytest.MonkeyPatch, server: DemoServer, tmp_path: Path
) -> None:
    """maxResults 7 against 16-record pages: about 60 QueryData calls, most resuming in the middle of a page, so
    the record repeated 5 pages back was delivered many calls (Lambda invocations) before its repeat, and the call
    that meets the repeat stops in the middle of a page that comes back without it."""
    spec_path = _use_spec(env, tmp_path, duplicates=None, concurrency=concurrency)
    appflow = _appflow(spec_path)
    source = server.store.all_records(entity)
    _repeat(server, entity, BACK if place == "far-back" else 0, after=APPFLOW_AFTER)
    outcome = appflow.read(entity, max_results=7)
    _repeated_ids(server)
    assert outcome.ok, outcome.message
    assert outcome.calls > 50
    assert outcome.rows == appflow.expected(entity, source)


@pytest.mark.parametrize("entity", ENTITIES)
def test_fail_mode_stops_with_a_typed_error_naming_entity_page_and_key(
    entity: str, env: pytest.MonkeyPatch, aws: str, server: DemoServer, tmp_path: Path
) -> None:
    spec_path = _use_spec(env, tmp_path, duplicates="fail", concurrency=4)
    _repeat(server, entity, BACK, after=AFTER)
    outcome = _athena(env, server, spec_path).read(entity)
    repeated = _repeated_ids(server)
    assert outcome.error_type == "InvalidResponseException", outcome
    assert (
        f"entity '{entity}'" in outcome.message and "page " in outcome.message and "duplicates: fail" in outcome.message
    )
    assert any(f"record id={i} again" in outcome.message for i in repeated), outcome.message

    server.reset()
    _repeat(server, entity, BACK, after=APPFLOW_AFTER)
    outcome = _appflow(spec_path).read(entity, max_results=7)
    repeated = _repeated_ids(server)
    assert outcome.error_type == "ServerError", outcome
    assert f"entity '{entity}'" in outcome.message
    assert any(f"record id={i} again" in outcome.message for i in repeated), outcome.message


@pytest.mark.parametrize("entity", ENTITIES)
def test_off_mode_delivers_what_the_api_sent(
    entity: str, env: pytest.MonkeyPatch, aws: str, server: DemoServer, tmp_path: Path
) -> None:
    """``duplicates: off`` leaves the overlap guards alone, which do not see a record from that far back: more
    rows than records, the extra ones exactly the repeated records, none missing."""
    spec_path = _use_spec(env, tmp_path, duplicates="off", concurrency=1)
    source = server.store.all_records(entity)
    _repeat(server, entity, BACK, after=AFTER)
    outcome = _athena(env, server, spec_path).read(entity)
    repeated = _repeated_ids(server)
    assert outcome.ok and outcome.rows is not None
    assert {r["id"] for r in outcome.rows} == {r["id"] for r in source}
    assert len(outcome.rows) > 400 and _doubles(outcome.rows) and _doubles(outcome.rows) <= repeated

    server.reset()
    _repeat(server, entity, BACK, after=APPFLOW_AFTER)
    outcome = _appflow(spec_path).read(entity, max_results=7)
    repeated = _repeated_ids(server)
    assert outcome.ok and outcome.rows is not None
    assert {r["id"] for r in outcome.rows} == {r["id"] for r in source}
    assert len(outcome.rows) > 400 and _doubles(outcome.rows) and _doubles(outcome.rows) <= repeated


def test_appflow_run_longer_than_the_token_window_says_so_and_loses_nothing(
    env: pytest.MonkeyPatch, server: DemoServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """With the token carrying only the run's last 20 keys, a repeat from 80 records back in a later call is not
    found (documented): such records come twice, nothing is lost, and the run's log says when detection narrowed."""
    for module in (duplicates_module, appflow_records):
        env.setattr(module, "TOKEN_KEYS", 20)
    spec_path = _use_spec(env, tmp_path, duplicates=None, concurrency=1)
    appflow = _appflow(spec_path)
    source = server.store.all_records("contacts")
    _repeat(server, "contacts", BACK, after=APPFLOW_AFTER)
    with caplog.at_level(logging.WARNING):
        outcome = appflow.read("contacts", max_results=7)
    repeated = _repeated_ids(server)
    assert outcome.ok and outcome.rows is not None
    assert {r["id"] for r in outcome.rows} == {r["id"] for r in source}
    assert _doubles(outcome.rows) and _doubles(outcome.rows) <= repeated
    narrowed = [r for r in caplog.records if "more than 20 distinct records" in r.getMessage()]
    assert len(narrowed) == 1, [r.getMessage() for r in caplog.records]
