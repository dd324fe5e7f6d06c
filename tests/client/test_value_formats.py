"""Value formats (issue 14, item 1): the text written for every type and format, the widened bounds the planner
sends, ``compare: text``, and the loader's located errors for formats that do not fit a field."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.bounds import push_bound, push_equal
from shared.errors import SpecError
from shared.predicates import Op, Predicate
from shared.pushdown import plan_query
from shared.spec import load_spec_text
from shared.value_formats import FormatError, ValueFormat, make_format

UTC = dt.UTC
T = dt.datetime(2024, 3, 5, 1, 14, 0, 500_000, tzinfo=UTC)  # 01:14:00.500
T_US = dt.datetime(2024, 3, 5, 1, 14, 0, 123_456, tzinfo=UTC)
T0 = dt.datetime(2024, 3, 5, 1, 14, tzinfo=UTC)
D = dt.date(2024, 3, 5)

# (kind, format, offset, value, written)
WRITTEN: list[tuple[str, Any, str | None, Any, str]] = [
    ("timestamp", "auto", None, T0, "2024-03-05T01:14:00Z"),
    ("timestamp", "auto", None, T, "2024-03-05T01:14:00.500Z"),
    ("timestamp", "auto", "+00:00", T, "2024-03-05T01:14:00.500+00:00"),
    ("timestamp", "auto", None, T_US, "2024-03-05T01:14:00.123Z"),
    ("timestamp", "iso8601", None, T0, "2024-03-05T01:14:00Z"),
    ("timestamp", "iso8601_s", None, T, "2024-03-05T01:14:00Z"),
    ("timestamp", "iso8601_s", "+00:00", T0, "2024-03-05T01:14:00+00:00"),
    ("timestamp", "iso8601_ms", None, T0, "2024-03-05T01:14:00.000Z"),
    ("timestamp", "iso8601_ms", None, T_US, "2024-03-05T01:14:00.123Z"),
    ("timestamp", "iso8601_ms", "+00:00", T, "2024-03-05T01:14:00.500+00:00"),
    ("timestamp", "iso8601_us", None, T_US, "2024-03-05T01:14:00.123456Z"),
    ("timestamp", "iso8601_us", None, T0, "2024-03-05T01:14:00.000000Z"),
    ("timestamp", "epoch_s", None, T, "1709601240"),
    ("timestamp", "epoch_ms", None, T, "1709601240500"),
    ("timestamp", "epoch_us", None, T_US, "1709601240123456"),
    ("timestamp", "epoch_s", None, dt.datetime(1969, 12, 31, 23, 59, 59, 500_000, tzinfo=UTC), "-1"),
    ("timestamp", "date", None, T, "2024-03-05"),
    ("timestamp", "%Y-%m-%d %H:%M:%S", None, T, "2024-03-05 01:14:00"),
    ("timestamp", "%Y%m%d%H%M", None, T, "202403050114"),
    ("timestamp", "%d/%m/%Y %H:%M:%S.%f", None, T_US, "05/03/2024 01:14:00.123456"),
    ("timestamp", "auto", None, D, "2024-03-05T00:00:00Z"),  # a date bound on a timestamp field: its midnight
    ("date", "auto", None, D, "2024-03-05"),
    ("date", "iso8601", None, D, "2024-03-05"),
    ("date", "date", None, D, "2024-03-05"),
    ("date", "epoch_s", None, D, "1709596800"),
    ("date", "epoch_ms", None, D, "1709596800000"),
    ("date", "epoch_us", None, D, "1709596800000000"),
    ("date", "%Y%m%d", None, D, "20240305"),
    ("date", "%d/%m/%Y", None, D, "05/03/2024"),
    ("boolean", "auto", None, True, "true"),
    ("boolean", "auto", None, False, "false"),
    ("boolean", {True: "1", False: "0"}, None, True, "1"),
    ("boolean", {True: 1, False: 0}, None, False, "0"),
    ("boolean", {"true": "yes", "false": "no"}, None, True, "yes"),
    ("int64", "auto", None, -42, "-42"),
    ("int64", "%d", None, 42, "42"),
    ("int64", "%08d", None, 42, "00000042"),
    ("int64", "%08d", None, -42, "-0000042"),
    ("int32", "auto", None, 7, "7"),
    ("decimal", "auto", None, Decimal("12.50"), "12.50"),
    ("decimal", "auto", None, Decimal("1E+3"), "1000"),
    ("decimal", "%.1f", None, Decimal("12.35"), "12.3"),
    ("decimal", "%.1f", None, Decimal("-12.35"), "-12.4"),  # the floor: the grid value at or below
    ("decimal", "%010.2f", None, Decimal("12.5"), "0000012.50"),
    ("decimal", "%d", None, Decimal("12.99"), "12"),
    ("number", "auto", None, 1.5, "1.5"),
    ("number", "auto", None, 1e20, "100000000000000000000"),
    ("number", "auto", None, 1e-5, "0.00001"),
    ("number", "%.2f", None, 0.1, "0.10"),
    ("number", "%.2f", None, 2.675, "2.67"),
    ("number", "%08.3f", None, 3.14159, "0003.141"),
    ("string", "auto", None, "a b", "a b"),
    ("string", "raw", None, "x", "x"),
]


@pytest.mark.parametrize(("kind", "declared", "offset", "value", "written"), WRITTEN, ids=str)
def test_every_type_and_format_writes_this_text(
    kind: str, declared: Any, offset: str | None, value: Any, written: str
) -> None:
    fmt = make_format(kind, declared, offset=offset, scale=2 if kind == "decimal" else None)
    assert fmt.write(value) == written


GRID = [  # (format, value, floor text, ceil text, lossless)
    (make_format("timestamp", "iso8601_s"), T, "2024-03-05T01:14:00Z", "2024-03-05T01:14:01Z", False),
    (make_format("timestamp", "iso8601_s"), T0, "2024-03-05T01:14:00Z", "2024-03-05T01:14:00Z", True),
    (make_format("timestamp", "iso8601_ms"), T_US, "2024-03-05T01:14:00.123Z", "2024-03-05T01:14:00.124Z", False),
    (make_format("timestamp", "date"), T, "2024-03-05", "2024-03-06", False),
    (make_format("timestamp", "epoch_ms"), T, "1709601240500", "1709601240500", True),
    (make_format("timestamp", "%Y%m%d%H%M"), T, "202403050114", "202403050115", False),
    (make_format("decimal", "%.1f", scale=2), Decimal("12.35"), "12.3", "12.4", False),
    (make_format("number", "%.2f"), -0.001, "-0.01", "0.00", False),
    (make_format("int64", "%06d"), 5, "000005", "000005", True),
]


@pytest.mark.parametrize(("fmt", "value", "low", "high", "lossless"), GRID, ids=lambda v: str(v)[:30])
def test_floor_and_ceil_are_the_grid_values_around_a_value(
    fmt: ValueFormat, value: Any, low: str, high: str, lossless: bool
) -> None:
    assert fmt.write(fmt.floor(value)) == low
    assert fmt.write(fmt.ceil(value)) == high
    assert fmt.lossless(value) is lossless


ORDERED = [
    ("timestamp", "iso8601_s", T, True),
    ("timestamp", "iso8601_ms", T, True),
    ("timestamp", "iso8601_us", T, True),
    ("timestamp", "date", T, True),
    ("timestamp", "%Y-%m-%d %H:%M:%S", T, True),
    ("timestamp", "auto", T, False),  # ...:00Z sorts after ...:00.500Z
    ("timestamp", "epoch_s", T, False),  # 999999999 sorts after 1000000000
    ("timestamp", "%d/%m/%Y %H:%M", T, False),
    ("timestamp", "iso8601_s", dt.datetime(999, 1, 1, tzinfo=UTC), True),  # isoformat pads the year: 0999
    ("timestamp", "%Y-%m-%d %H:%M:%S", dt.datetime(999, 1, 1, tzinfo=UTC), False),  # strftime does not: 999
    ("date", "auto", D, True),
    ("date", "%Y%m%d", D, True),
    ("date", "epoch_s", D, False),
    ("int64", "auto", 5, False),
    ("int64", "%06d", 5, True),
    ("int64", "%06d", -5, False),
    ("int64", "%06d", 10**7, False),  # wider than the pattern
    ("decimal", "%08.2f", Decimal("12.5"), True),
    ("decimal", "%.2f", Decimal("12.5"), False),
    ("number", "%08.2f", -1.0, False),
]


@pytest.mark.parametrize(("kind", "declared", "value", "ordered"), ORDERED, ids=lambda v: str(v)[:30])
def test_only_fixed_width_big_endian_texts_order_like_their_values(
    kind: str, declared: str, value: Any, ordered: bool
) -> None:
    assert make_format(kind, declared, compare="text", scale=2).orders_as_text(value) is ordered


# -- the planner: widened bounds, exactness, compare: text -------------------------------------------------
SPEC = """
version: 1
api:
  name: acme
  base_url: https://api.acme.example
  formats: {boolean: {true: "1", false: "0"}}
