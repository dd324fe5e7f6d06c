"""Fixtures for the command line: a demo API per module, moto's server for the session, the CLI run in this
process (``saas_cli.main.main``) or in a subprocess exactly as a person types it, and the expected answers of
SQL computed independently: DuckDB over the demo API's full data (its admin dump), typed with DuckDB casts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from demo_api.server import DemoServer
from tests.support.aws import FAKE_ENV

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "saas_cli.main"]
SPILL_BUCKET = "cli-test-spill"
QUIET = {"POWERTOOLS_LOG_LEVEL": "CRITICAL", "LOG_LEVEL": "ERROR"}
CLEARED = ("SAAS_SECRET_ARN", "SAAS_CREDENTIALS", "schema_name", "spill_prefix", "disable_spill_encryption")


@dataclass
class Run:
    code: int
    out: str
    err: str


def connector_env(server: DemoServer, moto: str) -> dict[str, str]:
    """What a deployment sets, pointed at the demo API and moto."""
    return {
        **FAKE_ENV,
        **QUIET,
        "AWS_ENDPOINT_URL": moto,
        "SAAS_SPEC": "demo",
        "SAAS_BASE_URL": server.base_url,
        "SAAS_API_KEY": server.api_key,
        "spill_bucket": SPILL_BUCKET,
    }


def run_subprocess(
    args: list[str], env: dict[str, str], cwd: Path, timeout: float = 150, unset: tuple[str, ...] = ()
) -> Run:
    """The CLI as a person runs it: a new process, this test's environment plus ``env``, minus ``unset``."""
    full = {k: v for k, v in os.environ.items() if k not in CLEARED and not k.startswith("AWS_ENDPOINT_URL_")}
    full.update(env)
    for key in unset:
        full.pop(key, None)
    full["PYTHONPATH"] = str(REPO)
    proc = subprocess.run(
        [*CLI, *args], env=full, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(autouse=True)
def _quiet_connectors(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI sets these when unset; set them per test so nothing leaks into other test modules."""
    for key, value in QUIET.items():
        monkeypatch.setenv(key, value)


@pytest.fixture(scope="module")
def cli_server() -> Iterator[DemoServer]:
    """A small demo API for the module (activities: one request per contact, so contacts stay few)."""
    with DemoServer(port=0, rows={"accounts": 80, "contacts": 400, "deals": 300}) as srv:
        yield srv


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, moto_endpoint: str, cli_server: DemoServer) -> dict[str, str]:
    import boto3

    env = connector_env(cli_server, moto_endpoint)
    for key in CLEARED:
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    s3 = boto3.client("s3")
    if SPILL_BUCKET not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket=SPILL_BUCKET)
    return env


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> Run:
    from saas_cli.main import main

    code = main(args)
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


# -- the independent answer ------------------------------------------------------------------------------

CASTS = {
    "string": "VARCHAR",
    "int32": "INTEGER",
    "int64": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
}


def dump(server: DemoServer, entity: str) -> list[dict[str, Any]]:
    response = requests.get(f"{server.admin_url}/dump/{entity}", timeout=60)
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


def source_tables(server: DemoServer, tmp: Path) -> dict[str, str]:
    """Each entity's full data as a DuckDB SELECT over its dump, scalar fields cast to their SQL types."""
    from importlib import resources

    import yaml

    spec = yaml.safe_load((resources.files("shared.specs") / "demo.yaml").read_text())
    selects = {}
    for entity in spec["entities"]:
        path = tmp / f"{entity['name']}.ndjson"
        path.write_text("\n".join(json.dumps(r) for r in dump(server, entity["name"])) + "\n")
        columns = []
        for name, decl in entity["fields"].items():
            kind = decl if isinstance(decl, str) else decl.get("type")
            json_path = "$." + (decl.get("path", name) if isinstance(decl, dict) else name)
            text = f"json_extract_string(json, '{json_path}')"
            if kind in CASTS:
                columns.append(f"CAST({text} AS {CASTS[kind]}) AS {name}")
            elif kind == "timestamp":
                columns.append(f"CAST(CAST({text} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS TIMESTAMP) AS {name}")
            elif isinstance(kind, str) and kind.startswith("decimal"):
                columns.append(f"CAST({text} AS {kind.upper()}) AS {name}")
        selects[entity["name"]] = f"SELECT {', '.join(columns)} FROM read_json_objects('{path}')"
    return selects


def expected(sql: str, selects: dict[str, str]) -> list[tuple[Any, ...]]:
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name, select in selects.items():
        con.execute(f"CREATE VIEW {name} AS {select}")
    return [tuple(row) for row in con.execute(sql).fetchall()]
