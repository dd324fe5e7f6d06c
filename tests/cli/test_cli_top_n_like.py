"""``saas-connectors query`` with ORDER BY ... LIMIT and LIKE: the engine sends them as Athena does (top-N,
``$like_pattern`` expressions), and the answers equal DuckDB's over the demo API's full data, including
contacts written with mixed-case, NULL and wildcard-bearing names. Queries that select only their sort keys
have one right answer even with ties at the limit."""

from __future__ import annotations

import decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import requests

from demo_api.server import DemoServer
from tests.cli.conftest import expected, run_main, run_subprocess, source_tables

NAMES = ["apple", "Apple", "APPLE", "Éclair", "eclair", None, "50% off", "under_score", "Zoë", "zebra", "aPPle"]


@pytest.fixture(scope="module")
def named(cli_server: DemoServer) -> DemoServer:
    for i, name in enumerate(NAMES):
        body = {"email": f"n{i}@example.com", "last_name": name, "score": float(40 + i % 2)}
        requests.post(
            f"{cli_server.base_url}/contacts", json=body, headers={"X-API-Key": cli_server.api_key}, timeout=10
        ).raise_for_status()
    return cli_server


@pytest.fixture(scope="module")
def selects(named: DemoServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return source_tables(named, tmp_path_factory.mktemp("source"))


def _rows(path: Path) -> list[tuple[Any, ...]]:
    table = pq.read_table(path)
    rows = list(zip(*(c.to_pylist() for c in table.columns), strict=True))
    return [tuple(float(v) if isinstance(v, decimal.Decimal) else v for v in row) for row in rows]


def _want(sql: str, selects: dict[str, str]) -> list[tuple[Any, ...]]:
    return [tuple(float(v) if isinstance(v, decimal.Decimal) else v for v in row) for row in expected(sql, selects)]


# (name, sql, ordered)
QUERIES = [
    ("top-n trusted", "SELECT employees FROM accounts ORDER BY employees DESC NULLS FIRST LIMIT 6", True),
    ("top-n nulls first asc", "SELECT employees FROM accounts ORDER BY employees ASC NULLS FIRST LIMIT 6", True),
    ("top-n ties", "SELECT last_name FROM contacts ORDER BY last_name LIMIT 9", True),
    ("top-n mixed case desc", "SELECT last_name FROM contacts ORDER BY last_name DESC NULLS LAST LIMIT 7", True),
    ("top-n nulls first", "SELECT last_name FROM contacts ORDER BY last_name NULLS FIRST LIMIT 3", True),
    (
        "top-n two keys",
        "SELECT last_name, score FROM contacts ORDER BY last_name DESC, score DESC NULLS FIRST LIMIT 12",
        True,
    ),
    ("top-n unsortable key", "SELECT status, id FROM contacts ORDER BY status, id DESC LIMIT 5", True),
    ("like prefix", "SELECT id, name FROM accounts WHERE name LIKE 'A%'", False),
    ("like mixed case", "SELECT id, last_name FROM contacts WHERE last_name LIKE 'app%'", False),
    ("like contains", "SELECT id FROM contacts WHERE last_name LIKE '%PP%'", False),
    ("like underscore", "SELECT id, name FROM accounts WHERE name LIKE '%_ AG'", False),
    ("like escape", "SELECT id FROM contacts WHERE last_name LIKE '50!%%' ESCAPE '!'", False),
    ("like escaped underscore", "SELECT id FROM contacts WHERE last_name LIKE 'under\\_%' ESCAPE '\\'", False),
    ("not like", "SELECT id FROM contacts WHERE last_name NOT LIKE '%a%' AND status = 'lead'", False),
    ("like or like", "SELECT id FROM contacts WHERE last_name LIKE 'Z%' OR last_name LIKE 'É%'", False),
    (
        "like with top-n",
        "SELECT last_name FROM contacts WHERE last_name LIKE '%e%' ORDER BY last_name DESC LIMIT 4",
        True,
    ),
    ("like with limit", "SELECT count(*) FROM (SELECT id FROM contacts WHERE last_name LIKE 'M%' LIMIT 3) t", True),
]
IN_SUBPROCESS = {"top-n mixed case desc", "like escape"}


@pytest.mark.parametrize(("name", "sql", "ordered"), QUERIES, ids=[q[0] for q in QUERIES])
def test_answers_equal_duckdb_over_the_full_data(
    name: str,
    sql: str,
    ordered: bool,
    cli_env: dict[str, str],
    selects: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "result.parquet"
    args = ["query", "--format", "parquet", "--output", str(out), sql]
    run = run_subprocess(args, cli_env, tmp_path) if name in IN_SUBPROCESS else run_main(args, capsys)
    assert run.code == 0, run.err
    want = _want(sql, selects)
    assert want, f"{name}: the query should match some rows"
    got = _rows(out)
    assert (got if ordered else sorted(got, key=repr)) == (want if ordered else sorted(want, key=repr))


def test_explain_says_what_the_api_sorts_and_searches(
    cli_env: dict[str, str], named: DemoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    run = run_main(["query", "--explain", "SELECT id FROM accounts ORDER BY employees DESC LIMIT 3"], capsys)
    assert run.code == 0, run.err
    assert "pushed limit:   3 ordered by employees DESC_NULLS_LAST" in run.out
    assert "computed by the connector" in run.out and "NULLs last" in run.out  # the API puts them first
    run = run_main(
        ["query", "--explain", "SELECT id FROM accounts ORDER BY employees DESC NULLS FIRST LIMIT 3"], capsys
    )
    assert "sort=-employees" in run.out and "each split stops after 3" in run.out
    run = run_main(["query", "--explain", "SELECT id FROM contacts WHERE last_name LIKE 'Mü%'"], capsys)
    assert "(as an expression)" in run.out
    assert "last_name_contains=M" in run.out  # case-insensitive prefix: not for non-ASCII; the contains search
    assert "applied by the connector to every row" in run.out