entities:
  - name: tickets
    path: /tickets
    fields:
      id: int64
      at: timestamp
      closed: boolean
      amount: "decimal(10,2)"
    filters:
      at: {ge: {param: since, format: iso8601_s}, le: {param: until, format: iso8601_s}, eq: {param: at, format: iso8601_s}}
      closed: {eq: {param: closed}}
      amount: {gt: {param: amount_gt, format: "%.1f"}, lt: {param: amount_lt, format: "%.1f"}}
  - name: texts
    path: /texts
    fields:
      at: timestamp
      varying: timestamp
      n: int64
    filters:
      at: {ge: {param: since, format: iso8601_ms, compare: text}, lt: {param: before, format: iso8601_ms, compare: text}}
      varying: {ge: {param: v_since, compare: text}, le: {param: v_until, compare: text}}
      n: {ge: {param: n_min, format: "%06d", compare: text}}
"""


def plan(entity: str, *predicates: Predicate) -> tuple[dict[str, str], tuple[Predicate, ...]]:
    p = plan_query(load_spec_text(SPEC).entity(entity), list(predicates))
    return dict(p.params), p.residual


def P(field: str, op: str, value: Any) -> Predicate:
    return Predicate(field, Op(op), value)


def test_a_millisecond_upper_bound_is_rounded_up_to_the_next_second_and_kept_local() -> None:
    params, residual = plan("tickets", P("at", "le", T))
    assert params == {"until": "2024-03-05T01:14:01Z"}
    assert residual == (P("at", "le", T),)


def test_a_millisecond_lower_bound_is_rounded_down() -> None:
    params, residual = plan("tickets", P("at", "gt", T))
    assert params == {"since": "2024-03-05T01:14:00Z"}
    assert residual == (P("at", "gt", T),)


def test_a_bound_on_the_grid_is_sent_as_it_is_and_exact_where_both_readings_agree() -> None:
    assert plan("tickets", P("at", "ge", T0)) == ({"since": "2024-03-05T01:14:00Z"}, ())
    params, residual = plan("tickets", P("at", "le", T0))  # "until 01:14:00" may mean the whole second
    assert params == {"until": "2024-03-05T01:14:00Z"} and residual == (P("at", "le", T0),)


def test_equality_on_a_value_the_format_cannot_write_becomes_a_range() -> None:
    params, residual = plan("tickets", P("at", "eq", T))
    assert params == {"since": "2024-03-05T01:14:00Z", "until": "2024-03-05T01:14:01Z"}
    assert residual == (P("at", "eq", T),)
    params, _ = plan("tickets", P("at", "eq", T0))
    assert params == {"at": "2024-03-05T01:14:00Z"}


def test_decimal_bounds_widen_to_the_declared_places() -> None:
    params, residual = plan("tickets", P("amount", "ge", Decimal("12.35")), P("amount", "le", Decimal("12.35")))
    assert params == {"amount_gt": "12.2", "amount_lt": "12.4"}
    assert len(residual) == 2


def test_booleans_use_the_type_default_literals() -> None:
    assert plan("tickets", P("closed", "eq", True)) == ({"closed": "1"}, ())
    assert plan("tickets", P("closed", "eq", False)) == ({"closed": "0"}, ())


def test_compare_text_pushes_fixed_width_bounds_and_keeps_the_others_local() -> None:
    params, residual = plan("texts", P("at", "ge", T), P("at", "lt", T0))
    assert params == {"since": "2024-03-05T01:14:00.500Z", "before": "2024-03-05T01:14:00.000Z"}
    assert residual == ()
    params, residual = plan("texts", P("varying", "le", T), P("varying", "ge", T0))
    assert params == {} and len(residual) == 2  # auto writes ...:00Z and ...:00.500Z: not text-ordered
    assert plan("texts", P("n", "ge", 5)) == ({"n_min": "000005"}, ())
    assert plan("texts", P("n", "ge", -5)) == ({}, (P("n", "ge", -5),))  # '-' sorts before the digits


# -- the safety property, without HTTP: every matching value passes the pushed form ------------------------
FORMATS = [
    make_format("timestamp", f)
    for f in ("auto", "iso8601_s", "iso8601_ms", "iso8601_us", "epoch_s", "epoch_ms", "date", "%Y%m%d%H%M")
]
OPS = {Op.GE: lambda a, b: a >= b, Op.GT: lambda a, b: a > b, Op.LE: lambda a, b: a <= b, Op.LT: lambda a, b: a < b}
instants = st.datetimes(dt.datetime(1960, 1, 1), dt.datetime(2100, 1, 1), timezones=st.just(UTC))


@settings(max_examples=400, deadline=None)
@given(
    fmt=st.sampled_from(FORMATS),
    value=instants,
    x=instants,
    near=st.integers(-2_000_000, 2_000_000),
    op=st.sampled_from(list(OPS)),
    declared=st.sampled_from([(Op.GE,), (Op.GT,), (Op.LE,), (Op.LT,)]),
)
def test_a_pushed_bound_keeps_every_matching_instant_under_either_reading(
    fmt: ValueFormat, value: dt.datetime, x: dt.datetime, near: int, op: Op, declared: tuple[Op, ...]
) -> None:
    """The API reads the text as the instant it stands for, or compares whole units (floor of its values)."""
    x = value + dt.timedelta(microseconds=near) if near % 3 else x
    lower = op in (Op.GE, Op.GT)
    push = push_bound(fmt, value, lower=lower, strict=op in (Op.GT, Op.LT), declared=declared)
    if push is None or not OPS[op](x, value):
        return
    assert fmt.lossless(push.value)
    assert OPS[push.op](x, push.value), f"{fmt.style}: {x} {op} {value} sent as {push.op} {fmt.write(push.value)}"
    assert OPS[push.op](fmt.floor(x), push.value), "lost under the whole-unit reading"
    if push.exact:
        assert all(OPS[push.op](y, push.value) == OPS[op](y, value) for y in (x, fmt.floor(x), fmt.ceil(x)))


def test_not_equal_is_never_sent_in_a_coarse_format() -> None:
    fmt = make_format("timestamp", "iso8601_s")
    assert push_equal(fmt, [T0], Op.NE) == (False, False)
    assert push_equal(fmt, [T0], Op.EQ) == (True, False)
    assert push_equal(make_format("timestamp", "iso8601_us"), [T0], Op.NE) == (True, True)


# -- the loader: located errors for formats that do not fit the field ------------------------------------
BAD = """
version: 1
api:
  name: acme
  base_url: https://api.acme.example
  formats: {{timestamp: {api_ts}}}
