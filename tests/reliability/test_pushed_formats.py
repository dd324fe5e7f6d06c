"""Pushed bounds never exclude a matching record, whatever the API's format and comparison (issue 14, item 1).

A loopback API (``tests/support/format_api.py``) reads each filter in the format the spec declares and compares
as values, as values cut to the format's unit, or as the text it holds. Generated predicates on every type run
through the Athena handler (JSON ReadRecords events with constraints) and the AppFlow handler (filter
expressions); both must return exactly the records the predicate selects from the API's full data. The API's
request log shows what was pushed: bounds under ``compare: text`` only in formats whose text orders like the
value, and something pushed for every field that can take it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appflow_connector.handler import ConnectorHandler
from athena_connector.wire import Constraints, Range, SortedRangeSet, ValueSet
from athena_connector.wire.arrow_types import ArrowType
from tests.appflow.conftest import FakeSecrets
from tests.appflow.simulator import AppFlow
from tests.athena.connector.harness import SCHEMA, SPILL_BUCKET, Connector
from tests.support.format_api import (
    API_KEY,
    KINDS,
    TEXT_ORDERED,
    FilterDecl,
    FormatAPI,
    num_floor,
    serve,
    spec_text,
    ts_floor,
)

UTC = dt.UTC
YES_NO = {True: "yes", False: "no"}
ONE_ZERO = {True: "1", False: "0"}
PROFILES: dict[str, dict[str, FilterDecl]] = {
    "iso_s": {
        "at": FilterDecl("iso8601_s", ("ge", "lt")),
        "day": FilterDecl("epoch_s", ("gt", "le")),
        "closed": FilterDecl(ONE_ZERO, ("eq",)),
        "amount": FilterDecl("%.1f", ("ge", "le", "eq")),
        "score": FilterDecl("%.2f", ("gt", "lt")),
        "n": FilterDecl("auto", ("ge", "le", "in")),
    },
    "epoch_ms": {
        "at": FilterDecl("epoch_ms", ("gt", "le")),
        "day": FilterDecl("%d/%m/%Y", ("ge", "lt")),
        "closed": FilterDecl(YES_NO, ("eq", "ne")),
        "amount": FilterDecl("auto", ("gt", "lt", "in")),
        "score": FilterDecl("auto", ("ge", "le")),
        "n": FilterDecl("%06d", ("gt", "lt", "eq")),
    },
    "date": {
        "at": FilterDecl("date", ("ge", "le", "eq")),
        "day": FilterDecl("%Y%m%d", ("ge", "le", "in")),
        "closed": FilterDecl("auto", ("eq",)),
        "amount": FilterDecl("%08.2f", ("ge", "lt")),
        "score": FilterDecl("%d", ("ge", "le")),
        "n": FilterDecl("%06d", ("ge", "le")),
    },
    "strftime": {
        "at": FilterDecl("%Y-%m-%d %H:%M:%S", ("gt", "lt", "eq", "ne")),
        "day": FilterDecl("auto", ("gt", "lt", "ne")),
        "amount": FilterDecl("%d", ("gt", "le", "in")),
        "n": FilterDecl("auto", ("gt", "lt")),
    },
    "iso_ms_offset": {
        "at": FilterDecl("iso8601_ms", ("ge", "le", "in"), offset="+00:00"),
        "day": FilterDecl("%Y%m%d", ("gt", "lt")),
        "score": FilterDecl("%.2f", ("ge", "le", "eq")),
    },
    "auto": {  # the case: variable fraction digits
        "at": FilterDecl("auto", ("ge", "le", "eq")),
    },
    "minutes_epoch_s": {
        "at": FilterDecl("%Y%m%d%H%M", ("gt", "le")),
        "day": FilterDecl("epoch_s", ("ge", "lt", "eq")),
    },
    "iso_us": {
        "at": FilterDecl("iso8601_us", ("gt", "le", "eq")),
    },
}
MODES = ("value", "unit", "text")
ARROW = {"timestamp": pa.date64(), "date": pa.date32(), "boolean": pa.bool_(), "decimal(10,2)": pa.decimal128(10, 2),
         "number": pa.float64(), "int64": pa.int64()}  # fmt: skip
SETTINGS = settings(
    max_examples=12,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# -- data ----------------------------------------------------------------------------------------------
def make_records(seed: int = 14) -> list[dict[str, Any]]:
    """Values clustered around edges: several in one second, one day, one tenth; epochs of 9 and 10 digits;
    negative numbers; nulls."""
    rng = random.Random(seed)
    bases = [dt.datetime(y, m, d, h, mi, s, tzinfo=UTC) for y, m, d, h, mi, s in
             [(1995, 6, 1, 0, 0, 0), (2001, 9, 9, 1, 46, 39), (2001, 9, 9, 1, 46, 40), (2024, 3, 5, 1, 14, 0),
              (2024, 3, 5, 23, 59, 59), (2024, 3, 6, 0, 0, 0)]]  # fmt: skip
    offsets_ms = [0, 1, 499, 500, 999, 60_000]
    days = [dt.date(1965, 2, 3), dt.date(1969, 12, 31), dt.date(1970, 1, 1), dt.date(2024, 3, 5), dt.date(2024, 3, 6)]
    amounts = [Decimal(x) for x in ("-12.35", "-0.05", "0.00", "0.05", "9.99", "12.30", "12.35", "12.39", "12.40",
                                    "100.00", "1234.56")]  # fmt: skip
    scores = [-3.125, -0.001, 0.0, 0.004, 0.005, 1.5, 2.675, 2.68, 10.0, 99.999]
    numbers = [-42, -1, 0, 5, 9, 12, 100, 5000]
    records = []
    for i in range(60):
        base = bases[i % len(bases)]
        records.append(
            {
                "id": i + 1,
                "at": base + dt.timedelta(milliseconds=offsets_ms[(i // len(bases)) % len(offsets_ms)]),
                "day": rng.choice(days) + dt.timedelta(days=rng.choice([0, 0, 1])),
                "closed": rng.choice([True, False, None]) if i % 7 else None,
                "amount": rng.choice(amounts),
                "score": rng.choice(scores),
                "n": rng.choice(numbers),
            }
        )
    for r in records[::11]:
        r.update(at=None, day=None, amount=None, score=None, n=None)
    return records


def on_grid(records: list[dict[str, Any]], filters: dict[str, FilterDecl]) -> list[dict[str, Any]]:
    """What an API comparing texts holds: every value in its filter's form (its own values are that precise)."""
    out = []
    for record in records:
        r = dict(record)
        for fname, decl in filters.items():
            if r[fname] is None or not isinstance(decl.format, str):
                continue
            if KINDS[fname] == "timestamp":
                r[fname] = ts_floor(r[fname], decl.format)
            elif fname == "amount":
                r[fname] = num_floor(r[fname], decl.format)
            elif fname == "score":
                r[fname] = float(num_floor(Decimal(repr(r[fname])), decl.format))
        out.append(r)
    return out


