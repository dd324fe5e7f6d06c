"""Help everywhere, spec lint and infer, validate (the handlers in this process), and the invoker's contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from demo_api.server import DemoServer
from saas_cli.invoker import FunctionError, InProcessInvoker
from tests.cli.conftest import run_main

COMMANDS = [[], ["demo"], ["query"], ["flow"], ["flow", "run"], ["flow", "write"], ["validate"], ["spec"],
            ["spec", "lint"], ["spec", "infer"], ["read"]]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "top")
def test_help_everywhere_with_examples(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from saas_cli.main import main

    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    assert "example" in capsys.readouterr().out


def test_a_missing_action_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    from saas_cli.main import main

    with pytest.raises(SystemExit) as exit_info:
        main(["flow"])
    assert exit_info.value.code == 2
    assert "choose an action" in capsys.readouterr().err


def test_spec_lint_lists_every_problem_with_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\napi:\n  name: x\n  base_url: 1\nentities:\n  - name: t\n    fields: {id: integr}\n")
    run = run_main(["spec", "lint", str(bad)], capsys)
    assert run.code == 1
    assert "line 4: api.base_url" in run.out and "line 7:" in run.out and "integr" in run.out
    assert run_main(["spec", "lint", "demo"], capsys).code == 0
    missing = run_main(["spec", "lint", str(tmp_path / "nope.yaml")], capsys)
    assert missing.code == 2 and "no such file" in missing.err


def test_spec_infer_drafts_fields_that_lint(
    cli_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = run_main(["spec", "infer", "/deals", "--entity", "opportunities", "--spec", "demo"], capsys)
    assert run.code == 0, run.err
    for line in ("- name: opportunities", "amount: \"decimal(", "close_date: date", "updated_at: timestamp",
                 "probability: number", "primary_key: [id]"):  # fmt: skip
        assert line in run.out, line
    sample = tmp_path / "page.json"
    sample.write_text(json.dumps({"data": {"items": [
        {"id": 1, "createdAt": "2024-01-01T00:00:00Z", "price": "10.50", "tags": ["a"], "owner": {"name": "x"}},
        {"id": 2, "createdAt": "2024-01-02T00:00:00Z", "price": "7.25", "tags": [], "owner": None},
    ]}}))  # fmt: skip
    out = tmp_path / "starter.yaml"
    run = run_main(["spec", "infer", "--sample", str(sample), "--entity", "orders", "-o", str(out)], capsys)
    assert run.code == 0, run.err
    text = out.read_text()
    assert 'records: "data.items"' in text and "created_at: {type: timestamp, path: createdAt}" in text
    assert "tags: list<string>" in text and 'price: "decimal(' in text
    assert run_main(["spec", "lint", str(out)], capsys).code == 0


def test_validate_runs_both_sequences(
    cli_env: dict[str, str], cli_server: DemoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    import boto3

    sm = boto3.client("secretsmanager")
    name = "appflow!111122223333-validate"
    try:
        arn = sm.create_secret(Name=name, SecretString=json.dumps({"apiKey": cli_server.api_key}))["ARN"]
    except sm.exceptions.ResourceExistsException:
        arn = sm.describe_secret(SecretId=name)["ARN"]
    run = run_main(
        ["validate", "--table", "contacts", "--entity", "contacts", "--secret-arn", arn, "--auth-type", "ApiKey"],
        capsys,
    )
    assert run.code == 0, run.out + run.err
    for step in ("Ping", "ListSchemas", "ListTables", "GetTable", "GetTableLayout", "GetSplits", "ReadRecords",
                 "DescribeConnectorConfiguration", "ValidateCredentials", "ListEntities", "DescribeEntity", "QueryData"):  # fmt: skip
        assert step in run.out, step
    assert "All " in run.out and "steps passed" in run.out
    wrong = run_main(["validate", "--only", "athena", "--table", "tickets"], capsys)
    assert wrong.code == 1 and "FAILED" in wrong.out and "not listed" in wrong.out


def test_in_process_invocation_goes_through_json_and_reports_errors_as_lambda_does() -> None:
    seen = []

    class Module:
        @staticmethod
        def handler(event: object, context: object) -> object:
            seen.append((event, context.get_remaining_time_in_millis()))  # type: ignore[attr-defined]
            if event["fail"]:  # type: ignore[index]
                raise KeyError("boom")
            print("a log line the handler prints")
            return {"when": (1, 2)}

    import sys
    import types

    module = types.ModuleType("cli_test_handler_module")
    module.handler = Module.handler  # type: ignore[attr-defined]
    sys.modules["cli_test_handler_module"] = module
    invoker = InProcessInvoker("cli_test_handler_module:handler")
    assert invoker.invoke({"fail": False, "t": (1,)}) == {"when": [1, 2]}  # tuples become lists, as in JSON
    assert seen[0][0] == {"fail": False, "t": [1]} and seen[0][1] > 0
    with pytest.raises(FunctionError) as info:
        invoker.invoke({"fail": True})
    assert info.value.error_type == "KeyError"
