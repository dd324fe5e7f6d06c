"""Whole flows against the demo API over HTTP, driven the way AppFlow drives a connector:
describe, validate, list, describe entity, then query pages until ``nextToken`` is null.
The ids read are compared with the source (the demo API's admin dump): complete, no duplicates.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from demo_api.server import DemoServer
from tests.appflow.conftest import dump, mutate, server_now
from tests.appflow.simulator import AppFlow

ENTITIES = ["accounts", "contacts", "deals", "activities"]
INCREMENTAL = ["accounts", "contacts", "deals"]  # offset, cursor, page-number Link paging


def _assert_same_ids(read: list[Any], source: list[Any], what: str) -> None:
    dupes = [i for i, n in Counter(read).items() if n > 1]
    assert not dupes, f"{what}: duplicates {dupes[:10]}"
    missing = sorted(set(source) - set(read))
    extra = sorted(set(read) - set(source))
    assert not missing and not extra, f"{what}: missing {missing[:10]} extra {extra[:10]}"


def _setup_flow(sim: AppFlow) -> list[str]:
    config = sim.describe_connector()
    assert config["isSuccess"]
    assert sim.validate_settings("CONNECTOR_PROFILE", sim.profile_settings)["isSuccess"]
    assert sim.validate_settings("SOURCE", sim.flow_settings)["isSuccess"]
    assert sim.validate_credentials()["isSuccess"]
    entities = sim.all_entities()
    assert sorted(entities) == sorted(ENTITIES)
    for name in entities:
        sim.describe_entity(name)
    return entities


def test_connector_configuration(demo_server: DemoServer, appflow_for: Callable[..., AppFlow]) -> None:
    sim = appflow_for(demo_server)
    config = sim.describe_connector()
    assert config["connectorModes"] == ["SOURCE", "DESTINATION"]  # contacts is writable
    auth = config["authenticationConfig"]
    assert auth["isApiKeyAuthSupported"] and auth["isCustomAuthSupported"]
    assert not auth["isBasicAuthSupported"] and not auth["isOAuth2Supported"]
    assert auth["customAuthConfig"][0]["authParameters"][0]["key"] == "api_key"
    assert auth["customAuthConfig"][0]["authParameters"][0]["sensitiveField"] is True
    assert config["supportedApiVersions"] == ["v1"]
    assert {s["key"]: s["scope"] for s in config["connectorRuntimeSetting"]} == {
        "instance_url": "CONNECTOR_PROFILE",
        "page_size": "SOURCE",
        "write_concurrency": "DESTINATION",  # contacts is writable
    }
    assert config["supportedWriteOperations"] == ["INSERT", "UPDATE", "UPSERT", "DELETE"]
    assert config["logoURL"] is None  # APPFLOW_CONNECTOR_LOGO_URL is not set
    assert config["supportedTriggerTypes"] == ["SCHEDULED", "ONDEMAND"]
    assert "HOURLY" in config["triggerFrequenciesSupported"]
    assert {"EQUAL_TO", "BETWEEN", "CONTAINS", "PROJECTION"} <= set(config["operatorsSupported"])


def test_entity_tree_and_definitions(demo_server: DemoServer, appflow_for: Callable[..., AppFlow]) -> None:
    sim = appflow_for(demo_server)
    top = sim.list_entities()["entities"]
    assert [(e["entityIdentifier"], e["hasNestedEntities"], e["isWritable"]) for e in top] == [
        ("accounts", False, False),
        ("contacts", True, True),
        ("deals", False, False),
    ]
    nested = sim.list_entities("contacts")["entities"]
    assert [(e["entityIdentifier"], e["hasNestedEntities"]) for e in nested] == [
        ("contacts", False),
        ("activities", False),
    ]
    contacts = {f["fieldName"]: f for f in sim.describe_entity("contacts")["fields"]}
    assert contacts["id"]["isPrimaryKey"] and not contacts["id"]["readProperties"]["isNullable"]
    assert contacts["id"]["writeProperties"]["supportedWriteOperations"] == ["UPDATE", "UPSERT", "DELETE"]
    assert contacts["updated_at"]["dataType"] == "DateTime"
    assert contacts["updated_at"]["readProperties"]["isTimestampFieldForIncrementalQueries"] is True
    assert contacts["created_at"]["readProperties"]["isTimestampFieldForIncrementalQueries"] is False
    assert contacts["status"]["filterOperators"] == ["EQUAL_TO"]
    assert contacts["created_at"]["filterOperators"] == ["GREATER_THAN", "GREATER_THAN_OR_EQUAL_TO", "BETWEEN"]
    assert contacts["email"]["readProperties"]["isQueryable"] is False
    assert contacts["email"]["writeProperties"]["isCreatable"] is True
    assert contacts["created_at"]["writeProperties"]["isCreatable"] is False
    assert contacts["lifetime_value"]["dataType"] == "BigDecimal"
    assert contacts["lifetime_value"]["dataTypeLabel"] == "decimal(12,2)"
    assert contacts["tags"]["dataType"] == "List" and contacts["address"]["dataType"] == "Struct"
    accounts = {f["fieldName"]: f for f in sim.describe_entity("accounts")["fields"]}
    assert accounts["metadata"]["dataType"] == "String" and accounts["metadata"]["dataTypeLabel"] == "json"
    assert accounts["employees"]["dataType"] == "Integer" and accounts["id"]["dataType"] == "Long"
    assert accounts["id"]["writeProperties"] is None
    activities = {f["fieldName"]: f for f in sim.describe_entity("activities")["fields"]}
    assert activities["contact_id"]["filterOperators"] == ["EQUAL_TO"]


@pytest.mark.parametrize("max_results", [None, 5000])
def test_full_flow_every_entity(
    max_results: int | None, demo_server: DemoServer, appflow_for: Callable[..., AppFlow]
) -> None:
    sim = appflow_for(demo_server)
    for entity in _setup_flow(sim):
        run = sim.query_all(entity, max_results=max_results)
        _assert_same_ids(run.ids(), [r["id"] for r in dump(demo_server, entity)], f"{entity} max={max_results}")
        if max_results is None:
            assert all(n <= 1000 for n in run.pages)


def test_full_flow_one_record_per_call(small_server: DemoServer, appflow_for: Callable[..., AppFlow]) -> None:
    sim = appflow_for(small_server)
    for entity in _setup_flow(sim):
        run = sim.query_all(entity, max_results=1)
        source = [r["id"] for r in dump(small_server, entity)]
        _assert_same_ids(run.ids(), source, entity)
        assert run.pages == [1] * len(source) or run.pages == [1] * len(source) + [0]


def test_mid_page_tokens(small_server: DemoServer, appflow_for: Callable[..., AppFlow]) -> None:
    """Pages of 3 from the API, 7 records per call: most tokens resume in the middle of a page."""
    sim = appflow_for(small_server, flow_settings={"page_size": "3"})
    for entity in _setup_flow(sim):
        run = sim.query_all(entity, max_results=7)
        _assert_same_ids(run.ids(), [r["id"] for r in dump(small_server, entity)], entity)


def test_records_are_typed_json(demo_server: DemoServer, appflow_for: Callable[..., AppFlow]) -> None:
    sim = appflow_for(demo_server)
    sim.describe_entity("contacts")
    response = sim.query_page("contacts", max_results=50, fields=["id", "updated_at", "lifetime_value", "opt_in"])
    raw = response["records"][0]
    record = json.loads(raw)
    assert list(record) == ["id", "updated_at", "lifetime_value", "opt_in"]
    assert isinstance(record["id"], int) and isinstance(record["opt_in"], bool)
    assert record["updated_at"].endswith("Z")
    assert dt.datetime.fromisoformat(record["updated_at"]).tzinfo is not None
    with_money = next(json.loads(r) for r in response["records"] if json.loads(r)["lifetime_value"] is not None)
    assert isinstance(with_money["lifetime_value"], int | float)
    source = {r["id"]: r for r in dump(demo_server, "contacts")}
    text = next(r for r in response["records"] if json.loads(r)["id"] == with_money["id"])
    assert f'"lifetime_value":{source[with_money["id"]]["lifetime_value"]}' in text  # exact digits


# -- incremental pulls ------------------------------------------------------------------------------
def _stamps(server: DemoServer, entity: str) -> dict[int, str]:
    return {r["id"]: r["updated_at"] for r in dump(server, entity)}


def _ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


WINDOW_STYLES = {
    "between": "updated_at between {lo} and {hi}",
    "ge_le": "updated_at >= {lo} and updated_at <= {hi}",
    "gt_lt": "(updated_at > {lo}) and updated_at < {hi}",
    "ms_between": "updated_at between {lo_ms} and {hi_ms}",
}


WINDOW_TESTS = {
    "between": lambda lo, t, hi: lo <= t <= hi,
    "ge_le": lambda lo, t, hi: lo <= t <= hi,
    "gt_lt": lambda lo, t, hi: lo < t < hi,
    "ms_between": lambda lo, t, hi: lo <= t <= hi,
}


@pytest.mark.parametrize("entity", INCREMENTAL)
@pytest.mark.parametrize("style", list(WINDOW_STYLES))
def test_adjacent_windows_keep_their_sql_meaning_and_lose_no_record(
    entity: str, style: str, small_server: DemoServer, appflow_for: Callable[..., AppFlow]
) -> None:
    """Each window holds exactly the records its condition selects (BETWEEN inclusive at both ends); adjacent
    inclusive windows together hold every record, and only records stamped exactly on a shared edge twice."""
    sim = appflow_for(small_server)
    sim.describe_entity(entity)
    stamps = _stamps(small_server, entity)
    ordered = sorted(set(stamps.values()))
    # Boundaries sit exactly on record stamps, so some records lie on a window edge.
    edges = [ordered[0], ordered[len(ordered) // 3], ordered[2 * len(ordered) // 3], server_now(small_server)]
    seen: list[int] = []
    for lo, hi in itertools.pairwise(edges):
        expression = WINDOW_STYLES[style].format(
            lo=lo, hi=hi, lo_ms=lo.replace("Z", ".000Z"), hi_ms=hi.replace("Z", ".000Z")
        )
        run = sim.query_all(entity, max_results=2, filter_expression=expression)
        inside = [i for i, s in stamps.items() if WINDOW_TESTS[style](_ts(lo), _ts(s), _ts(hi))]
        _assert_same_ids(run.ids(), inside, f"{entity} {expression}")
        seen.extend(run.ids())
    if style == "gt_lt":
        return  # strict bounds exclude the edges by the filter's own meaning
    assert set(seen) == {i for i, s in stamps.items() if s >= edges[0]}, "a record was lost"
    on_edges = sorted(i for i, s in stamps.items() if s in edges[1:-1])
    assert on_edges, "the edges should sit on record stamps"
    assert sorted(i for i, n in Counter(seen).items() if n > 1) == on_edges


@pytest.mark.parametrize("entity", INCREMENTAL)
def test_between_keeps_the_record_stamped_at_its_upper_bound(
    entity: str, small_server: DemoServer, appflow_for: Callable[..., AppFlow]
) -> None:
    """The audit's case: ``updated_at between A and B`` as typed in the console returns the record stamped B."""
    sim = appflow_for(small_server)
    stamps = _stamps(small_server, entity)
    ordered = sorted(set(stamps.values()))
    for lo, hi in [(ordered[0], ordered[len(ordered) // 2]), (ordered[1], ordered[-1]), (ordered[2], ordered[2])]:
        run = sim.query_all(entity, max_results=3, filter_expression=f"updated_at between {lo} and {hi}")
        expected = [i for i, s in stamps.items() if _ts(lo) <= _ts(s) <= _ts(hi)]
        assert any(stamps[i] == hi for i in expected)
        _assert_same_ids(run.ids(), expected, f"{entity} between {lo} and {hi}")


@pytest.mark.parametrize("entity", INCREMENTAL)
def test_windows_with_records_changing_during_the_run(
    entity: str, fresh_server: DemoServer, appflow_for: Callable[..., AppFlow]
) -> None:
    """Records change between the pages of the first window (some already read, some not yet, some
    from before the window). Unchanged records are neither skipped nor repeated; a changed record is
    delivered again only as its new version, by the next window (and, when its new stamp is exactly the
    shared edge t1, also by the first: BETWEEN is inclusive, so a version may repeat only on the edge)."""
    sim = appflow_for(fresh_server)
    sim.describe_entity(entity)
    before = _stamps(fresh_server, entity)
    ordered = sorted(set(before.values()))
    t0 = ordered[len(ordered) // 2]  # half the records are older than the window
    t1 = server_now(fresh_server)  # every change from now on is stamped >= t1
    changed: set[int] = set()

    def change(call: int) -> None:
        changed.update(mutate(fresh_server, entity, count=4)["ids"])

    first = sim.query_all(
        entity, max_results=3, filter_expression=f"updated_at between {t0} and {t1}", between_pages=change
    )
    assert changed, "the run should have seen changes"
    t2 = server_now(fresh_server)
    second = sim.query_all(entity, max_results=3, filter_expression=f"updated_at between {t1} and {t2}")
    after = _stamps(fresh_server, entity)

    ids1, ids2 = first.ids(), second.ids()
    assert len(ids1) == len(set(ids1)) and len(ids2) == len(set(ids2)), "duplicates inside a window"
    in_window = {i for i, s in before.items() if t0 <= s}
    unchanged = in_window - changed
    assert unchanged <= set(ids1), f"skipped: {sorted(unchanged - set(ids1))[:10]}"
    assert set(ids2) == changed | {i for i, s in before.items() if _ts(s) == _ts(t1)}, "the next window: the changes"
    assert in_window <= set(ids1) | set(ids2)
    for rec in first.records:
        on_edge = rec["id"] in changed and _ts(rec["updated_at"]) == _ts(t1)
        assert rec["updated_at"] == before[rec["id"]] or on_edge, "window 1 only holds versions stamped inside it"
    for rec in second.records:
        assert rec["updated_at"] == after[rec["id"]]
    pairs = [(r["id"], r["updated_at"]) for r in first.records + second.records]
    repeated = [p for p, n in Counter(pairs).items() if n > 1]
    assert all(_ts(stamp) == _ts(t1) for _, stamp in repeated), f"a version repeated off the edge: {repeated[:5]}"


@pytest.mark.parametrize("entity", ["accounts", "contacts"])
def test_lower_bound_only_runs(entity: str, fresh_server: DemoServer, appflow_for: Callable[..., AppFlow]) -> None:
    """Scheduled runs that pass only "changed since the last run": applied exactly as written."""
    sim = appflow_for(fresh_server)
    sim.describe_entity(entity)
    before = _stamps(fresh_server, entity)
    t0 = sorted(before.values())[len(before) // 3]
    run1_start = server_now(fresh_server)
    run1 = sim.query_all(entity, max_results=10, filter_expression=f"updated_at > {t0}")
    _assert_same_ids(run1.ids(), [i for i, s in before.items() if s > t0], "run 1")
    changed = set(mutate(fresh_server, entity, count=7)["ids"])
    run2 = sim.query_all(entity, max_results=10, filter_expression=f"updated_at >= {run1_start}")
    _assert_same_ids(run2.ids(), sorted(changed), "run 2")


def test_incremental_field_with_a_user_filter(demo_server: DemoServer, appflow_for: Callable[..., AppFlow]) -> None:
    sim = appflow_for(demo_server)
    sim.describe_entity("contacts")
    source = dump(demo_server, "contacts")
    lo, hi = "2023-01-01T00:00:00Z", "2024-01-01T00:00:00Z"
    run = sim.query_all(
        "contacts",
        max_results=100,
        filter_expression=f"status = 'customer' and updated_at between {lo} and {hi}",
    )
    expected = [r["id"] for r in source if r["status"] == "customer" and _ts(lo) <= _ts(r["updated_at"]) <= _ts(hi)]
    _assert_same_ids(run.ids(), expected, "contacts window + status")
    assert expected
