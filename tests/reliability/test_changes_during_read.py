"""Records that change or move between the pages of a read, through both Lambda entry points.

* ``mutate_between_pages``: after a page, the next records (not read yet) change (new ``updated_at``, maybe a new
  stage or status). Every record that did not change is delivered exactly once with its value; a changed record
  is delivered as one of its versions: once by AppFlow (one ordered scan), and by Athena once per split it
  belonged to during the query (a record whose split-defining field changes may be read by both splits, one
  version each; never the same version twice).
* ``delete_between_pages``: after a page, its last records are deleted, so every later record moves up in
  position-based paging (offset, page numbers). Every surviving record is still delivered exactly once; a
  deleted record at most once. Offset reads (accounts) go back by the number of records the total lost and
  drop what they read twice; page-number links (deals) cannot be re-positioned, so there the read may instead
  fail with a typed pagination error naming entity and page. Keyset cursors (contacts) are unaffected.
"""

from __future__ import annotations

import collections
import json
from typing import Any

import pytest

from demo_api.server import DemoServer
from tests.reliability import drivers

TABLES = ("accounts", "contacts", "deals")


def _versions(records: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    return {r["id"]: r for r in records}


def _check(
    outcome: drivers.Outcome,
    expected_before: list[dict[str, Any]],
    expected_after: list[dict[str, Any]],
    entity: str,
    *,
    per_version: bool,
) -> None:
    if not outcome.ok:
        # Only page-number links cannot be re-positioned: offset and keyset reads must deliver the data.
        assert entity == "deals", f"{outcome.error_type}: {outcome.message}"
        assert outcome.error_type in ("InvalidResponseException", "ServerError"), outcome
        assert f"entity '{entity}'" in outcome.message and "page" in outcome.message, outcome.message
        return
    assert outcome.rows is not None
    before, after = _versions(expected_before), _versions(expected_after)
    counts = collections.Counter(r["id"] for r in outcome.rows)
    survivors = set(after)
    unchanged = {i for i in survivors & set(before) if before[i] == after[i]}
    for i in unchanged:
        assert counts[i] == 1, f"{entity} {i} delivered {counts[i]} times"
    for row in outcome.rows:
        i = row["id"]
        assert row in (before.get(i), after.get(i)), f"{entity} {i}: a version that never existed: {row}"
    missing = survivors - set(counts)
    assert not missing, f"{entity}: records that exist throughout were skipped: {sorted(missing)[:10]}"
    versions = collections.Counter(json.dumps(r, sort_keys=True, default=str) for r in outcome.rows)
    assert max(versions.values()) == 1, "the same version delivered twice"
    if not per_version:
        assert max(counts.values()) == 1, f"duplicates: {[i for i, n in counts.items() if n > 1][:10]}"


@pytest.mark.parametrize("entity", TABLES)
@pytest.mark.parametrize("kind", ["mutate_between_pages", "delete_between_pages"])
def test_changes_through_athena(kind: str, entity: str, athena: drivers.Athena, server: DemoServer) -> None:
    before = server.store.all_records(entity)
    server.set_faults([{"kind": kind, "entity": entity, "n": 3, "count": 4}])
    outcome = athena.read(entity)
    after = server.store.all_records(entity)
    assert after != before, "the fault should have changed the data"
    _check(outcome, athena.expected(entity, before), athena.expected(entity, after), entity, per_version=True)


@pytest.mark.parametrize("entity", TABLES)
@pytest.mark.parametrize("kind", ["mutate_between_pages", "delete_between_pages"])
def test_changes_through_appflow(kind: str, entity: str, appflow: drivers.AppFlowRun, server: DemoServer) -> None:
    before = server.store.all_records(entity)
    server.set_faults([{"kind": kind, "entity": entity, "n": 3, "count": 4}])
    outcome = appflow.read(entity, max_results=12)
    after = server.store.all_records(entity)
    assert after != before, "the fault should have changed the data"
    _check(outcome, appflow.expected(entity, before), appflow.expected(entity, after), entity, per_version=False)


@pytest.mark.parametrize("entity", ["accounts", "contacts"])
def test_incremental_window_while_records_change(entity: str, appflow: drivers.AppFlowRun, server: DemoServer) -> None:
    """A scheduled flow's window: records before the window move into "now" while the window is read."""
    before = server.store.all_records(entity)
    stamps = sorted(r["updated_at"] for r in before)
    since = stamps[len(stamps) // 2]
    server.set_faults([{"kind": "mutate_between_pages", "entity": entity, "n": 4, "count": 3}])
    outcome = appflow.read(entity, max_results=7, filter_expression=f"updated_at >= {since}")
    after = server.store.all_records(entity)
    old_in = [r for r in before if r["updated_at"] >= since]
    new_in = [r for r in after if r["updated_at"] >= since]
    _check(outcome, appflow.expected(entity, old_in), appflow.expected(entity, new_in), entity, per_version=False)
