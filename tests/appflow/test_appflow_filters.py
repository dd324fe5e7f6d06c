"""Filter expressions: every operator on every type, and/or/not, and the quirky and malformed ones from
the reference; each gives the right result or a clear InvalidArgument naming the field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from appflow_connector.filter_expression import FilterError, ParsedFilter, parse_filter
from appflow_connector.incremental import split_for_paging
from demo_api.server import DemoServer
from shared.predicates import Op, Predicate
from shared.records import Extractor
from shared.spec.loader import load_spec
from tests.appflow.conftest import dump
from tests.appflow.simulator import AppFlow

SPEC = load_spec("demo")
ACCOUNTS = SPEC.entity("accounts")
CONTACTS = SPEC.entity("contacts")
UTC = dt.UTC

RAW_ACCOUNTS = [
    {
        "id": 1,
        "name": "Acme Corp",
        "industry": "Retail",
        "employees": 5,
        "annual_revenue": "1234.50",
        "is_active": True,
        "founded_on": "2020-01-01",
        "rating": 3.5,
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
        "address": {"street": "1 Main St", "city": "Zürich", "country": "CH", "postal_code": "8000"},
        "tags": ["vip", "emea"],
        "metadata": {"source": "web"},
    },
    {
        "id": 2,
        "name": "O'Brien & Sons",
        "industry": "Software",
        "employees": 500,
        "annual_revenue": "99.99",
        "is_active": False,
        "founded_on": "1999-12-31",
        "rating": -1.5,
        "created_at": "2024-06-01T12:30:00Z",
        "updated_at": "2024-06-01T12:30:00.250Z",
        "address": None,
        "tags": [],
        "metadata": None,
    },
    {
        "id": 3,
        "name": "",
        "industry": None,
        "employees": None,
        "annual_revenue": None,
        "is_active": None,
        "founded_on": None,
        "rating": None,
        "created_at": "2025-01-01T00:00:00Z",
        "updated_at": "2025-01-02T00:00:00Z",
        "address": None,
        "tags": None,
        "metadata": None,
    },
]
ROWS = [Extractor(ACCOUNTS).typed_row(r) for r in RAW_ACCOUNTS]


def ids_matching(expression: str, entity: Any = ACCOUNTS, rows: list[dict[str, Any]] = ROWS) -> list[int]:
    parsed = parse_filter(expression, entity)
    return [r["id"] for r in rows if _matches(parsed, r)]


def _matches(parsed: ParsedFilter, row: dict[str, Any]) -> bool:
    return all(p.test(row.get(p.field)) for p in parsed.predicates) and parsed.matches_local(row)


def error_of(expression: str, entity: Any = ACCOUNTS) -> str:
    with pytest.raises(FilterError) as info:
        parse_filter(expression, entity)
    assert info.value.code.name == "InvalidArgument"
    return info.value.message


# -- every operator on every type ---------------------------------------------------------------------
CASES: list[tuple[str, list[int] | str]] = [
    # string
    ("name = 'Acme Corp'", [1]),
    ("name != 'Acme Corp'", [2, 3]),
    ("name < 'B'", [1, 3]),
    ("name <= 'Acme Corp'", [1, 3]),
    ("name > 'Acme Corp'", [2]),
    ("name >= 'O'", [2]),
    ("name between 'A' and 'N'", [1]),
    ("name in ('Acme Corp', 'x')", [1]),
    ("name contains 'Bri'", [2]),
    ("name = ''", [3]),
    ("name = 'O\\'Brien & Sons'", [2]),
    ("industry = null", [3]),
    ("industry != null", [1, 2]),
    # int32 (employees) and int64 (id)
    ("employees = 5", [1]),
    ("employees != 5", [2]),
    ("employees < 500", [1]),
    ("employees <= 500", [1, 2]),
    ("employees > 5", [2]),
    ("employees >= 5", [1, 2]),
    ("employees between 1 and 10", [1]),
    ("employees in (5, 500)", [1, 2]),
    ("employees > 4.5", [1, 2]),
    ("employees = 5.5", []),
    ("employees = '500'", [2]),
    ("id between 2 and 3", [2, 3]),
    ("id in (1, 3)", [1, 3]),
    ("id != 2", [1, 3]),
    ("employees contains 5", "does not support CONTAINS"),
    # number
    ("rating = 3.5", [1]),
    ("rating > -2", [1, 2]),
    ("rating < 0", [2]),
    ("rating between -1.5 and 3.5", [1, 2]),
    ("rating != 3.5", [2]),
    ("rating >= 3.5", [1]),
    ("rating <= -1.5", [2]),
    ("rating in (3.5)", [1]),
    ("rating = 'abc'", "needs a number"),
    # decimal
    ("annual_revenue = 1234.50", [1]),
    ("annual_revenue = 1234.5", [1]),
    ("annual_revenue > 100", [1]),
    ("annual_revenue < 100.001", [2]),
    ("annual_revenue between 99.99 and 1234.50", [1, 2]),
    ("annual_revenue != 99.99", [1]),
    ("annual_revenue >= 99.99", [1, 2]),
    ("annual_revenue <= 99.99", [2]),
    ("annual_revenue in (99.99, 7)", [2]),
    # boolean
    ("is_active = true", [1]),
    ("is_active = False", [2]),
    ("is_active != TRUE", [2]),
    ("is_active", [1]),
    ("is_active = 'true'", [1]),
    ("not is_active", [2]),
    ("is_active < 'x'", "has no order"),
    ("is_active between 'a' and 'b'", "has no order"),
    ("is_active = 1", "true or false"),
    # date
    ("founded_on = 2020-01-01", [1]),
    ("founded_on != 2020-01-01", [2]),
    ("founded_on < 2020-01-01", [2]),
    ("founded_on <= 2020-01-01", [1, 2]),
    ("founded_on > 1999-12-31", [1]),
    ("founded_on >= 1999-12-31", [1, 2]),
    ("founded_on between 1999-01-01 and 2019-12-31", [2]),
    ("founded_on in (1999-12-31)", [2]),
    ("founded_on = '2020-01-01'", [1]),
    ("founded_on = 2020-01-01T00:00:00Z", [1]),
    ("founded_on = 2020-01-01T10:00:00Z", "use a date literal"),
    ("founded_on > 5", "needs a date"),
    # timestamp
    ("updated_at = 2024-01-01T00:00:00Z", [1]),
    ("updated_at != 2024-01-01T00:00:00Z", [2, 3]),
    ("updated_at > 2024-06-01T12:30:00Z", [2, 3]),
    ("updated_at > 2024-06-01T12:30:00.250Z", [3]),
    ("updated_at >= 2024-06-01T12:30:00.25Z", [2, 3]),
    ("updated_at < 2024-06-01", [1]),
    ("updated_at <= 2024-01-01T00:00:00.000Z", [1]),
    ("updated_at = 1704067200000", [1]),
    ("updated_at in (2024-01-01T00:00:00Z, 2025-01-02T00:00:00Z)", [1, 3]),
    ("updated_at < 2024-01-01T24:00:00Z", [1]),
    ("updated_at = 'yesterday'", "ISO-8601"),
    ("created_at between 2024-01-01 and 2024-06-01T12:30:00Z", [1, 2]),
    # json (text)
    ("metadata contains 'web'", [1]),
    ('metadata = \'{"source":"web"}\'', [1]),
    ("metadata > 'a'", "has no order"),
    ("metadata = 5", "quoted string"),
    # list<string>
    ("tags contains 'vip'", [1]),
    ("tags contains 'nope'", []),
    ("tags = 'vip'", "only CONTAINS"),
    ("tags in ('vip')", "only CONTAINS"),
    # object
    ("address = 'x'", "only CONTAINS"),
    ("address contains 'Zürich'", "does not support CONTAINS"),
    ("city contains 'ür'", [1]),
    # null comparisons
    ("employees > null", "null can only be compared"),
    ("employees in (5, null)", "cannot contain null"),
    ("employees between null and 5", "two non-null"),
]


@pytest.mark.parametrize(("expression", "expected"), CASES, ids=[c[0] for c in CASES])
def test_operator_on_type(expression: str, expected: list[int] | str) -> None:
    if isinstance(expected, str):
        message = error_of(expression)
        assert expected in message
        assert message.startswith("filterExpression: field '")
    else:
        assert ids_matching(expression) == expected


# -- combinations ---------------------------------------------------------------------------------------
COMBINATIONS: list[tuple[str, list[int]]] = [
    ("employees > 1 and rating > 0", [1]),
    ("employees > 1 AND rating > 0 and is_active = true", [1]),
    ("employees = 5 or employees = 500", [1, 2]),
    ("employees = 5 OR name = ''", [1, 3]),
    ("not (employees = 5)", [2]),  # null employees: NOT unknown is unknown
    ("NOT employees = 5 or id = 3", [2, 3]),
    ("(employees = 5 or rating < 0) and is_active = false", [2]),
    ("employees = 5 or rating < 0 and is_active = false", [1, 2]),  # AND binds tighter than OR
    ("not (industry = null)", [1, 2]),
    ("not (employees > 1000 or industry = 'Retail')", [2]),
    ("((id = 1))", [1]),
    ("id > 0 limit 10", [1, 2, 3]),
]


@pytest.mark.parametrize(("expression", "expected"), COMBINATIONS, ids=[c[0] for c in COMBINATIONS])
def test_combinations(expression: str, expected: list[int]) -> None:
    assert ids_matching(expression) == expected


def test_top_level_and_is_pushable_but_or_not_contains_stay_local() -> None:
    parsed = parse_filter("id >= 2 and (industry = 'Retail' or rating > 1) and name contains 'x' limit 20", ACCOUNTS)
    assert parsed.predicates == [Predicate("id", Op.GE, 2)]
    assert len(parsed.local) == 2
    assert parsed.limit == 20
    fractional = parse_filter("employees > 4.5", ACCOUNTS)
    assert fractional.predicates == [] and len(fractional.local) == 1  # cannot be sent as an integer
    assert parse_filter("   ", ACCOUNTS) == ParsedFilter()
    assert parse_filter(None, ACCOUNTS) == ParsedFilter()


def test_limit_alone() -> None:
    parsed = parse_filter("limit 25", ACCOUNTS)
    assert parsed.limit == 25 and not parsed.predicates and not parsed.local


# -- quirky and malformed (reference section 4 and 11) ----------------------------------------------------
MALFORMED: list[tuple[str, str]] = [
    ("_id = 1", "syntax error"),  # the SDK's parse() would silently read this as id = 1
    ("id = 1 ;", "syntax error"),
    ("id = 1 And name = 'x'", "upper or all lower case"),
    ("name = NULL", "syntax error"),
    ("name LIKE 'x'", "syntax error"),
    ("is_active > true", "syntax error"),
    ("updated_at > 2024-01-01T00:00:00+01:00", "end in Z"),
    ("updated_at > 2024-01-01T00:00:00", "end in Z"),
    ("limit 5", "two digits"),
    ("id = 1 limit 5", "two digits"),
    ("employees >", "syntax error"),
    ("(employees = 5", "syntax error"),
    ("employees = 5)", "syntax error"),
    ("= 5", "syntax error"),
    ("'x'", "is a value, not a condition"),
    ("5", "is a value, not a condition"),
    ("name", "only for boolean fields"),
    ("nope = 1", "has no field 'nope'"),
    ("id in ()", "syntax error"),
    ("updated_at = 2024-13-01T00:00:00Z", "syntax error"),
    ("founded_on = 2024-02-30", "not a valid date"),
    ("updated_at < 2024-01-01T24:30:00Z", "hour 24"),
]


@pytest.mark.parametrize(("expression", "needle"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed(expression: str, needle: str) -> None:
    message = error_of(expression)
    assert needle in message, message
    assert message.startswith("filterExpression:")


def test_single_digit_values_and_sdk_epoch_millis() -> None:
    assert ids_matching("employees = 5") == [1]
    assert ids_matching("created_at between 1704067200000 and 1704067200001") == [1]


def test_vector_expression() -> None:
    parsed = parse_filter(
        "amount > 10 and updated_at between 2024-01-08T00:00:00.000Z and 2024-01-12T00:00:00.000Z",
        SPEC.entity("deals"),
    )
    low, high = dt.datetime(2024, 1, 8, tzinfo=UTC), dt.datetime(2024, 1, 12, tzinfo=UTC)
    assert parsed.predicates == [
        Predicate("amount", Op.GT, Decimal(10)),
        Predicate("updated_at", Op.BETWEEN, (low, high)),
    ]


# -- incremental windows -----------------------------------------------------------------------------------
T0, T1 = dt.datetime(2024, 1, 1, tzinfo=UTC), dt.datetime(2024, 2, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("updated_at between 2024-01-01 and 2024-02-01", [Predicate("updated_at", Op.BETWEEN, (T0, T1))]),
        (
            "updated_at > 2024-01-01 and updated_at < 2024-02-01",
            [Predicate("updated_at", Op.GT, T0), Predicate("updated_at", Op.LT, T1)],
        ),
        (
            "updated_at >= 2024-01-01 and updated_at <= 2024-02-01",
            [Predicate("updated_at", Op.GE, T0), Predicate("updated_at", Op.LE, T1)],
        ),
    ],
)
def test_windows_on_the_incremental_field_keep_their_sql_meaning(text: str, expected: list[Predicate]) -> None:
    """No rewrite to a half-open window: BETWEEN stays inclusive, comparisons stay as written (issue 17, 10)."""
    assert parse_filter(text, CONTACTS).predicates == expected
    planned, local = split_for_paging(SPEC, CONTACTS, expected)  # the lower bound planned, the upper one local
    assert sorted(map(str, planned + local)) == sorted(map(str, [p for e in expected for p in _halves(e)])) and all(
        p.op in (Op.GE, Op.GT) for p in planned
    )


def _halves(p: Predicate) -> list[Predicate]:
    if p.op is Op.BETWEEN:
        return [Predicate(p.field, Op.GE, p.value[0]), Predicate(p.field, Op.LE, p.value[1])]
    return [p]


@pytest.mark.parametrize("entity", [CONTACTS, ACCOUNTS], ids=["cursor", "offset"])
def test_the_upper_bound_on_the_incremental_field_stays_local_whatever_the_paging(entity: Any) -> None:
    """Every paginator resumes a page stopped mid-way by position, so records changed during a run must not
    leave the API's set: only the lower bound is sent."""
    window = [Predicate("updated_at", Op.GE, T0), Predicate("updated_at", Op.LT, T1)]
    planned, local = split_for_paging(SPEC, entity, window)
    assert planned == window[:1] and local == window[1:]
    planned, local = split_for_paging(SPEC, entity, [Predicate("updated_at", Op.BETWEEN, (T0, T1))])
    assert planned == [Predicate("updated_at", Op.GE, T0)] and local == [Predicate("updated_at", Op.LE, T1)]


