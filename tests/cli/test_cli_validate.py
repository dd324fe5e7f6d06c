"""``validate``'s parity with the SDK's ConnectorValidator, against the demo API through the in-process handler:
--constraints (sent with every call and checked on the rows), --planning-only, --allow-empty-tables, --schema,
--table, and one more page of splits after a continuation token."""

from __future__ import annotations

from typing import Any

import pytest

from demo_api.server import DemoServer
from saas_cli.athena_calls import AthenaCalls
from saas_cli.invoker import ATHENA_HANDLER, InProcessInvoker
from saas_cli.validate import AthenaOptions, StepResult, validate_athena
from tests.cli.conftest import dump, run_main


class Rewriting:
    """The in-process connector with one kind of answer or request changed, to show each check can fail."""

    def __init__(self, request: dict[str, Any] | None = None, response: dict[str, Any] | None = None) -> None:
        self.inner = InProcessInvoker(ATHENA_HANDLER, function_name="validate-test")
        self.name = self.inner.name
        self.request = request or {}
        self.response = response or {}
        self.seen: list[dict[str, Any]] = []

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        kind = event.get("@type", "")
        change = self.request.get(kind)
        if change:
            event = change(event)
        self.seen.append(event)
        out = self.inner.invoke(event)
        change = self.response.get(out.get("@type", ""))
        return change(out) if change else out


def _run(invoker: Any, **options: Any) -> list[StepResult]:
    return validate_athena(AthenaCalls(invoker, "saas"), AthenaOptions(**options))


def _steps(results: list[StepResult]) -> list[tuple[str, bool]]:
    return [(r.step, r.ok) for r in results]


def test_constraints_go_with_every_call_and_rows_satisfy_them(cli_env: dict[str, str], cli_server: DemoServer) -> None:
    assert any(r["score"] > 50 and r["status"] == "customer" for r in dump(cli_server, "contacts"))
    invoker = Rewriting()
    results = _run(invoker, table="contacts", constraints="score>50,status=customer")
    assert all(r.ok for r in results), results
    assert [s for s, _ in _steps(results)][-3:] == ["GetTableLayout", "GetSplits", "ReadRecords"]
    assert "all satisfying 'score>50,status=customer'" in results[-1].detail
    sent = {e["@type"]: e for e in invoker.seen}
    for kind in ("GetTableLayoutRequest", "GetSplitsRequest", "ReadRecordsRequest"):
        assert set(sent[kind]["constraints"]["summary"]) == {"score", "status"}, kind


def test_a_connector_that_ignores_the_constraints_fails(cli_env: dict[str, str], cli_server: DemoServer) -> None:
    def drop(event: dict[str, Any]) -> dict[str, Any]:
        return {**event, "constraints": {**event["constraints"], "summary": {}}}

    results = _run(Rewriting(request={"ReadRecordsRequest": drop}), table="contacts", constraints="score>50")
    read = next(r for r in results if r.step == "ReadRecords")
    assert not read.ok and "rows that break --constraints 'score>50'" in read.detail and "score=" in read.detail


@pytest.mark.parametrize(
    ("constraints", "message"),
    [
        ("colour=red", "no column 'colour'"),
        ("score>>5", "not a double value"),
        ("score~5", "is not column<op>value"),
        ("score>5,,status=lead", "an empty condition"),
        ("opt_in=maybe", "true or false"),
    ],
)
def test_bad_constraints_are_named(
    cli_env: dict[str, str], cli_server: DemoServer, constraints: str, message: str
) -> None:
    results = _run(Rewriting(), table="contacts", constraints=constraints)
    failed = [r for r in results if not r.ok]
    assert [r.step for r in failed] == ["Constraints"]
    assert message in failed[0].detail, failed[0].detail
    assert "GetTableLayout" not in [r.step for r in results]  # nothing is read with constraints it cannot send


