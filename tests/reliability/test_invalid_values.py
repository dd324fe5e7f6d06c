"""Schema drift and the invalid-value policy, the same in both connectors.

Policy (per entity, ``on_invalid_value``):

* ``error`` (the default): a value that does not fit its declared type fails the read with a typed
  ``ValueCoercionError`` naming the entity, the field, the value and the page (Athena shows it as
  ``InvalidResponseException``, AppFlow as ``ServerError``); nothing of the read is delivered as if complete.
* ``null``: the value is read as NULL, every such value is counted (Athena: the ``NulledValues`` metric and the
  ``nulled_values`` key of the "split read" log line; AppFlow: a warning per call with the count per field), and
  the first one per field and read is logged as a warning naming entity, field and value.

Values that do fit are converted, never flagged: ``"42"`` for an integer, ``1`` for a boolean, an ISO date-time
for a date. A missing field reads as NULL and an unknown extra field is ignored, in both connectors and under
both policies (a field the spec declares non-nullable is passed through as NULL, not invented).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest

from demo_api.server import DemoServer
from tests.reliability import drivers

DRIFTS = {
    "accounts": ("employees", "lots", "rating"),  # int32 served as text, a nullable number dropped
    "contacts": ("score", "high", "phone"),
    "deals": ("amount", "about 5k", "currency"),  # decimal(12,2)
    "activities": ("duration_minutes", "about an hour", "subject"),
}


@pytest.fixture(scope="module")
def null_spec_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = drivers.with_invalid_policy(drivers.fast_spec_data(), "null")
    return drivers.write_spec(tmp_path_factory.mktemp("spec") / "nulls.yaml", data)


def _use(env: pytest.MonkeyPatch, path: Path) -> None:
    from athena_connector.runtime import reset_runtime

    env.setenv("SAAS_SPEC", str(path))
    reset_runtime()


def _drift(server: DemoServer, entity: str, after: int = 1) -> None:
    field, value, dropped = DRIFTS[entity]
    rule = {"kind": "drift", "entity": entity, "after": after, "count": None, "field": field, "value": value}
    server.set_faults([{**rule, "drop": dropped}])


@pytest.mark.parametrize("entity", list(DRIFTS))
def test_error_policy_fails_naming_entity_field_and_page(
    entity: str, athena: drivers.Athena, appflow: drivers.AppFlowRun, server: DemoServer
) -> None:
    field, value, _ = DRIFTS[entity]
    _drift(server, entity)
    for outcome, expected in ((athena.read(entity), "InvalidResponseException"), (appflow.read(entity), "ServerError")):
        assert outcome.error_type == expected, (outcome.connector, outcome.error_type, outcome.message)
        message = outcome.message
        assert f"entity '{entity}'" in message and f"field '{field}'" in message, message
        assert re.search(r"page \d+", message) and value in message, message
        assert "on_invalid_value: null" in message, "the message says how to read such values instead"


def _nulled(rows: list[dict[str, Any]], field: str) -> int:
    return sum(1 for r in rows if r[field] is None)


@pytest.mark.parametrize("entity", ["accounts", "deals"])
def test_null_policy_nulls_counts_and_warns_the_same_in_both(
    entity: str,
    athena: drivers.Athena,
    appflow: drivers.AppFlowRun,
    server: DemoServer,
    env: pytest.MonkeyPatch,
    null_spec_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    field, value, dropped = DRIFTS[entity]
    _use(env, null_spec_path)
    source = server.store.all_records(entity)
    _drift(server, entity, after=0)  # every page: both connectors see the same records drifted
    a = athena.read(entity)
    _drift(server, entity, after=0)
    b = appflow.read(entity, max_results=20)
    assert a.ok and b.ok, (a.message, b.message)
    athena_rows, appflow_rows = a.rows or [], b.rows or []
    assert [r["id"] for r in athena_rows] == [r["id"] for r in appflow_rows] == sorted(r["id"] for r in source)
    drifted_athena = {r["id"] for r in athena_rows if r[field] is None} - {r["id"] for r in source if r[field] is None}
    drifted_appflow = {r["id"] for r in appflow_rows if r[field] is None} - {
        r["id"] for r in source if r[field] is None
    }
    assert drifted_athena, "the drifted values are nulled"
    assert drifted_athena == drifted_appflow, "both connectors null exactly the same values"
    assert drifted_athena == {r["id"] for r in source if r[field] is not None}, "every drifted value, no other"
    for rows in (athena_rows, appflow_rows):
        assert all(r[dropped] is None for r in rows), "a missing field reads as null"
    messages = [r.getMessage() for r in caplog.records]
    warned = [m for m in messages if f"entity {entity} field {field}: invalid value nulled" in m and value in m]
    assert len(warned) >= 2, "each connector warns, naming entity, field and value"
    counts = [m for m in messages if re.search(rf"entity {entity}: \d+ invalid value\(s\) nulled", m)]
    assert counts, "AppFlow reports how many values it nulled"
    total = sum(int(re.search(r": (\d+) invalid", m).group(1)) for m in counts)  # type: ignore[union-attr]
    assert total == len(source), "AppFlow counts every value it nulled"
    athena_counts = [getattr(r, "nulled_values", None) for r in caplog.records if r.getMessage() == "split read"]
    nulled = sum(n or 0 for n in athena_counts)
    # Athena counts values as it reads them: deals' catch-all partition reads every deal and keeps the others.
    assert nulled == len(source) if entity == "accounts" else nulled >= len(source), "Athena counts what it nulled"


def test_values_that_fit_are_converted_not_flagged(
    athena: drivers.Athena, appflow: drivers.AppFlowRun, server: DemoServer
) -> None:
    """A numeric string for an int32, and extra fields: both connectors read the number, no error, no null."""
    source = server.store.all_records("accounts")
    server.set_faults([{"kind": "drift", "entity": "accounts", "count": None, "value": "42", "drop": "metadata_x"}])
    for outcome in (athena.read("accounts", ["id", "employees"]), appflow.read("accounts", fields=["id", "employees"])):
        assert outcome.ok, outcome.message
        assert [r["employees"] for r in outcome.rows or []] == [42] * len(source)