# -- end to end: pushed and local parts together give exactly the source's answer ---------------------------
def _raw_accounts_expected(rows: list[dict[str, Any]], test: Callable[[dict[str, Any]], bool]) -> list[int]:
    return sorted(r["id"] for r in rows if test(r))


E2E: list[tuple[str, str, Callable[[dict[str, Any]], bool]]] = [
    ("accounts", "id >= 10 and id <= 40", lambda r: 10 <= r["id"] <= 40),
    ("accounts", "id > 10 and id < 40", lambda r: 10 < r["id"] < 40),
    (
        "accounts",
        "industry = 'Retail' or employees < 50",
        lambda r: r["industry"] == "Retail" or (r["employees"] or 10**9) < 50,
    ),
    (
        "accounts",
        "industry in ('Retail', 'Technology') and not is_active",
        lambda r: r["industry"] in ("Retail", "Technology") and r["is_active"] is False,
    ),
    (
        "accounts",
        "updated_at >= 2024-01-01T00:00:00Z and name contains 'a'",
        lambda r: r["updated_at"] >= "2024-01-01T00:00:00Z" and "a" in r["name"],
    ),
    (
        "contacts",
        "status = 'customer' and created_at > 2024-06-01T00:00:00Z",
        lambda r: r["status"] == "customer" and r["created_at"] > "2024-06-01T00:00:00Z",
    ),
    (
        "contacts",
        "status in ('lead', 'churned') and score >= 50",
        lambda r: r["status"] in ("lead", "churned") and r["score"] >= 50,
    ),
    ("contacts", "tags contains 'vip' or opt_in = false", lambda r: "vip" in (r["tags"] or []) or r["opt_in"] is False),
    (
        "deals",
        "stage = 'closed_won' and amount >= 50000",
        lambda r: r["stage"] == "closed_won" and float(r["amount"]) >= 50000,
    ),
    (
        "deals",
        "close_date between 2024-01-01 and 2024-06-30",
        lambda r: r["close_date"] is not None and "2024-01-01" <= r["close_date"] <= "2024-06-30",
    ),
    ("activities", "contact_id = 7", lambda r: r["contact_id"] == 7),
    (
        "activities",
        "contact_id in (3, 4) and type = 'call'",
        lambda r: r["contact_id"] in (3, 4) and r["type"] == "call",
    ),
    ("accounts", "id > 0 limit 15", lambda r: r["id"] <= 15),
]