def test_null_tests_in_the_grammar(cli_env: dict[str, str], cli_server: DemoServer) -> None:
    results = _run(Rewriting(), table="contacts", constraints="email!=,phone=")
    assert all(r.ok for r in results) or any("no rows" in r.detail for r in results), (
        results
    )  # a random split may hold no contact without a phone; the rows read all satisfy the tests
    assert not any("rows that break" in r.detail for r in results)


def test_constraints_need_a_table(cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    run = run_main(["validate", "--only", "athena", "--constraints", "score>50"], capsys)
    assert run.code == 1 and "--constraints needs --table" in run.out


def test_planning_only_reads_nothing(cli_env: dict[str, str], cli_server: DemoServer) -> None:
    invoker = Rewriting()
    results = _run(invoker, table="contacts", planning_only=True)
    assert all(r.ok for r in results) and "ReadRecords" not in [r.step for r in results]
    assert "ReadRecordsRequest" not in {e["@type"] for e in invoker.seen}


def test_one_more_page_of_splits_after_a_continuation_token(
    cli_env: dict[str, str], cli_server: DemoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("max_splits_per_response", "1")
    invoker = Rewriting()
    results = _run(invoker, table="contacts")
    assert _steps(results)[-4:] == [
        ("GetSplits", True),
        ("ReadRecords", True),
        ("GetSplits (continuation)", True),
        ("ReadRecords", True),
    ], results
    splits = [e for e in invoker.seen if e["@type"] == "GetSplitsRequest"]
    assert len(splits) == 2 and splits[0].get("continuationToken") is None and splits[1]["continuationToken"]
    assert "continuation token" in results[-4].detail


def test_an_empty_page_after_a_continuation_token_fails(
    cli_env: dict[str, str], cli_server: DemoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("max_splits_per_response", "1")

    def empty_after_token(out: dict[str, Any]) -> dict[str, Any]:
        return {**out, "splits": []} if calls["n"] else out

    calls = {"n": 0}

    def count(event: dict[str, Any]) -> dict[str, Any]:
        calls["n"] = 1 if event.get("continuationToken") else 0
        return event

    invoker = Rewriting(request={"GetSplitsRequest": count}, response={"GetSplitsResponse": empty_after_token})
    results = _run(invoker, table="contacts", planning_only=True)
    last = results[-1]
    assert last.step == "GetSplits (continuation)" and not last.ok
    assert "no splits in the page after a continuation token" in last.detail


def test_allow_empty_tables(cli_env: dict[str, str], cli_server: DemoServer) -> None:
    def no_tables(out: dict[str, Any]) -> dict[str, Any]:
        return {**out, "tables": [], "nextToken": None}

    empty = Rewriting(response={"ListTablesResponse": no_tables})
    strict = _run(empty)
    assert _steps(strict)[-1] == ("ListTables", False) and "--allow-empty-tables" in strict[-1].detail
    lenient = _run(empty, allow_empty_tables=True)
    assert all(r.ok for r in lenient) and "allowed by --allow-empty-tables" in lenient[-1].detail


def test_schema_and_table_options(cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    run = run_main(
        ["validate", "--only", "athena", "--schema", "demo_crm", "--table", "deals", "--planning-only"], capsys
    )
    assert run.code == 0, run.out + run.err
    assert "ReadRecords" not in run.out and "demo_crm.deals" in run.out
    wrong = run_main(["validate", "--only", "athena", "--schema", "nope", "--planning-only"], capsys)
    assert wrong.code == 1 and "schema 'nope' is not listed" in wrong.out


def test_lower_case_columns_are_required(cli_env: dict[str, str], cli_server: DemoServer) -> None:
    import pyarrow as pa

    from athena_connector.wire import decode_schema, encode_schema

    def upper(out: dict[str, Any]) -> dict[str, Any]:
        schema = decode_schema(out["schema"])
        renamed = pa.schema([f.with_name(f.name.upper()) if f.name == "email" else f for f in schema])
        return {**out, "schema": encode_schema(renamed)}

    results = _run(Rewriting(response={"GetTableResponse": upper}), table="contacts")
    failed = [r for r in results if not r.ok]
    assert failed and failed[0].step == "GetTable" and "EMAIL" in failed[0].detail