entities:
  - name: tickets
    path: /tickets
    fields: {{closed: boolean, at: timestamp, day: date, n: int64, s: string}}
    filters:
      {field}: {{eq: {{param: p, {keys}}}}}
"""


@pytest.mark.parametrize(
    ("field", "keys", "where", "message"),
    [
        ("closed", "format: epoch_s", "filters.closed.eq.format", "format 'epoch_s' does not apply to a boolean"),
        ("closed", "format: {true: yes, false: no}", "filters.closed.eq.format", "quote it"),
        ("closed", "format: {true: '1', false: '1'}", "filters.closed.eq.format", "written differently"),
        ("at", "format: {true: '1', false: '0'}", "filters.at.eq.format", "for boolean fields, not timestamp"),
        ("at", "format: '%y-%m-%d'", "filters.at.eq.format", "does not identify a timestamp"),
        ("at", "format: iso8601_ns", "filters.at.eq.format", "format 'iso8601_ns' does not apply"),
        ("at", "format: epoch_s, offset: '+00:00'", "filters.at.eq.format", "'offset' applies to an ISO 8601"),
        ("at", "offset: '+01:00'", "filters.at.eq.offset", "must be 'Z' or '+00:00'"),
        ("at", "compare: bytes", "filters.at.eq.compare", "must be 'value' or 'text'"),
        ("day", "format: iso8601_ms", "filters.day.eq.format", "does not apply to a date field"),
        ("n", "format: '%.2f'", "filters.n.eq.format", "'%d' or '%010d'"),
        ("s", "format: epoch_ms", "filters.s.eq.format", "does not apply to a string field"),
    ],
)
def test_a_format_that_does_not_fit_the_field_is_reported_where_it_is_declared(
    field: str, keys: str, where: str, message: str
) -> None:
    with pytest.raises(SpecError) as err:
        load_spec_text(BAD.format(api_ts="auto", field=field, keys=keys))
    (problem,) = err.value.problems
    assert where in str(problem) and message in str(problem), str(problem)
    assert "line 12" in str(problem)


def test_a_bad_type_default_is_reported_under_api_formats() -> None:
    with pytest.raises(SpecError) as err:
        load_spec_text(BAD.format(api_ts="yes_please", field="s", keys="exact: true"))
    (problem,) = err.value.problems
    assert "api.formats.timestamp" in str(problem) and "yes_please" in str(problem)


def test_cli_lint_rejects_epoch_s_on_a_boolean(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(BAD.format(api_ts="auto", field="closed", keys="format: epoch_s"))
    run = subprocess.run(
        [sys.executable, "-m", "saas_cli.main", "spec", "lint", str(spec)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    out = run.stdout + run.stderr
    assert "filters.closed.eq.format" in out and "does not apply to a boolean field" in out


def test_make_format_names_the_problem() -> None:
    with pytest.raises(FormatError, match="true and false"):
        make_format("boolean", {True: "1"})
    assert make_format("timestamp", "iso8601_ms", compare="text").compare == "text"


def test_the_shipped_json_schema_accepts_the_format_keys() -> None:
    """Editors validate the JSON form of the YAML (``true:`` keys become the strings "true")."""
    import json
    from importlib import resources

    import jsonschema
    import yaml

    schema = json.loads((resources.files("shared.specs") / "spec.schema.json").read_text())
    load_spec_text(SPEC)
    jsonschema.validate(json.loads(json.dumps(yaml.safe_load(SPEC))), schema)
    bad = yaml.safe_load(SPEC)
    bad["entities"][0]["filters"]["at"]["ge"]["compare"] = "bytes"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(json.loads(json.dumps(bad)), schema)