# -- the two connectors on one API -------------------------------------------------------------------
class Rig:
    """One API (profile, mode), the spec for it, and both handlers pointed at it."""

    def __init__(self, profile: str, mode: str, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        filters = PROFILES[profile]
        records = make_records()
        self.api = FormatAPI(on_grid(records, filters) if mode == "text" else records, filters, mode)
        self.filters = filters
        self.mode = mode
        self.tmp = tmp
        self.monkeypatch = monkeypatch

    @property
    def records(self) -> list[dict[str, Any]]:
        return self.api.records

    def start(self, base: str, *, keep_spec: bool = False) -> None:
        from athena_connector.runtime import reset_runtime

        path = self.tmp / "formats.yaml"
        if not path.exists() or not keep_spec:
            path.write_text(spec_text(base, self.filters, "text" if self.mode == "text" else "value"))
        self.spec_path = path
        for key, value in {"SAAS_SPEC": str(path), "SAAS_BASE_URL": base, "SAAS_API_KEY": API_KEY,
                           "spill_bucket": SPILL_BUCKET, "schema_name": SCHEMA}.items():  # fmt: skip
            self.monkeypatch.setenv(key, value)
        self.monkeypatch.delenv("SAAS_ALLOWED_BASE_URLS", raising=False)
        reset_runtime()
        self.athena = Connector(None, self.monkeypatch)
        self.appflow = AppFlow(ConnectorHandler(FakeSecrets({AppFlow.secret_arn: {"apiKey": API_KEY}})))

    def athena_ids(self, fname: str, vs: ValueSet) -> list[int]:
        result = self.athena.query("events", ["id", fname], Constraints(summary={fname: vs}))
        ids: list[int] = result.table.column("id").to_pylist()
        assert len(ids) == len(set(ids)), "duplicated rows"
        return sorted(ids)

    def appflow_ids(self, expression: str) -> list[int]:
        run = self.appflow.query_all("events", max_results=1000, filter_expression=expression, fields=["id"])
        ids = [r["id"] for r in run.records]
        assert len(ids) == len(set(ids)), "duplicated records"
        return sorted(ids)


@pytest.fixture
def rig(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aws: str) -> Iterator[Rig]:
    import boto3

    profile, mode = request.param
    r = Rig(profile, mode, tmp_path, monkeypatch)
    s3 = boto3.client("s3")
    if SPILL_BUCKET not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket=SPILL_BUCKET)
    with serve(r.api) as base:
        r.start(base)
        yield r


