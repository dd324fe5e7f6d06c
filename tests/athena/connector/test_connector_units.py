"""The connector's pieces on their own: Arrow building, exact filtering, constraint translation, result sizing."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from athena_connector.arrow_build import ArrowBuilder
from athena_connector.config import ConnectorConfig
from athena_connector.constraints_to_predicates import summary_to_predicates, value_set_predicates
from athena_connector.filtering import RowFilter, value_set_mask
from athena_connector.spill import LAMBDA_RESPONSE_LIMIT, ResultWriter
from athena_connector.wire import (
    AllOrNoneValueSet,
    Constraints,
    EncryptionKey,
    EquatableValueSet,
    Marker,
    Range,
    ReadRecordsResponse,
    RemoteReadRecordsResponse,
    S3SpillLocation,
    SortedRangeSet,
    decode_spill_object,
    generate_key,
    to_wire,
)
from athena_connector.wire.arrow_types import ArrowType
from shared.errors import ConfigError, ValueCoercionError
from shared.predicates import Op, Predicate
from shared.spec.model import EntitySpec, FieldSpec
from shared.types import parse_type
from shared.values import coerce

UTC = dt.UTC
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)


def entity(policy: str = "error", **fields: str) -> EntitySpec:
    specs = tuple(FieldSpec(name, parse_type(t), name) for name, t in fields.items())
    return EntitySpec("things", "/things", "data", specs, on_invalid_value=policy)


def build(values: list[Any], type_text: str, policy: str = "error", mode: str = "timestamp") -> pa.Array:
    e = entity(policy, x=type_text)
    return ArrowBuilder(e, mode).column(values, e.field("x").type, "x")


def millis(text: str) -> int:
    return (dt.datetime.fromisoformat(text) - EPOCH) // dt.timedelta(milliseconds=1)


# ------------------------------------------------------------------------------------ arrow_build


def test_timestamps_parse_offsets_and_zone_less_values_as_utc_and_floor_to_millis() -> None:
    array = build(
        [
            "2024-01-25T09:49:03Z",
            "2025-06-28T01:33:49+02:00",
            None,
            "2024-01-25T09:49:03.1239Z",
            "1969-12-31T23:59:59.9995Z",
        ],
        "timestamp",
    )
    assert array.type == pa.date64()
    assert array.cast(pa.int64()).to_pylist() == [
        millis("2024-01-25T09:49:03+00:00"),
        millis("2025-06-27T23:33:49+00:00"),
        None,
        millis("2024-01-25T09:49:03.123+00:00"),
        -1,  # floor, not truncation toward zero
    ]
    zone_less = build(["2024-01-25T09:49:03", "2024-01-26 00:00:00"], "timestamp")
    assert zone_less.cast(pa.int64()).to_pylist() == [
        millis("2024-01-25T09:49:03+00:00"),
        millis("2024-01-26T00:00:00+00:00"),
    ]
    mixed = build(
        ["2024-01-25T09:49:03", "2024-01-25T09:49:03+01:00", 1_700_000_000, " 2024-01-01T00:00:00Z "], "timestamp"
    )
    assert mixed.cast(pa.int64()).to_pylist() == [
        millis("2024-01-25T09:49:03+00:00"),
        millis("2024-01-25T08:49:03+00:00"),
        1_700_000_000_000,
        millis("2024-01-01T00:00:00+00:00"),
    ]


def test_timestamp_with_time_zone_values_are_packed_with_the_utc_key() -> None:
    array = build(["2024-01-25T09:49:03Z", None], "timestamp", mode="timestamp_with_time_zone")
    assert array.type == pa.timestamp("ms", tz="UTC")
    assert array.cast(pa.int64()).to_pylist() == [millis("2024-01-25T09:49:03+00:00") << 12, None]


@pytest.mark.parametrize(
    ("type_text", "values"),
    [
        ("int64", [1, None, -5, 2.0, "7"]),
        ("int32", [1, 2_147_483_647, None]),
        ("number", [1, 2.5, None, "3.25"]),
        ("decimal(12,2)", ["1.50", "737415.32", None, 3, "1e3", " 2.5"]),
        ("boolean", [True, False, None, "true", 0]),
        ("date", ["2024-02-29", "2024-03-01T10:00:00Z", None, " 2024-01-01"]),
        ("string", ["a", None, "ü", 5, True]),
        ("json", [{"b": 1, "a": [1, 2]}, "already text", None, 3, [None]]),
    ],
)
def test_columns_match_the_shared_per_value_rules(type_text: str, values: list[Any]) -> None:
    ftype = parse_type(type_text)
    array = build(values, type_text)
    assert array.to_pylist() == [coerce(v, ftype) for v in values]


def test_nested_lists_and_objects_keep_nulls_and_lower_case_child_names() -> None:
    values = [
        [{"SKU": "a", "qty": 2, "price": "1.50"}, None],
        None,
        [],
        [{"SKU": None, "qty": None, "price": None}],
    ]
    e = EntitySpec(
        "deals",
        "/deals",
        "data",
        (
            FieldSpec(
                "items",
                parse_type(
                    {
                        "type": "list",
                        "items": {
                            "type": "object",
                            "fields": {"SKU": "string", "qty": "int32", "price": "decimal(12,2)"},
                        },
                    }
                ),
                "items",
            ),
        ),
    )
    array = ArrowBuilder(e).column(values, e.field("items").type, "items")
    assert array.type == pa.list_(
        pa.struct([("sku", pa.string()), ("qty", pa.int32()), ("price", pa.decimal128(12, 2))])
    )
    assert array.to_pylist() == [
        [{"sku": "a", "qty": 2, "price": Decimal("1.50")}, None],
        None,
        [],
        [{"sku": None, "qty": None, "price": None}],
    ]


def test_invalid_values_fail_by_default_naming_field_value_and_page() -> None:
    e = entity("error", amount="decimal(12,2)")
    with pytest.raises(ValueCoercionError, match=r"entity 'things', page 3: field 'amount'.*1.234") as info:
        ArrowBuilder(e).column(["1.00", "1.234"], e.field("amount").type, "amount", page=3)
    assert "on_invalid_value: null" in str(info.value)
    with pytest.raises(ValueCoercionError, match="expected an integer"):
        build([1, 1.5], "int64")
    with pytest.raises(ValueCoercionError, match="expected a list"):
        build([["a"], "a"], "list<string>")


def test_invalid_values_are_nulled_and_counted_under_the_null_policy() -> None:
    e = entity("null", n="int32", tags="list<string>", when="timestamp")
    builder = ArrowBuilder(e)
    assert builder.column([1, "x", 2**40, None], e.field("n").type, "n").to_pylist() == [1, None, None, None]
    assert builder.column([["a", {"b": 1}], 5], e.field("tags").type, "tags").to_pylist() == [["a", None], None]
    assert builder.column(["soon", "2024-01-01T00:00:00Z"], e.field("when").type, "when").null_count == 1
    assert builder.nulled == {"n": 2, "tags[]": 1, "tags": 1, "when": 1}


def test_a_batch_without_fields_still_counts_rows() -> None:
    batch = ArrowBuilder(entity(x="int64")).build_batch([{}, {}, {}], [])
    assert batch.num_columns == 0 and batch.num_rows == 3


# ------------------------------------------------------------------------------------- filtering

SCALARS: dict[str, tuple[pa.DataType, st.SearchStrategy[Any]]] = {
    "int32": (pa.int32(), st.integers(-50, 50)),
    "int64": (pa.int64(), st.integers(-(2**40), 2**40) | st.integers(-5, 5)),
    "double": (pa.float64(), st.floats(-100, 100, allow_nan=False, width=32)),
    "decimal": (pa.decimal128(10, 2), st.decimals(-100, 100, places=2, allow_nan=False, allow_infinity=False)),
    "string": (pa.string(), st.text(alphabet="aAbB é", max_size=3)),
    "bool": (pa.bool_(), st.booleans()),
    "date": (pa.date32(), st.dates(dt.date(1960, 1, 1), dt.date(2040, 1, 1))),
    "timestamp": (
        pa.date64(),
        st.datetimes(dt.datetime(1960, 1, 1), dt.datetime(2040, 1, 1)).map(
            lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000)
        ),
    ),
}


def python_in(vs: Any, value: Any) -> bool:
    if value is None:
        return vs.null_allowed
    if isinstance(vs, AllOrNoneValueSet):
        return vs.all
    if isinstance(vs, EquatableValueSet):
        return (value in vs.values) == vs.white_list
    for r in vs.ranges:
        lo = r.low.value
        hi = r.high.value
        if (r.low.null_value or (value > lo if r.low.bound.value == "ABOVE" else value >= lo)) and (
            r.high.null_value or (value < hi if r.high.bound.value == "BELOW" else value <= hi)
        ):
            return True
    return False


@st.composite
def column_and_value_set(draw: st.DrawFn) -> tuple[pa.Array, Any]:
    name = draw(st.sampled_from(sorted(SCALARS)))
    data_type, values = SCALARS[name]
    rows = draw(st.lists(st.none() | values, max_size=30))
    from athena_connector.wire.values import from_python

    column = from_python(rows, data_type)
    pool = st.sampled_from([v for v in rows if v is not None]) | values if any(v is not None for v in rows) else values
    shape = draw(st.sampled_from(["ranges", "in", "all_or_none"]))
    null_allowed = draw(st.booleans())
    if shape == "all_or_none":
        return column, AllOrNoneValueSet(ArrowType.from_pyarrow(data_type), draw(st.booleans()), null_allowed)
    if shape == "in":
        members = draw(st.lists(pool, max_size=4, unique=True))
        return column, EquatableValueSet.of(
            members, data_type, white_list=draw(st.booleans()), null_allowed=null_allowed
        )
    ranges = []
    for _ in range(draw(st.integers(0, 3))):
        low, high = sorted([draw(pool), draw(pool)])
        ranges.append(
            Range.between(
                data_type,
                low=None if draw(st.booleans()) and not ranges else low,
                high=None if draw(st.booleans()) else high,
                low_inclusive=draw(st.booleans()) or low == high,
                high_inclusive=draw(st.booleans()) or low == high,
            )
        )
    return column, SortedRangeSet(ArrowType.from_pyarrow(data_type), tuple(ranges), null_allowed)


@settings(max_examples=300, deadline=None)
@given(column_and_value_set())
def test_value_set_masks_match_presto_semantics(case: tuple[pa.Array, Any]) -> None:
    column, vs = case
    from athena_connector.wire.values import to_python

    expected = [python_in(vs, v) for v in to_python(column)]
    mask = value_set_mask(column, vs)
    assert mask.null_count == 0
    assert mask.to_pylist() == expected


def test_packed_timestamp_columns_compare_as_instants_against_date64_markers() -> None:
    from athena_connector.wire.timestamps import pack

    packed = pa.array([pack(1000, 0), pack(2000, 1200), None], type=pa.int64()).view(pa.timestamp("ms", tz="UTC"))
    vs = SortedRangeSet(
        ArrowType.of("Date", unit="MILLISECOND"),
        (Range(Marker.of(1500, pa.date64(), "EXACTLY"), Marker.upper_unbounded(pa.date64())),),
        False,
    )
    assert value_set_mask(packed, vs).to_pylist() == [False, True, False]


def test_nested_columns_compare_in_python_for_equality() -> None:
    column = pa.array([["a"], ["b", "c"], None, []], type=pa.list_(pa.string()))
    vs = EquatableValueSet.of([["b", "c"]], pa.list_(pa.string()), null_allowed=True)
    assert value_set_mask(column, vs).to_pylist() == [False, True, True, False]


def test_row_filter_applies_split_bounds_and_keeps_nulls_only_in_the_first_window() -> None:
    batch = pa.record_batch({"t": pa.array([0, 5_000, None], type=pa.int64()).view(pa.date64())})
    bound = dt.datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)
    first = RowFilter(predicates=[Predicate("t", Op.LT, bound)], lenient_nulls=frozenset({"t"}))
    later = RowFilter(predicates=[Predicate("t", Op.GE, bound)])
    assert first.apply(batch).num_rows == 2 and later.apply(batch).num_rows == 1


# ------------------------------------------------------------------------------ constraint translation


def test_translation_rules() -> None:
    e = entity(id="int64", name="string", at="timestamp", price="decimal(12,2)", tags="list<string>")
    i64 = pa.int64()
    wire = ArrowType.from_pyarrow(i64)

    def preds(vs: Any, column: str = "id") -> tuple[list[str], bool]:
        found, exact = value_set_predicates(column, vs, e.field(column).type)
        return [str(p) for p in found], exact

    assert preds(SortedRangeSet(wire, (Range.equal(3, i64),), False)) == (["id eq 3"], True)
    assert preds(SortedRangeSet(wire, (Range.equal(3, i64), Range.equal(9, i64)), False)) == (["id in (3, 9)"], True)
    assert preds(SortedRangeSet(wire, (Range.between(i64, low=2, low_inclusive=False),), False)) == (["id gt 2"], True)
    neq = (Range.between(i64, high=4, high_inclusive=False), Range.between(i64, low=4, low_inclusive=False))
    assert preds(SortedRangeSet(wire, neq, False)) == (["id ne 4"], True)
    hull = (Range.between(i64, low=1, high=3), Range.between(i64, low=7, high=9, high_inclusive=False))
    assert preds(SortedRangeSet(wire, hull, False)) == (["id ge 1", "id lt 9"], False)
    assert preds(SortedRangeSet(wire, (), True)) == (["id is null"], True)
    assert preds(SortedRangeSet(wire, (Range.equal(3, i64),), True)) == ([], False)
    assert preds(EquatableValueSet.of([1, 2], i64, white_list=False)) == (["id ne 1", "id ne 2"], True)
    assert preds(AllOrNoneValueSet(wire, True, False)) == (["id not null"], True)
    at = SortedRangeSet(
        ArrowType.of("Date", unit="MILLISECOND"),
        (Range.between(pa.date64(), low=dt.datetime(2024, 1, 1)),),
        False,
    )
    found, _ = value_set_predicates("at", at, e.field("at").type)
    assert found == [Predicate("at", Op.GE, dt.datetime(2024, 1, 1, tzinfo=UTC))]
    fraction = SortedRangeSet(ArrowType.from_pyarrow(pa.float64()), (Range.between(pa.float64(), low=2.5),), False)
    translation = summary_to_predicates({"id": fraction}, e)  # id > 2.5 cannot be pushed to an integer
    assert translation.predicates == () and not translation.exact and translation.notes
    micros = SortedRangeSet(
        ArrowType.of("Date", unit="MILLISECOND"),
        (Range(Marker.of(1_700_000_000_000_000, pa.date64(), "EXACTLY"), Marker.upper_unbounded(pa.date64())),),
        False,
    )
    assert summary_to_predicates({"at": micros}, e).predicates == ()  # a mis-scaled literal is not pushed
    assert summary_to_predicates({"id": SortedRangeSet(wire, (), False)}, e).unsatisfiable


# -------------------------------------------------------------------------------------- spilling


class MemoryStore:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.order: list[str] = []

    def put(self, location: S3SpillLocation, data: bytes) -> None:
        self.objects[location.key] = data
        self.order.append(location.key)


def batches(count: int, rows: int) -> list[pa.RecordBatch]:
    out = []
    for b in range(count):
        ids = list(range(b * rows, (b + 1) * rows))
        out.append(pa.record_batch({"id": ids, "text": [f"row {i} " + "x" * 40 for i in ids]}))
    return out


def writer(
    store: MemoryStore, schema: pa.Schema, key: EncryptionKey | None, *, block: int, inline: int
) -> ResultWriter:
    spill = S3SpillLocation("bucket", "prefix/q/split", True)
    return ResultWriter(
        catalog_name="c",
        schema=schema,
        spill=spill,
        key=key,
        max_block_size=block,
        max_inline_block_size=inline,
        store=store,
    )


def test_inline_decision_uses_the_real_encoded_response_size() -> None:
    data = batches(1, 200)[0]
    probe = writer(MemoryStore(), data.schema, None, block=10**7, inline=10**7)
    probe.add(data)
    response = probe.finish()
    assert isinstance(response, ReadRecordsResponse)
    exact = len(json.dumps(to_wire(response)))
    assert probe.stats.inline_bytes == exact
    fits = writer(MemoryStore(), data.schema, None, block=10**7, inline=exact)
    fits.add(data)
    assert isinstance(fits.finish(), ReadRecordsResponse)
    store = MemoryStore()
    too_big = writer(store, data.schema, generate_key(), block=10**7, inline=exact - 1)
    too_big.add(data)
    assert isinstance(too_big.finish(), RemoteReadRecordsResponse) and len(store.objects) == 1


def test_inline_responses_never_exceed_lambdas_limit() -> None:
    data = pa.record_batch({"blob": ["y" * 1000] * 5000})  # 5 MB of Arrow: 6.7 MB once base64-encoded
    store = MemoryStore()
    w = writer(store, data.schema, None, block=16_000_000, inline=50_000_000)
    w.add(data)
    assert isinstance(w.finish(), RemoteReadRecordsResponse)
    assert w.inline_limit == LAMBDA_RESPONSE_LIMIT


def test_spilling_streams_bounded_blocks_and_memory() -> None:
    key = generate_key()
    store = MemoryStore()
    data = batches(100, 500)  # ~2.8 MB in 100 pages
    max_block = 200_000
    w = writer(store, data[0].schema, key, block=max_block, inline=100_000)
    for i, batch in enumerate(data):
        w.add(batch)
        if i == 50:
            assert len(store.order) > 5, "blocks must be written while pages are still arriving"
    response = w.finish()
    assert isinstance(response, RemoteReadRecordsResponse)
    assert [loc.key for loc in response.remote_blocks] == [f"prefix/q/split.{i}" for i in range(len(store.objects))]
    page_bytes = max(b.nbytes for b in data)
    assert w.stats.peak_pending_bytes <= w.block_target + page_bytes
    decoded = []
    for loc in response.remote_blocks:
        body = store.objects[loc.key]
        assert len(body) - 16 <= max_block
        decoded.append(decode_spill_object(body, response.schema, key))
    assert pa.Table.from_batches(decoded).equals(pa.Table.from_batches(data))


def test_a_row_larger_than_max_block_size_is_a_clear_error() -> None:
    data = pa.record_batch({"blob": ["z" * 5000]})
    w = writer(MemoryStore(), data.schema, None, block=1000, inline=10)
    with pytest.raises(Exception, match="more than maxBlockSize=1000"):
        w.add(data)
        w.finish()


# ------------------------------------------------------------------------------------------- config


def test_configuration_from_the_environment() -> None:
    config = ConnectorConfig.from_environment(
        {"spill_bucket": "b", "spill_prefix": "/a/b/", "disable_spill_encryption": "TRUE", "kms_key_id": "k"}
    )
    assert (config.spill_bucket, config.spill_prefix, config.encrypt_spill, config.kms_key_id) == (
        "b",
        "a/b",
        False,
        "k",
    )
    assert ConnectorConfig.from_environment({}).spill_prefix == "athena-federation-spill"
    with pytest.raises(ConfigError, match="schema_name"):
        ConnectorConfig.from_environment({"schema_name": "Bad-Name"})
    with pytest.raises(ConfigError, match="timestamp_type"):
        ConnectorConfig.from_environment({"timestamp_type": "local"})
    assert Constraints().limit == -1  # sanity: no limit unless the engine sends one
