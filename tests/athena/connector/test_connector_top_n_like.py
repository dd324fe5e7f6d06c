"""ORDER BY ... LIMIT (top-N) and LIKE pushdown through ``lambda_handler``, exact against the demo API's data.

Every split must return its true top N under Athena's ordering (NULLs first or last per key, text by code
point, ties at the limit: any of the tied rows, the same keys), whatever the API's order could be trusted for;
and every LIKE must select exactly the rows the pattern matches, whatever the API's search sent. The expected
answers are computed here independently (a LIKE matcher and an ordering written for the test) from the full
data (the admin dump and each split read without the ORDER BY), including contacts written with mixed-case,
NULL and wildcard-bearing names.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest
import requests
import yaml

from athena_connector.wire import (
    ArrowType,
    ConstantExpression,
    Constraints,
    FunctionCallExpression,
    OrderByField,
    SortDirection,
    VariableExpression,
)
from athena_connector.wire.constraints import _value_block
from demo_api.server import DemoServer
from tests.athena.connector.harness import SPILL_BUCKET, Connector, by_id, result_rows

NAMES = ["apple", "Apple", "APPLE", "apple pie", "Éclair", "eclair", "zebra", None, None, "Zoë", "50% off",
         "under_score", "back\\slash", "ünïcode", "O'Brien", "Apple", "aPPle"]  # fmt: skip
BOOL = ArrowType.from_pyarrow(pa.bool_())
TEXT = ArrowType.from_pyarrow(pa.string())


@pytest.fixture(scope="module")
def ordered_server() -> Iterator[DemoServer]:
    with DemoServer(port=0, rows={"accounts": 150, "contacts": 160, "deals": 10}) as srv:
        for i, name in enumerate(NAMES):
            body = {"email": f"p{i}@example.com", "last_name": name, "first_name": name and name.upper()}
            if i % 5:
                body["score"] = float(50 + i % 3)  # ties in score (the others: the default)
            response = requests.post(f"{srv.base_url}/contacts", json=body, headers={"X-API-Key": srv.api_key})
            response.raise_for_status()
        yield srv


@pytest.fixture
def oc(monkeypatch: pytest.MonkeyPatch, aws: str, ordered_server: DemoServer) -> Iterator[Connector]:
    import boto3

    from athena_connector.runtime import reset_runtime

    for key in ("spill_prefix", "disable_spill_encryption", "schema_name", "max_rows_per_split", "SAAS_SECRET_ARN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("SAAS_SPEC", "demo")
    monkeypatch.setenv("SAAS_BASE_URL", ordered_server.base_url)
    monkeypatch.setenv("SAAS_API_KEY", ordered_server.api_key)
    monkeypatch.setenv("spill_bucket", SPILL_BUCKET)
    monkeypatch.setenv("query_status_interval_seconds", "0")
    s3 = boto3.client("s3")
    if SPILL_BUCKET not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket=SPILL_BUCKET)
    reset_runtime()
    yield Connector(ordered_server, monkeypatch)
    reset_runtime()


# -- the independent answers ------------------------------------------------------------------------------


def athena_cmp(order: list[OrderByField]) -> Any:
    def cmp(a: dict[str, Any], b: dict[str, Any]) -> int:
        for o in order:
            x, y = a[o.column_name], b[o.column_name]
            if x is None or y is None:
                if x is None and y is None:
                    continue
                first = o.direction.nulls_first
                return (-1 if first else 1) if x is None else (1 if first else -1)
            if x == y:
                continue
            less = x < y
            return (-1 if less else 1) if o.direction.ascending else (1 if less else -1)
        return 0

    return functools.cmp_to_key(cmp)


def keys_of(rows: list[dict[str, Any]], order: list[OrderByField]) -> list[tuple[Any, ...]]:
    return [tuple(r[o.column_name] for o in order) for r in rows]


def like_matches(value: str | None, pattern: str, escape: str | None = None) -> bool:
    """SQL LIKE by dynamic programming over (value position, pattern token)."""
    if value is None:
        return False
    tokens: list[tuple[str, str]] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if escape is not None and ch == escape:
            tokens.append(("lit", pattern[i + 1]))
            i += 2
            continue
        tokens.append(("any", "") if ch == "%" else ("one", "") if ch == "_" else ("lit", ch))
        i += 1

    @functools.cache
    def match(v: int, t: int) -> bool:
        if t == len(tokens):
            return v == len(value)
        kind, ch = tokens[t]
        if kind == "any":
            return match(v, t + 1) or (v < len(value) and match(v + 1, t))
        if v == len(value):
            return False
        return (kind == "one" or value[v] == ch) and match(v + 1, t + 1)

    return match(0, 0)


def like(column: str, pattern: str, escape: str | None = None) -> FunctionCallExpression:
    args: list[Any] = [VariableExpression(column, TEXT), ConstantExpression(_value_block([pattern], pa.string()), TEXT)]
    if escape is not None:
        args.append(ConstantExpression(_value_block([escape], pa.string()), TEXT))
    return FunctionCallExpression(BOOL, "$like_pattern", tuple(args))


def api_requests(server: DemoServer, path: str) -> int:
    return int(server.app.stats.snapshot()["requests"].get(path, 0))


# -- top-N ----------------------------------------------------------------------------------------------

D = SortDirection
ORDERINGS = [
    ("accounts", [("employees", D.DESC_NULLS_FIRST)], 7),  # the API's order is Athena's (nulls largest)
    ("accounts", [("employees", D.ASC_NULLS_FIRST)], 7),  # NULLs where the API does not put them: heap
    ("accounts", [("rating", D.DESC_NULLS_LAST), ("name", D.ASC_NULLS_LAST)], 5),
    ("accounts", [("industry", D.ASC_NULLS_LAST), ("id", D.DESC_NULLS_LAST)], 6),  # industry: not sortable
    ("accounts", [("updated_at", D.DESC_NULLS_LAST)], 10),
    ("accounts", [("annual_revenue", D.ASC_NULLS_LAST), ("founded_on", D.DESC_NULLS_FIRST)], 3),
    ("contacts", [("last_name", D.ASC_NULLS_LAST), ("score", D.DESC_NULLS_LAST)], 6),  # first key trusted
    ("contacts", [("last_name", D.DESC_NULLS_LAST)], 4),  # mixed case, NULLs last: heap
    ("contacts", [("last_name", D.ASC_NULLS_FIRST)], 3),
    ("contacts", [("status", D.ASC_NULLS_FIRST)], 9),  # ties at the limit
    ("contacts", [("score", D.DESC_NULLS_FIRST), ("first_name", D.ASC_NULLS_LAST)], 8),
]
_rng = random.Random(16)
for _ in range(8):  # generated orderings over sortable and unsortable fields
    entity = _rng.choice(["accounts", "contacts"])
    fields = {
        "accounts": ["name", "employees", "rating", "founded_on", "created_at", "industry", "is_active", "city"],
        "contacts": ["last_name", "first_name", "score", "birthday", "status", "lifetime_value", "opt_in"],
    }[entity]
    keys = [(f, _rng.choice(list(D))) for f in _rng.sample(fields, _rng.randint(1, 3))]
    ORDERINGS.append((entity, keys, _rng.choice([1, 2, 5, 13, 40])))


@pytest.mark.parametrize(("entity", "keys", "limit"), ORDERINGS, ids=lambda v: str(v) if isinstance(v, int) else None)
def test_every_split_returns_its_true_top_n(oc: Connector, entity: str, keys: list[Any], limit: int) -> None:
    order = [OrderByField(name, direction) for name, direction in keys]
    columns = list(dict.fromkeys(["id", *[o.column_name for o in order]]))
    full = oc.table_schema(entity)
    schema = pa.schema([full.field(c) for c in columns])
    constraints = Constraints(order_by=tuple(order), limit=limit)
    splits, _ = oc.splits(entity, constraints)
    merged = []
    for split in splits:
        everything = result_rows(oc.read_split(entity, split, schema, Constraints())[0])
        got = result_rows(oc.read_split(entity, split, schema, constraints)[0])
        want = sorted(everything, key=athena_cmp(order))[:limit]
        assert keys_of(sorted(got, key=athena_cmp(order)), order) == keys_of(want, order), split.properties
        assert {r["id"] for r in got} <= {r["id"] for r in everything}
        assert len({r["id"] for r in got}) == len(got)
        merged += got
    every = result_rows(oc.query(entity, columns).table)
    top = sorted(every, key=athena_cmp(order))[:limit]
    assert keys_of(sorted(merged, key=athena_cmp(order))[:limit], order) == keys_of(top, order)


def spec_with(tmp_path: Any, change: Any) -> str:
    from importlib import resources

    data = yaml.safe_load((resources.files("shared.specs") / "demo.yaml").read_text())
    change(next(e for e in data["entities"] if e["name"] == "accounts"))
    spec = tmp_path / "changed.yaml"
    spec.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(spec)


def test_a_trusted_order_stops_after_the_limit_and_the_heap_reads_everything(oc: Connector, tmp_path: Any) -> None:
    def small_pages(accounts: dict[str, Any]) -> None:
        accounts["pagination"] = {"type": "offset", "offset_param": "offset", "limit_param": "limit",
                                  "total_path": "total", "page_size": 20}  # fmt: skip

    oc.setenv("SAAS_SPEC", spec_with(tmp_path, small_pages))
    schema = pa.schema([oc.table_schema("accounts").field(c) for c in ("id", "employees")])
    split = oc.splits("accounts")[0][0]
    path = "/api/v1/accounts"
    for direction, pages in ((D.DESC_NULLS_FIRST, 1), (D.ASC_NULLS_FIRST, None)):
        before = api_requests(oc.server, path)
        constraints = Constraints(order_by=(OrderByField("employees", direction),), limit=3)
        got = oc.read_split("accounts", split, schema, constraints)[0]
        used = api_requests(oc.server, path) - before
        assert got.num_rows == 3
        if pages is not None:
            assert used == pages  # one page of 3, sorted by the API
        else:
            assert used >= 2  # NULLs first ascending: the API's order cannot serve it; every page read


def test_an_api_that_does_not_sort_as_declared_is_caught_and_the_split_read_to_its_end(
    oc: Connector, tmp_path: Any
) -> None:
    """A spec that claims the API sorts accounts by name, but names the API's id: the rows arrive out of the
    declared order, the connector notices, reads on, and the answer is still the true top N."""
    oc.setenv("SAAS_SPEC", spec_with(tmp_path, lambda accounts: accounts["sort"].update(fields={"name": "id"})))
    order = [OrderByField("name", D.ASC_NULLS_LAST)]
    result = oc.query("accounts", ["id", "name"], Constraints(order_by=tuple(order), limit=5))
    every = result_rows(oc.query("accounts", ["id", "name"]).table)
    merged = sorted(result_rows(result.table), key=athena_cmp(order))[:5]
    assert keys_of(merged, order) == keys_of(sorted(every, key=athena_cmp(order))[:5], order)


# -- LIKE -----------------------------------------------------------------------------------------------

PATTERNS = [
    ("accounts", "name", "Acme%", None),
    ("accounts", "name", "%corp%", None),  # case matters: the API's search is case-insensitive
    ("accounts", "name", "%Ltd_", None),
    ("accounts", "name", "A%s", None),
    ("accounts", "name", "%", None),
    ("accounts", "name", "_", None),
    ("accounts", "name", "%é%", None),
    ("contacts", "last_name", "apple%", None),  # mixed case: apple, Apple, APPLE, aPPle
    ("contacts", "last_name", "Apple", None),
    ("contacts", "last_name", "%pp%", None),
    ("contacts", "last_name", "50!% off", "!"),  # an escaped wildcard
    ("contacts", "last_name", "50% off", None),  # % as a wildcard
    ("contacts", "last_name", "under\\_score", "\\"),
    ("contacts", "last_name", "back\\slash", None),  # no ESCAPE: the backslash is a plain character
    ("contacts", "last_name", "Éc%", None),  # non-ASCII: not sent to the case-insensitive prefix search
    ("contacts", "last_name", "%ü%", None),
    ("contacts", "last_name", "O'%", None),
    ("contacts", "last_name", "z%", None),
]


@pytest.mark.parametrize(("entity", "column", "pattern", "escape"), PATTERNS)
def test_like_is_exact(oc: Connector, entity: str, column: str, pattern: str, escape: str | None) -> None:
    constraints = Constraints(expression=(like(column, pattern, escape),))
    got = by_id(result_rows(oc.query(entity, ["id", column], constraints).table))
    want = [r for r in oc.dump(entity) if like_matches(r.get(column), pattern, escape)]
    assert [r["id"] for r in got] == sorted(r["id"] for r in want)
    assert all(like_matches(r[column], pattern, escape) for r in got)


def test_not_and_or_of_likes_are_exact(oc: Connector) -> None:
    expr = FunctionCallExpression(
        BOOL,
        "$and",
        (
            FunctionCallExpression(BOOL, "$or", (like("last_name", "a%"), like("last_name", "A%"))),
            FunctionCallExpression(BOOL, "$not", (like("last_name", "%e"),)),
        ),
    )
    got = sorted(r["id"] for r in result_rows(oc.query("contacts", ["id"], Constraints(expression=(expr,))).table))

    def ok(v: str | None) -> bool:
        return v is not None and (like_matches(v, "a%") or like_matches(v, "A%")) and not like_matches(v, "%e")

    assert got == sorted(r["id"] for r in oc.dump("contacts") if ok(r.get("last_name")))


def test_like_with_top_n_and_limit(oc: Connector) -> None:
    order = [OrderByField("last_name", D.DESC_NULLS_LAST), OrderByField("id", D.ASC_NULLS_LAST)]
    expr = (like("last_name", "%a%"),)
    result = oc.query("contacts", ["id", "last_name"], Constraints(expression=expr, order_by=tuple(order), limit=4))
    want = sorted((r for r in oc.dump("contacts") if like_matches(r.get("last_name"), "%a%")), key=athena_cmp(order))
    got = sorted(result_rows(result.table), key=athena_cmp(order))[:4]
    assert keys_of(got, order) == keys_of(want[:4], order)
    limited = oc.query("contacts", ["id", "last_name"], Constraints(expression=expr, limit=5)).table
    assert all(like_matches(v, "%a%") for v in limited.column("last_name").to_pylist())
    assert limited.num_rows >= 5 or limited.num_rows == len(want)


def test_the_api_search_narrows_what_is_read(oc: Connector) -> None:
    """The prefix search makes the API send only the matching accounts (one request per split)."""
    path = "/api/v1/accounts"
    before = api_requests(oc.server, path)
    oc.query("accounts", ["id"], Constraints(expression=(like("name", "Acme%"),)))
    with_search = api_requests(oc.server, path) - before
    before = api_requests(oc.server, path)
    oc.query("accounts", ["id"], Constraints(expression=(like("name", "%"),)))
    without = api_requests(oc.server, path) - before
    assert with_search <= without


def test_an_unsupported_function_is_refused_not_ignored(oc: Connector) -> None:
    from athena_connector.handler import lambda_handler  # noqa: F401 - the harness invokes it

    bad = FunctionCallExpression(BOOL, "$equal", (VariableExpression("name", TEXT), like("name", "x").arguments[1]))
    with pytest.raises(Exception, match=r"\$equal"):
        oc.query("accounts", ["id"], Constraints(expression=(bad,)))