@pytest.mark.parametrize(("entity", "expression", "expected"), E2E, ids=[f"{e}: {x}" for e, x, _ in E2E])
def test_filters_against_the_demo_api(
    entity: str,
    expression: str,
    expected: Callable[[dict[str, Any]], bool],
    small_server: DemoServer,
    appflow_for: Callable[..., AppFlow],
) -> None:
    sim = appflow_for(small_server)
    sim.describe_entity(entity)
    run = sim.query_all(entity, max_results=4, filter_expression=expression)
    ids = run.ids()
    assert len(ids) == len(set(ids))
    assert sorted(ids) == _raw_accounts_expected(dump(small_server, entity), expected)


def test_filter_errors_come_back_as_invalid_argument(
    small_server: DemoServer, appflow_for: Callable[..., AppFlow]
) -> None:
    sim = appflow_for(small_server)
    response = sim.query_page("accounts", max_results=10, filter_expression="_id = 1")
    assert response["errorDetails"]["errorCode"] == "InvalidArgument"
    response = sim.query_page("accounts", max_results=10, filter_expression="bogus = 1")
    err = response["errorDetails"]
    assert (
        err["errorCode"] == "InvalidArgument" and "'bogus'" in err["errorMessage"] and "accounts" in err["errorMessage"]
    )
