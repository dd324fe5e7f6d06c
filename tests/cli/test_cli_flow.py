"""``saas-connectors flow run`` end to end in subprocesses: a full run lands Parquet whose rows equal the source,
then, after the API changes some records, an incremental run lands exactly the changed records. Also the
write-back path (``flow write``) and the state file's watermark."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import requests

from demo_api.server import DemoServer
from tests.cli.conftest import dump, run_main, run_subprocess

SCALARS = ("id", "account_id", "email", "status", "score", "lifetime_value", "birthday", "opt_in", "updated_at")


@pytest.fixture
def secret_arn(cli_env: dict[str, str], cli_server: DemoServer) -> str:
    """The connection's secret, as AppFlow stores it for an API key connection."""
    import boto3

    sm = boto3.client("secretsmanager")
    name = "appflow!111122223333-cli-test-profile"
    try:
        return str(sm.create_secret(Name=name, SecretString=json.dumps({"apiKey": cli_server.api_key}))["ARN"])
    except sm.exceptions.ResourceExistsException:
        return str(sm.describe_secret(SecretId=name)["ARN"])


def server_now(server: DemoServer) -> str:
    response = requests.get(f"{server.admin_url}/clock", timeout=30)
    response.raise_for_status()
    return str(response.json()["now"])


def _typed_source(record: dict[str, Any]) -> dict[str, Any]:
    out = {k: record.get(k) for k in SCALARS}
    out["updated_at"] = dt.datetime.fromisoformat(record["updated_at"].replace("Z", "+00:00"))
    out["birthday"] = dt.date.fromisoformat(record["birthday"]) if record.get("birthday") else None
    if out["lifetime_value"] is not None:
        out["lifetime_value"] = decimal.Decimal(str(record["lifetime_value"]))
    return out


def _landed(folder: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for part in sorted(folder.glob("*.parquet")):
        rows += pq.read_table(part).to_pylist()
    return rows


def _executions(destination: Path, flow: str) -> list[Path]:
    return sorted((destination / flow).iterdir(), key=lambda p: p.stat().st_mtime)


def test_full_then_incremental_run_lands_exactly_the_source_then_the_changes(
    cli_env: dict[str, str], cli_server: DemoServer, secret_arn: str, tmp_path: Path
) -> None:
    destination = tmp_path / "landing"
    common = ["--destination", str(destination), "--secret-arn", secret_arn, "--auth-type", "ApiKey"]
    common += ["--state", str(tmp_path / "state.json"), "--flow-name", "contacts-flow", "--page-size", "150"]

    full = run_subprocess(["flow", "run", "contacts", "--now", server_now(cli_server), *common], cli_env, tmp_path)
    assert full.code == 0, full.err
    assert "full run of contacts" in full.out and "Traceback" not in full.err
    [first] = _executions(destination, "contacts-flow")
    assert [p.name for p in first.iterdir()] == ["part-00000.parquet"]
    landed = {r["id"]: {k: r[k] for k in SCALARS} for r in _landed(first)}
    source = {r["id"]: _typed_source(r) for r in dump(cli_server, "contacts")}
    assert len(landed) == len(source) == len(_landed(first))
    assert landed == source
    state = json.loads((tmp_path / "state.json").read_text())["contacts-flow"]
    assert state["watermark"] == server_now(cli_server) and state["incremental_field"] == "updated_at"

    changed = {r["id"] for r in cli_server.mutate("contacts", count=9)}
    incremental = run_subprocess(
        ["flow", "run", "contacts", "--now", server_now(cli_server), *common], cli_env, tmp_path
    )
    assert incremental.code == 0, incremental.err
    assert "incremental run of contacts" in incremental.out
    second = next(p for p in _executions(destination, "contacts-flow") if p != first)
    rows = _landed(second)
    assert sorted(r["id"] for r in rows) == sorted(changed)
    now_source = {r["id"]: _typed_source(r) for r in dump(cli_server, "contacts")}
    assert {r["id"]: {k: r[k] for k in SCALARS} for r in rows} == {i: now_source[i] for i in changed}

    again = run_subprocess(["flow", "run", "contacts", "--now", server_now(cli_server), *common], cli_env, tmp_path)
    assert again.code == 0, again.err
    assert "0 " in again.out and "no records: nothing landed" in again.out


def test_incremental_without_a_watermark_is_a_clear_error(
    cli_env: dict[str, str], secret_arn: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = run_main(
        ["flow", "run", "deals", "--incremental", "--destination", str(tmp_path), "--state", str(tmp_path / "s.json"),
         "--secret-arn", secret_arn, "--auth-type", "ApiKey"],
        capsys,
    )  # fmt: skip
    assert run.code == 1
    assert "has no watermark yet: run it full first, or pass --since" in run.err


def test_a_user_filter_and_selected_fields(
    cli_env: dict[str, str], cli_server: DemoServer, secret_arn: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = run_main(
        ["flow", "run", "deals", "--full", "--filter", "stage = 'proposal'", "--fields", "id,stage,amount",
         "--destination", str(tmp_path / "out"), "--state", str(tmp_path / "s.json"),
         "--secret-arn", secret_arn, "--auth-type", "ApiKey"],
        capsys,
    )  # fmt: skip
    assert run.code == 0, run.err
    [execution] = (tmp_path / "out" / "saas-deals").iterdir()
    rows = _landed(execution)
    assert rows and all(list(r) == ["id", "stage", "amount"] for r in rows)
    expected = sorted(r["id"] for r in dump(cli_server, "deals") if r["stage"] == "proposal")
    assert sorted(r["id"] for r in rows) == expected


def test_write_back_updates_the_records(
    cli_env: dict[str, str], cli_server: DemoServer, secret_arn: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = [{"id": 1, "score": 12.5}, {"id": 2, "score": 99.0}, {"id": 3, "favourite_colour": "blue"}]
    path = tmp_path / "scores.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    run = run_main(
        ["flow", "write", "contacts", "--input", str(path), "--operation", "UPDATE", "--id-field", "id",
         "--secret-arn", secret_arn, "--auth-type", "ApiKey"],
        capsys,
    )  # fmt: skip
    assert run.code == 1  # one record refused
    assert "2 of 3 records written" in run.out
    assert "record 2:" in run.out and "favourite_colour" in run.out
    by_id = {r["id"]: r for r in dump(cli_server, "contacts")}
    assert by_id[1]["score"] == 12.5 and by_id[2]["score"] == 99.0


def test_local_credentials_become_a_local_secret(
    cli_env: dict[str, str], cli_server: DemoServer, tmp_path: Path
) -> None:
    """Without --secret-arn the command stores SAAS_API_KEY in a local Secrets Manager, as a connection would."""
    run = run_subprocess(
        ["flow", "run", "accounts", "--destination", str(tmp_path / "out"), "--state", str(tmp_path / "s.json")],
        cli_env,
        tmp_path,
        unset=("AWS_ENDPOINT_URL",),
    )
    assert run.code == 0, run.err
    [execution] = (tmp_path / "out" / "saas-accounts").iterdir()
    assert len(_landed(execution)) == len(dump(cli_server, "accounts"))