# -- predicates in three forms: Python (the oracle), Athena ValueSet, AppFlow expression -----------------
def nearby(fname: str, records: list[dict[str, Any]]) -> st.SearchStrategy[Any]:
    present = [r[fname] for r in records if r[fname] is not None]
    base = st.sampled_from(present)
    kind = KINDS[fname]
    if kind == "timestamp":
        deltas = st.sampled_from([0, 1, -1, 499, -499, 500, -500, 1000, -1000, 60_000, -86_400_000])
        return st.tuples(base, deltas).map(lambda p: p[0] + dt.timedelta(milliseconds=p[1]))
    if kind == "date":
        return st.tuples(base, st.integers(-2, 2)).map(lambda p: p[0] + dt.timedelta(days=p[1]))
    if kind == "boolean":
        return st.booleans()
    if fname == "amount":
        deltas = st.sampled_from(["0", "0.01", "-0.01", "0.05", "-0.05", "0.1", "-1"])
        return st.tuples(base, deltas).map(lambda p: p[0] + Decimal(p[1]))
    if fname == "score":
        deltas = st.sampled_from([0.0, 0.001, -0.001, 0.005, -0.005, 0.5])
        return st.tuples(base, deltas).map(lambda p: round(p[0] + p[1], 6))
    return st.tuples(base, st.integers(-3, 3)).map(lambda p: p[0] + p[1])


@st.composite
def predicates(draw: st.DrawFn, filters: dict[str, FilterDecl], records: list[dict[str, Any]]) -> tuple[Any, ...]:
    fname = draw(st.sampled_from(sorted(filters)))
    values = nearby(fname, records)
    if KINDS[fname] == "boolean":
        return fname, draw(st.sampled_from(["eq", "ne"])), draw(values)
    op = draw(st.sampled_from(["ge", "gt", "le", "lt", "eq", "ne", "in", "between"]))
    if op == "in":
        return fname, op, tuple(sorted(set(draw(st.lists(values, min_size=1, max_size=3)))))
    if op == "between":
        low, high = sorted([draw(values), draw(values)])
        return fname, op, (low, high)
    return fname, op, draw(values)


