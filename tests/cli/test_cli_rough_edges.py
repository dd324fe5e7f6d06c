"""What a newcomer trips on, each with one clear outcome: bad numbers are usage errors naming the option, a reader
that goes away ends the command quietly, a non-writable entity is one message, a missing key names the variable
to set, and ``demo-api --help`` explains every option with examples."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.cli.conftest import CLI, REPO, run_main, run_subprocess


@pytest.mark.parametrize("scale", ["0", "-1", "nan", "ten"])
def test_demo_rejects_a_scale_it_cannot_run_with(scale: str, capsys: pytest.CaptureFixture[str]) -> None:
    from saas_cli.main import main

    with pytest.raises(SystemExit) as exit_info:
        main(["demo", f"--scale={scale}"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --scale:" in err and "Traceback" not in err
    assert "must be at least 0.05" in err or "expected a number" in err


def test_read_limit(cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    run = run_main(["read", "contacts", "--limit", "-1"], capsys)
    assert run.code == 2 and "--limit must be 0 or more, got -1" in run.err and run.out == ""
    run = run_main(["read", "contacts", "--limit", "0"], capsys)
    assert run.code == 0 and run.out == ""
    run = run_main(["read", "contacts", "--limit", "3"], capsys)
    assert run.code == 0 and [json.loads(line)["id"] for line in run.out.splitlines()] == [1, 2, 3]


@pytest.mark.parametrize("command", [["read", "contacts"], ["query", "SELECT * FROM contacts"]])
def test_a_reader_that_goes_away_ends_the_command_quietly(
    command: list[str], cli_env: dict[str, str], tmp_path: Path
) -> None:
    """``saas-connectors read contacts | head -1``: the pipe closes after one line; no error, exit code 0."""
    env = {**os.environ, **cli_env, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([*CLI, *command], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # what `head -1` does after its line
    code = proc.wait(timeout=120)
    err = proc.stderr.read().decode()
    assert first.strip()
    assert code == 0, err
    assert err == ""


def test_writing_to_a_read_only_entity_is_one_message(
    cli_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "accounts.jsonl"
    path.write_text("".join(json.dumps({"id": i, "name": f"n{i}"}) + "\n" for i in range(1, 21)))
    run = run_main(["flow", "write", "accounts", "--input", str(path), "--operation", "UPDATE"], capsys)
    assert run.code == 2
    lines = [line for line in run.err.splitlines() if line.strip()]
    assert lines == [
        "error: entity 'accounts' is not writable (its DescribeEntity says isWritable: false); "
        "writable entities: contacts"
    ]
    assert run.out == ""


def test_identical_record_failures_are_one_line() -> None:
    from saas_cli.flow_command import failure_lines

    failed = [(i, "InvalidArgument: the batch was refused") for i in range(20)] + [(20, "bad email")]
    assert failure_lines(failed) == [
        "records 0, 1, 2, 3, 4 and 15 more: InvalidArgument: the batch was refused",
        "record 20: bad email",
    ]


@pytest.mark.parametrize(
    "command",
    [
        ["read", "contacts", "--limit", "1"],
        ["query", "SELECT count(*) FROM accounts"],
        ["flow", "run", "accounts", "--destination", "landing", "--state", "state.json"],
    ],
    ids=["read", "query", "flow"],
)
def test_a_missing_api_key_names_saas_api_key(command: list[str], cli_env: dict[str, str], tmp_path: Path) -> None:
    run = run_subprocess(command, cli_env, tmp_path, unset=("SAAS_API_KEY",))
    assert run.code != 0
    assert "SAAS_API_KEY" in run.err and "Traceback" not in run.err
    assert len(run.err.strip().splitlines()) <= 2


def test_demo_api_help_explains_every_option_with_examples(capsys: pytest.CaptureFixture[str]) -> None:
    from saas_cli.main import main

    with pytest.raises(SystemExit) as exit_info:
        main(["demo-api", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "saas-connectors demo-api --port 0" in out and "SAAS_API_KEY=" in out
    from demo_api.server import build_parser

    undocumented = [a.option_strings for a in build_parser()._actions if a.option_strings and not a.help]
    assert undocumented == []


def test_demo_environment_removes_its_temporary_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    from saas_cli.demo_env import DemoEnvironment

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with DemoEnvironment(scale=0.01) as env:
        assert env.workdir is not None and env.workdir.parent == tmp_path and env.workdir.is_dir()
        (env.workdir / "flows.json").write_text("{}")
    assert list(tmp_path.iterdir()) == []
