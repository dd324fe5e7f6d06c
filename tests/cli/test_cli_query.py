"""``saas-connectors query``: answers equal DuckDB's answer over the demo API's full data (fetched from its
admin dump and typed independently), for filters on every type, IN lists, ranges, LIMIT, ORDER BY, GROUP BY,
a join between two entities and a result large enough to spill; ``--explain`` shows what was pushed down."""

from __future__ import annotations

import datetime as dt
import decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from demo_api.server import DemoServer
from tests.cli.conftest import Run, expected, run_main, run_subprocess, source_tables


@pytest.fixture(scope="module")
def selects(cli_server: DemoServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return source_tables(cli_server, tmp_path_factory.mktemp("source"))


def _normal(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, decimal.Decimal):
        return round(float(value), 6)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def _rows(rows: list[tuple[Any, ...]], ordered: bool) -> list[tuple[Any, ...]]:
    out = [tuple(_normal(v) for v in row) for row in rows]
    return out if ordered else sorted(out, key=repr)


def _read(path: Path) -> list[tuple[Any, ...]]:
    table = pq.read_table(path)
    return list(zip(*(c.to_pylist() for c in table.columns), strict=True)) if table.num_columns else []


# (name, sql, ordered)
QUERIES = [
    ("int range", "SELECT id, name, employees FROM accounts WHERE employees >= 100 AND employees < 3000", False),
    ("double", "SELECT id, score FROM contacts WHERE score > 75.5", False),
    ("decimal between", "SELECT id, lifetime_value FROM contacts WHERE lifetime_value BETWEEN 1000 AND 50000", False),
    ("string equality", "SELECT id, email FROM contacts WHERE status = 'customer'", False),
    ("string IN list", "SELECT id, status FROM contacts WHERE status IN ('lead', 'prospect')", False),
    ("boolean", "SELECT id, name FROM accounts WHERE is_active = false", False),
    ("date", "SELECT id, birthday FROM contacts WHERE birthday < DATE '1980-01-01'", False),
    (
        "timestamp range",
        "SELECT id, updated_at FROM contacts WHERE updated_at >= TIMESTAMP '2024-06-01 00:00:00' "
        "AND updated_at < TIMESTAMP '2025-06-20 12:00:00'",
        False,
    ),
    ("is null", "SELECT id FROM contacts WHERE phone IS NULL", False),
    ("is not null with an int range", "SELECT id FROM contacts WHERE account_id IS NOT NULL AND id <= 50", False),
    (
        "not in and not equal",
        "SELECT id, stage, currency FROM deals WHERE stage NOT IN ('closed_won', 'closed_lost') AND currency <> 'USD'",
        False,
    ),
    ("or on one column", "SELECT id FROM accounts WHERE industry = 'Retail' OR industry = 'Energy'", False),
    ("limit", "SELECT count(*) FROM (SELECT id FROM contacts WHERE status = 'customer' LIMIT 7) t", True),
    ("order by with limit", "SELECT id, score FROM contacts ORDER BY score DESC NULLS LAST, id LIMIT 5", True),
    ("order by", "SELECT id, name FROM accounts WHERE employees > 1000 ORDER BY name, id", True),
    (
        "group by",
        "SELECT status, count(*) AS n, round(avg(score), 3) AS avg_score, sum(lifetime_value) AS ltv "
        "FROM contacts GROUP BY status ORDER BY status",
        True,
    ),
    (
        "join",
        "SELECT a.industry, count(*) AS n, sum(c.lifetime_value) AS ltv FROM contacts c "
        "JOIN accounts a ON a.id = c.account_id WHERE c.status = 'customer' AND a.employees > 50 "
        "GROUP BY a.industry ORDER BY a.industry",
        True,
    ),
    (
        "child entity by parent ids",
        "SELECT contact_id, count(*) AS n FROM activities WHERE contact_id IN (1, 2, 3, 5, 8, 13) "
        "GROUP BY contact_id ORDER BY contact_id",
        True,
    ),
]
IN_SUBPROCESS = {"string IN list", "join", "timestamp range"}


@pytest.mark.parametrize(("name", "sql", "ordered"), QUERIES, ids=[q[0] for q in QUERIES])
def test_query_answers_equal_duckdb_over_the_full_data(
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
    want = expected(sql, selects)
    assert want, f"{name}: the query should match some rows"
    assert _rows(_read(out), ordered) == _rows(want, ordered)


def test_a_large_result_spills_to_s3_and_reads_back_whole(
    cli_env: dict[str, str], selects: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sql = "SELECT id, email, status, score, lifetime_value, updated_at FROM contacts"
    out = tmp_path / "all.parquet"
    run = run_main(
        ["query", "--explain", "--max-inline-bytes", "1024", "--format", "parquet", "-o", str(out), sql], capsys
    )
    assert run.code == 0, run.err
    assert "spilled to S3" in run.out
    assert _rows(_read(out), False) == _rows(expected(sql, selects), False)


def _explain(sql: str, capsys: pytest.CaptureFixture[str]) -> Run:
    run = run_main(["query", "--explain", sql], capsys)
    assert run.code == 0, run.err
    return run


def test_explain_shows_a_pushed_filter(cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    run = _explain("SELECT id FROM contacts WHERE status = 'customer' AND score >= 50", capsys)
    assert "pushed filter:  status = 'customer'  [SortedRangeSet]" in run.out
    assert "pushed filter:  score in [50.0, +inf)" in run.out
    assert "API parameters: status=customer" in run.out
    for call in ("Ping", "GetDataSourceCapabilities", "GetTable ", "GetTableLayout", "GetSplits", "ReadRecords"):
        assert call in run.out


def test_explain_shows_no_filter_for_a_predicate_it_cannot_push(
    cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    run = _explain("SELECT id FROM contacts WHERE lower(status) = 'customer'", capsys)
    assert "pushed filter:  none" in run.out
    assert "kept by engine: LOWER(status) = 'customer'" in run.out
    assert "API parameters: none" in run.out


def test_explain_shows_a_pushed_limit(cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    run = _explain("SELECT id FROM accounts WHERE industry = 'Retail' LIMIT 3", capsys)
    assert "pushed limit:   3" in run.out
    run = _explain("SELECT id FROM accounts WHERE lower(industry) = 'retail' LIMIT 3", capsys)
    assert "LIMIT kept: part of the WHERE clause stays with the engine" in run.out


def test_csv_and_json_output(cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    run = run_main(["query", "--format", "csv", "SELECT id, status FROM contacts WHERE id <= 3 ORDER BY id"], capsys)
    assert run.code == 0, run.err
    lines = run.out.strip().splitlines()
    assert lines[0] == "id,status" and [line.split(",")[0] for line in lines[1:]] == ["1", "2", "3"]
    run = run_main(["query", "--format", "json", "SELECT id, birthday FROM contacts WHERE id = 1"], capsys)
    assert run.code == 0, run.err
    import json

    rows = json.loads(run.out)
    assert rows[0]["id"] == 1 and isinstance(rows[0]["birthday"], str | None)


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELEC id FROM contacts", "error: cannot parse the query"),
        ("SELECT * FROM tickets", "error: table 'demo_crm.tickets' not found"),
        ("SELECT nope FROM contacts", "error: unknown column 'nope' (line 1, column 8)"),
        ("DELETE FROM contacts", "error: only queries (SELECT ...) can run here"),
    ],
)
def test_user_mistakes_are_one_clear_line(
    sql: str, message: str, cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    run = run_main(["query", sql], capsys)
    assert run.code == 1
    assert message in run.err
    assert "Traceback" not in run.err + run.out


def test_mistakes_in_a_subprocess_exit_non_zero_without_a_traceback(cli_env: dict[str, str], tmp_path: Path) -> None:
    run = run_subprocess(["query", "SELECT * FROM nowhere"], cli_env, tmp_path)
    assert run.code == 1 and "error: table 'demo_crm.nowhere' not found" in run.err
    assert "Traceback" not in run.err


def test_local_spill_from_a_subprocess_without_a_configured_bucket(
    cli_env: dict[str, str], selects: dict[str, str], tmp_path: Path
) -> None:
    """As a user runs it: no ``spill_bucket`` and no AWS endpoint set, a small inline limit forces spill, and the
    command spills to its own local S3 and reads every row back."""
    sql = "SELECT id, email, status, score, updated_at FROM contacts"
    out = tmp_path / "all.parquet"
    args = ["query", "--max-inline-bytes", "1024", "--format", "parquet", "-o", str(out), sql]
    run = run_subprocess(args, cli_env, tmp_path, unset=("spill_bucket", "AWS_ENDPOINT_URL"))
    assert run.code == 0, run.err
    assert "Traceback" not in run.err
    assert _rows(_read(out), False) == _rows(expected(sql, selects), False)


def test_each_parallel_split_logs_its_own_label(cli_env: dict[str, str], tmp_path: Path) -> None:
    """``query -v`` with 8 workers: every "split read" line names the split that thread read (log keys are per
    thread), so the labels are all different and there is one per ReadRecords call."""
    import json

    with DemoServer(port=0, rows={"accounts": 20, "contacts": 3000, "deals": 20}, latency_ms=40) as slow:
        env = {**cli_env, "SAAS_BASE_URL": slow.base_url, "POWERTOOLS_LOG_LEVEL": "INFO"}
        run = run_subprocess(["query", "-v", "--workers", "8", "SELECT count(*) FROM contacts"], env, tmp_path)
    assert run.code == 0, run.err
    lines = [json.loads(line) for line in (run.out + run.err).splitlines() if line.startswith("{")]
    reads = [line for line in lines if line.get("message") == "split read"]
    calls = [
        line for line in lines if line.get("message") == "done" and line.get("request_type") == "ReadRecordsRequest"
    ]
    assert len(reads) >= 4 and len(reads) == len(calls)
    labels = [line["split"] for line in reads]
    assert len(set(labels)) == len(labels), labels
    assert sum(line["rows"] for line in reads) == 3000


@pytest.mark.parametrize(
    ("sql", "first_line", "caret"),
    [
        ("SELECT * FROM contacts WHERE id = 1 *", "'*' needs a value on its right (line 1, column 37)", 37),
        ("SELEC id FROM contacts", "unexpected 'FROM' (line 1, column 10)", 10),
        ("SELECT id FROM contacts\nWHERE", "WHERE needs a condition after it (line 2, column 1)", 1),
        ("SELECT id FROM contacts WHERE status = 'x", "a quote is never closed (line 1, column 40)", 40),
        ("SELECT (id FROM contacts", "expected ) before 'FROM' (line 1, column 12)", 12),
    ],
)
def test_parse_errors_say_what_is_wrong_and_where(
    sql: str, first_line: str, caret: int, cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    run = run_main(["query", sql], capsys)
    assert run.code == 1
    lines = run.err.splitlines()
    assert lines[0] == f"error: cannot parse the query: {first_line}"
    assert lines[1] == "  " + sql.splitlines()[-1 if "line 2" in first_line else 0]
    assert lines[2].index("^") == 2 + caret - 1
    assert "sqlglot" not in run.err and "<class" not in run.err


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT nope FROM contacts", "error: unknown column 'nope' (line 1, column 8)"),
        ("SELECT c.id FROM contacts c WHERE c.nope = 1", "error: c has no column 'nope' (line 1, column 35)"),
        ("SELECT id FROM contacts WHERE lowerr(status) = 'a'", "error: unknown function lowerr(); did you mean lower?"),
        ("SELECT x.id FROM contacts c", "error: unknown table or alias 'x' (the query reads: c)"),
        ("SELECT id, count(*) FROM contacts", 'error: the query failed in the engine: column "id" must appear'),
    ],
)
def test_engine_mistakes_are_reported_before_any_read(
    sql: str,
    message: str,
    cli_env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Checked against GetTable's columns by binding the query over empty tables: not one ReadRecords, not one
    API request for records, and the message is in the user's terms (no ``__scan_0``, no "Binder Error")."""
    with DemoServer(port=0, rows={"accounts": 5, "contacts": 50, "deals": 5}) as fresh:
        monkeypatch.setenv("SAAS_BASE_URL", fresh.base_url)
        run = run_main(["query", sql], capsys)
        requests = fresh.app.stats.snapshot()["requests_total"]
    assert run.code == 1
    assert run.err.startswith(message), run.err
    assert "__scan" not in run.err and "Binder Error" not in run.err
    assert requests == 0
    if "unknown column" in message:
        assert "hint: columns of contacts: id, account_id," in run.err


def test_explain_separates_wall_time_from_summed_time_and_shows_sql_literals(
    cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    run = _explain(
        "SELECT id FROM contacts WHERE updated_at >= TIMESTAMP '2024-02-01 00:00:00' AND status = 'it''s'", capsys
    )
    assert "call                       count  wall time  summed over parallel calls" in run.out
    read = next(line for line in run.out.splitlines() if line.strip().startswith("ReadRecords "))
    numbers = [float(x) for x in read.replace(" s", "").split()[1:]]
    count, wall = int(numbers[0]), numbers[1]
    assert count > 1 and wall > 0
    if len(numbers) == 3:  # calls overlapped: their sum is shown apart and exceeds the wall time
        assert numbers[2] > wall
    whole = next(line for line in run.out.splitlines() if line.strip().startswith("whole query"))
    assert float(whole.split()[-2]) >= wall
    assert "pushed filter:  updated_at in [TIMESTAMP '2024-02-01 00:00:00.000', +inf)" in run.out
    assert "pushed filter:  status = 'it''s'" in run.out
    assert "datetime.datetime" not in run.out and "tzinfo" not in run.out


@pytest.mark.parametrize(
    ("where", "pushed", "duckdb_where"),
    [
        ("updated_at >= current_timestamp - INTERVAL '90' DAY", "updated_at in [TIMESTAMP '", None),
        (
            "created_at >= date_add('day', -90, TIMESTAMP '2025-06-30 00:00:00')",
            "created_at in [TIMESTAMP '2025-04-01 00:00:00.000', +inf)",
            "created_at >= TIMESTAMP '2025-04-01 00:00:00'",  # the same bound, written by hand
        ),
        ("birthday < DATE '1990-01-01' - INTERVAL '1' MONTH", "birthday in (-inf, DATE '1989-12-01')", None),
        ("employees > CAST('5' AS INTEGER) + 2", "employees in (7, +inf)", None),
    ],
)
def test_constant_expressions_fold_before_pushdown(
    where: str,
    pushed: str,
    duckdb_where: str | None,
    cli_env: dict[str, str],
    selects: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """As Athena does: the constant side is one value for the query, so the bound is pushed (not the whole table
    read); the answer is still the engine's over the full data."""
    import json

    table = "accounts" if "employees" in where else "contacts"
    sql = f"SELECT id FROM {table} WHERE {where}"
    run = _explain(sql, capsys)
    assert f"pushed filter:  {pushed}" in run.out, run.out
    assert "(folded: " in run.out
    out = run_main(["query", "--format", "json", sql], capsys)
    want = expected(f"SELECT id FROM {table} WHERE {duckdb_where or where}", selects)
    assert sorted(r["id"] for r in json.loads(out.out)) == sorted(r[0] for r in want)


def test_an_upper_bound_from_now_is_left_to_the_engine(
    cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """The engine evaluates now() after the pushdown was derived: pushing ``<= now()`` folded earlier could drop
    rows the engine keeps, so it is not folded."""
    run = _explain("SELECT id FROM contacts WHERE updated_at <= now()", capsys)
    assert "pushed filter:  none" in run.out