def holds(op: str, value: Any, target: Any) -> bool:
    if value is None:
        return False
    if op == "in":
        return value in target
    if op == "between":
        return target[0] <= value <= target[1]
    return {"ge": value >= target, "gt": value > target, "le": value <= target, "lt": value < target,
            "eq": value == target, "ne": value != target}[op]  # fmt: skip


def value_set(kind: str, op: str, target: Any) -> ValueSet:
    data_type = ARROW[kind]
    wire = ArrowType.from_pyarrow(data_type)
    if op in ("eq", "in"):
        ranges = tuple(Range.equal(v, data_type) for v in (target if op == "in" else (target,)))
    elif op == "ne":
        ranges = (
            Range.between(data_type, None, target, high_inclusive=False),
            Range.between(data_type, target, None, low_inclusive=False),
        )
    elif op == "between":
        ranges = (Range.between(data_type, target[0], target[1]),)
    elif op in ("ge", "gt"):
        ranges = (Range.between(data_type, target, None, low_inclusive=op == "ge"),)
    else:
        ranges = (Range.between(data_type, None, target, high_inclusive=op == "le"),)
    return SortedRangeSet(wire, ranges, False)


def literal(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return repr(value)


def expression(fname: str, op: str, target: Any) -> str:
    if op == "in":
        return f"{fname} in ({', '.join(literal(v) for v in target)})"
    if op == "between":
        return f"{fname} between {literal(target[0])} and {literal(target[1])}"
    symbol = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<", "eq": "=", "ne": "!="}[op]
    return f"{fname} {symbol} {literal(target)}"


RIGS = [(p, m) for p in PROFILES for m in MODES]


@pytest.mark.parametrize("rig", RIGS, indirect=True, ids=[f"{p}-{m}" for p, m in RIGS])
def test_pushed_bounds_never_exclude_a_matching_record(rig: Rig) -> None:
    checked: list[tuple[str, str]] = []

    @SETTINGS
    @given(pred=predicates(rig.filters, rig.records))
    def run(pred: tuple[Any, ...]) -> None:
        fname, op, target = pred
        want = sorted(r["id"] for r in rig.records if holds(op, r[fname], target))
        expr = expression(fname, op, target)
        assert rig.appflow_ids(expr) == want, f"AppFlow: {expr}"
        assert rig.athena_ids(fname, value_set(KINDS[fname], op, target)) == want, f"Athena: {expr}"
        checked.append((fname, op))

    run()
    assert checked
    for fname, decl in rig.filters.items():
        sent = {k.rpartition("_")[2] for k in rig.api.pushed(fname)}
        bounds = sent & {"ge", "gt", "le", "lt"}
        text_ordered = isinstance(decl.format, str) and (
            decl.format in TEXT_ORDERED or decl.format.startswith("%0") or (fname == "day" and decl.format == "auto")
        )
        if rig.mode == "text" and not text_ordered:
            assert not bounds, f"{fname} in {decl.format!r} compared as text: bounds {bounds} must stay local"
        ranged = {op for f, op in checked if f == fname} & {"ge", "gt", "le", "lt", "between"}
        can_push = rig.mode != "text" or KINDS[fname] in ("timestamp", "date")
        if ranged and can_push and (text_ordered or rig.mode != "text"):
            assert bounds, f"{fname} in {decl.format!r}: no bound pushed for {sorted(ranged)}"


# -- booleans written as the API's literals ------------------------------------------------------------
@pytest.mark.parametrize("literals", [ONE_ZERO, YES_NO], ids=["1-0", "yes-no"])
@pytest.mark.parametrize("declared_in", ["filter", "api.formats"])
def test_boolean_pushdown_with_the_apis_literals(
    literals: dict[bool, str], declared_in: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aws: str
) -> None:
    """``WHERE closed = true`` against an API that reads only its own literals (anything else: zero rows)."""
    import boto3
    import yaml

    r = Rig("iso_s", "value", tmp_path, monkeypatch)
    r.api.filters = {**r.filters, "closed": FilterDecl(literals, ("eq", "ne"))}
    r.filters = r.api.filters
    boto3.client("s3").create_bucket(Bucket=SPILL_BUCKET)
    with serve(r.api) as base:
        r.start(base)
        if declared_in == "api.formats":  # the type's default instead of the filter's own format
            doc = yaml.safe_load(r.spec_path.read_text())
            for param in doc["entities"][0]["filters"]["closed"].values():
                del param["format"]
            doc["api"]["formats"] = {"boolean": {True: literals[True], False: literals[False]}}
            r.spec_path.write_text(yaml.safe_dump(doc))
            r.start(base, keep_spec=True)
        for value in (True, False):
            want = sorted(rec["id"] for rec in r.records if rec["closed"] is value)
            assert want
            r.api.requests.clear()
            assert r.appflow_ids(f"closed = {literal(value)}") == want
            assert r.api.requests == [{"closed_eq": [literals[value]]}]
            r.api.requests.clear()
            assert r.athena_ids("closed", value_set("boolean", "eq", value)) == want
            assert {"closed_eq": [literals[value]]} in r.api.requests
            not_want = sorted(rec["id"] for rec in r.records if rec["closed"] is (not value))
            assert r.appflow_ids(f"closed != {literal(value)}") == not_want


# -- incremental AppFlow windows with millisecond ends ------------------------------------------------
WINDOW_PROFILES = [
    ("iso8601_ms", "text"),  # pushed: fixed width, compared as text
    ("auto", "text"),  # the case: variable width, so the bounds stay local
    ("iso8601_s", "value"),  # pushed widened to whole seconds
    ("iso8601_s", "unit"),
    ("epoch_s", "value"),
]


@pytest.mark.parametrize(("fmt", "mode"), WINDOW_PROFILES)
def test_incremental_windows_with_millisecond_ends_deliver_each_record_in_its_own_run(
    fmt: str, mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aws: str
) -> None:
    """Adjacent windows ``at > lo and at <= hi`` with ends at milliseconds: every record in exactly the window
    its stamp falls in (the record at ``01:14:00Z`` in the window ending ``01:14:00.500Z``, not one run late).
    The start goes to the API in the declared format, widened (or stays local for a variable-width text); the
    end is applied locally (records changed during a run must not leave the API's set)."""
    base_t = dt.datetime(2024, 3, 5, 1, 14, tzinfo=UTC)
    stamps = [base_t + dt.timedelta(milliseconds=ms) for ms in (-1000, -1, 0, 1, 499, 500, 501, 999, 1000, 1500)]
    if mode == "text":  # an API comparing texts holds its own precision
        stamps = sorted({ts_floor(t, fmt) for t in stamps})
    r = Rig("auto", mode, tmp_path, monkeypatch)
    r.filters = {"at": FilterDecl(fmt, ("gt", "le"))}
    r.api.filters = r.filters
    r.api.records = [{**make_records()[0], "id": i + 1, "at": t} for i, t in enumerate(stamps)]
    edges = [base_t + dt.timedelta(milliseconds=ms) for ms in (-2000, -1, 0, 250, 500, 999, 1000, 1499, 2000)]
    with serve(r.api) as base:
        r.start(base)
        seen: list[int] = []
        for lo, hi in itertools.pairwise(edges):
            got = r.appflow_ids(f"at > {literal(lo)} and at <= {literal(hi)}")
            assert got == sorted(rec["id"] for rec in r.records if lo < rec["at"] <= hi), (lo, hi)
            seen += got
        assert sorted(seen) == [rec["id"] for rec in r.records]
        pushed = {k for args in r.api.requests for k in args}
        assert pushed == (set() if fmt == "auto" else {"at_gt"})  # the end stays local: appflow_connector.incremental
