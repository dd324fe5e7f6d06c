"""The catch-all partition pushes ``not_in`` where the spec declares an API filter for it that keeps nulls.

Through ``lambda_handler`` with JSON events against the demo API, whose deals take ``stage_not_in`` (a comma
list; deals without a stage are kept). The demo spec's stages are exhaustive; these tests read deals through
copies that are not (``spec_copy``), so there is a catch-all. The API's own work is measured by the read's
``rows_read`` (records the API sent): with the push it is the catch-all's rows, without it every deal.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from demo_api.server import DemoServer
from shared.errors import SpecError
from shared.spec import load_spec
from tests.athena.connector.harness import Connector
from tests.athena.connector.test_connector_partitions import assert_exact, partition_of, read_logs, spec_copy

DECLARED = ["prospecting", "proposal"]
SCHEMA = pa.schema([("id", pa.int64()), ("stage", pa.string())])


def shorter(values: list[str], nulls: str | None = "included") -> Any:
    def change(deals: dict[str, Any]) -> None:
        deals["partitions"]["values"] = values
        if nulls is None:
            deals["filters"]["stage"].pop("not_in")
        else:
            deals["filters"]["stage"]["not_in"]["nulls"] = nulls

    return change


def read_catch_all(connector: Connector) -> tuple[list[tuple[int, Any]], int]:
    """The catch-all split's rows (id, stage) and how many records the API sent for it."""
    splits, _ = connector.splits("deals")
    (split,) = [s for s in splits if partition_of(dict(s.properties)) is None]
    with read_logs() as lines:
        table, _ = connector.read_split("deals", split, SCHEMA)
    (line,) = [line for line in lines if line.get("message") == "split read"]
    return sorted((r["id"], r["stage"]) for r in table.to_pylist()), line["rows_read"]


@pytest.mark.parametrize(("nulls", "pushed"), [("included", True), ("excluded", False), (None, False)])
def test_the_catch_all_sends_not_in_only_when_the_api_keeps_nulls(
    connector: Connector, tmp_path: Path, nulls: str | None, pushed: bool
) -> None:
    connector.setenv("SAAS_SPEC", str(spec_copy(tmp_path, shorter(DECLARED, nulls))))
    rows, rows_read = read_catch_all(connector)
    dump = connector.dump("deals")
    others = sorted((r["id"], r["stage"]) for r in dump if r["stage"] not in DECLARED)
    assert rows == others and others
    assert rows_read == (len(others) if pushed else len(dump))  # the API filtered, or the read kept locally
    assert_exact(connector, connector.query("deals", ["id", "stage"]).table)


def test_a_declared_value_the_api_could_misread_keeps_not_in_local(connector: Connector, tmp_path: Path) -> None:
    connector.setenv("SAAS_SPEC", str(spec_copy(tmp_path, shorter(["proposal", "won,lost"]))))
    rows, rows_read = read_catch_all(connector)
    dump = connector.dump("deals")
    assert rows == sorted((r["id"], r["stage"]) for r in dump if r["stage"] != "proposal")
    assert rows_read == len(dump)  # 'won,lost' would read as two stages: nothing of not_in was sent


@pytest.fixture(scope="module")
def odd_server() -> Iterator[DemoServer]:
    """Deals with undeclared stages, a stage differing only in case, and deals without a stage."""
    with DemoServer(port=0, scale=0.05, rows={"contacts": 120}) as srv:
        srv.mutate("deals", ids=[2, 3], changes={"stage": "on_hold"})
        srv.mutate("deals", ids=[7], changes={"stage": "Proposal"})
        srv.mutate("deals", ids=[11, 13], changes={"stage": None})
        yield srv


def test_pushed_not_in_keeps_undeclared_and_null_stages(
    connector: Connector, odd_server: DemoServer, tmp_path: Path
) -> None:
    connector.setenv("SAAS_BASE_URL", odd_server.base_url)
    connector.setenv("SAAS_API_KEY", odd_server.api_key)
    connector.setenv("SAAS_SPEC", str(spec_copy(tmp_path, shorter(DECLARED))))
    odd = Connector(odd_server, connector.monkeypatch)
    rows, rows_read = read_catch_all(odd)
    want = sorted((r["id"], r["stage"]) for r in odd.dump("deals") if r["stage"] not in DECLARED)
    assert rows == want
    assert (11, None) in rows and (13, None) in rows and (7, "Proposal") in rows and (2, "on_hold") in rows
    assert rows_read == len(want)
    assert_exact(odd, odd.query("deals", ["id", "stage"]).table)


def test_sized_catch_all_windows_are_counted_with_not_in(connector: Connector, tmp_path: Path) -> None:
    """Count probes ask for what the catch-all reads: with not_in its windows are sized by its own rows."""

    def windows(deals: dict[str, Any]) -> None:
        shorter(DECLARED)(deals)
        deals["splits"] = {"by": "id_range", "field": "id", "start": 1, "end": 500, "count": 1}

    connector.setenv("SAAS_SPEC", str(spec_copy(tmp_path, windows)))
    dump = connector.dump("deals")
    others = sum(1 for r in dump if r["stage"] not in DECLARED)
    connector.setenv("max_rows_per_split", str(others))  # the catch-all's rows fit one split: one probe says so
    splits, _ = connector.splits("deals")
    assert [partition_of(dict(s.properties)) for s in splits].count(None) == 1
    assert_exact(connector, connector.query("deals", ["id", "stage"]).table)


@pytest.mark.parametrize(
    ("stage_filters", "fragment"),
    [
        ({"not_in": {"param": "stage_not_in", "join": ","}}, "needs 'nulls: included' or 'nulls: excluded'"),
        ({"not_in": {"param": "stage_not_in", "nulls": "sometimes"}}, "must be one of included, excluded"),
        ({"eq": {"param": "stage", "nulls": "included"}}, "'nulls' belongs to a not_in filter"),
    ],
)
def test_the_loader_requires_nulls_on_not_in_and_nowhere_else(
    tmp_path: Path, stage_filters: dict[str, Any], fragment: str
) -> None:
    def change(deals: dict[str, Any]) -> None:
        deals["filters"]["stage"] = {"eq": {"param": "stage"}, **stage_filters}

    with pytest.raises(SpecError, match=fragment) as info:
        load_spec(str(spec_copy(tmp_path, change)))
    assert "filters.stage" in str(info.value)
