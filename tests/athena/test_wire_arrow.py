"""Arrow IPC framing, Blocks, ArrowType JSON, value encodings and time-zone keys."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyarrow import ipc

from athena_connector.wire import ArrowType, Block, WireError, unsupported_type_problem
from athena_connector.wire.arrow_ipc import (
    batch_from_bytes,
    batch_to_bytes,
    decode_records,
    decode_schema,
    encode_records,
    encode_schema,
    framing_of,
    metadata_version_of,
    schema_from_bytes,
)
from athena_connector.wire.arrow_types import arrow_type_from_wire
from athena_connector.wire.blocks import block_from_wire, block_to_wire, schema_from_wire
from athena_connector.wire.timestamps import (
    datetime_to_packed,
    offset_key,
    pack,
    packed_to_datetime,
    unpack,
    zone_id,
    zone_key,
)
from athena_connector.wire.values import from_python, to_python
from athena_connector.wire.versions import IpcFraming

SCHEMA = pa.schema(
    [("id", pa.int64()), ("name", pa.string()), ("price", pa.decimal128(10, 2))],
    metadata={"partitionKind": "shard", "id": "column comment"},
)
BATCH = pa.RecordBatch.from_pydict(
    {
        "id": [1, None, 3],
        "name": ["a", "b", None],
        "price": [decimal.Decimal("1.25"), None, decimal.Decimal("9.99")],
    },
    schema=SCHEMA,
)


@pytest.mark.parametrize(
    ("version", "framing", "metadata"),
    [(2, IpcFraming.LEGACY, ipc.MetadataVersion.V4)]
    + [(v, IpcFraming.MODERN, ipc.MetadataVersion.V5) for v in (3, 4, 5, 6)],
)
def test_framing_follows_serde_version(version: int, framing: IpcFraming, metadata) -> None:
    schema_raw = base64.b64decode(encode_schema(SCHEMA, version))
    records_raw = base64.b64decode(encode_records(BATCH, version))
    for raw in (schema_raw, records_raw):
        assert framing_of(raw) is framing
        assert metadata_version_of(raw) == metadata
        assert (raw[:4] == b"\xff\xff\xff\xff") is (framing is IpcFraming.MODERN)
    decoded_schema = decode_schema(encode_schema(SCHEMA, version))
    assert decoded_schema.equals(SCHEMA, check_metadata=True)
    assert decode_records(encode_records(BATCH, version), decoded_schema).equals(BATCH)


def test_single_message_has_no_stream_trailer() -> None:
    """Exactly one encapsulated message: prefix + metadata + body, no end-of-stream marker after it."""
    for framing in IpcFraming:
        raw = batch_to_bytes(BATCH, framing)
        prefix = 8 if framing is IpcFraming.MODERN else 4
        metadata_len = int.from_bytes(raw[prefix - 4 : prefix], "little")
        body_len = ipc.read_message(pa.py_buffer(raw)).body.size
        assert len(raw) == prefix + metadata_len + body_len
        assert batch_from_bytes(raw, SCHEMA).equals(BATCH)
        with pytest.raises(WireError, match="undecodable Arrow schema"):
            schema_from_bytes(raw)  # a batch message is not a schema message


def test_legacy_bytes_decode_like_java_legacy_bytes(load_vector) -> None:
    """Our legacy value block and the Java one decode to the same schema and value."""
    java = load_vector("v2_ReadRecordsRequest.json")["constraints"]["summary"]["col4"]["valueBlock"]
    ours = block_to_wire(block_from_wire(java, "b"), serde_version=2)
    for key in ("schema", "records"):
        assert framing_of(base64.b64decode(ours[key])) is framing_of(base64.b64decode(java[key]))
    assert block_from_wire(ours, "b") == block_from_wire(java, "b")


def test_zero_row_block_is_an_empty_records_string() -> None:
    empty = Block(BATCH.slice(0, 0), "a")
    wire = block_to_wire(empty)
    assert wire["records"] == "" and list(wire) == ["aId", "schema", "records"]
    back = block_from_wire(wire, "b")
    assert back.num_rows == 0 and back.schema.equals(SCHEMA, check_metadata=True)


def test_zero_column_block_keeps_its_row_count() -> None:
    """count(*) projections have no columns but still carry N rows."""
    batch = pa.RecordBatch.from_struct_array(pa.array([{}] * 7, type=pa.struct([])))
    for version in (2, 5):
        back = block_from_wire(block_to_wire(Block(batch, "z"), version), "b")
        assert (back.num_rows, back.batch.num_columns) == (7, 0)


def test_v1_schema_wrapper_is_accepted() -> None:
    wrapped = {"schema": encode_schema(SCHEMA)}
    assert schema_from_wire(wrapped, "schema").equals(SCHEMA, check_metadata=True)


def test_dictionary_columns_are_refused() -> None:
    batch = pa.RecordBatch.from_pydict({"d": pa.array(["x", "y"]).dictionary_encode()})
    with pytest.raises(WireError, match="dictionary"):
        encode_records(batch)
    with pytest.raises(WireError, match="dictionary"):
        encode_schema(batch.schema)


@given(
    st.lists(st.one_of(st.none(), st.integers(min_value=-(2**63), max_value=2**63 - 1)), max_size=20),
    st.lists(st.one_of(st.none(), st.text()), min_size=20, max_size=20),
    st.sampled_from([2, 3, 5, 6]),
)
def test_block_round_trip_property(ints: list[int | None], texts: list[str | None], version: int) -> None:
    schema = pa.schema([("i", pa.int64()), ("t", pa.string())], metadata={"k": "v"})
    block = Block.from_pydict({"i": ints, "t": texts[: len(ints)]}, schema, "p")
    assert block_from_wire(block_to_wire(block, version), "b") == block


# --------------------------------------------------------------------------------------------- ArrowType

PA_TYPES = [
    pa.null(),
    pa.bool_(),
    pa.int8(),
    pa.int16(),
    pa.int32(),
    pa.int64(),
    pa.uint8(),
    pa.float16(),
    pa.float32(),
    pa.float64(),
    pa.decimal128(38, 9),
    pa.string(),
    pa.binary(),
    pa.binary(16),
    pa.date32(),
    pa.date64(),
    pa.time32("s"),
    pa.time64("ns"),
    pa.timestamp("ms", tz="UTC"),
    pa.timestamp("us"),
    pa.month_day_nano_interval(),
]


@pytest.mark.parametrize("data_type", PA_TYPES, ids=str)
def test_arrow_type_round_trip(data_type: pa.DataType) -> None:
    wire = ArrowType.from_pyarrow(data_type).to_wire()
    assert arrow_type_from_wire(wire, "type").to_pyarrow() == data_type


@pytest.mark.parametrize(
    ("wire", "keys"),
    [
        ({"@type": "Int", "bitWidth": 32, "isSigned": True}, ["@type", "bitWidth", "isSigned"]),
        ({"@type": "Decimal", "precision": 10, "scale": 2}, ["@type", "precision", "scale"]),
        ({"@type": "Time", "unit": "MILLISECOND", "bitWidth": 32}, ["@type", "unit", "bitWidth"]),
        ({"@type": "Timestamp", "unit": "MILLISECOND", "timezone": None}, ["@type", "unit", "timezone"]),
        ({"@type": "Union", "mode": "Sparse", "typeIds": [0, 1]}, ["@type", "mode", "typeIds"]),
        ({"@type": "Map"}, ["@type"]),
    ],
)
def test_arrow_type_params_keep_the_sdk_order(wire: dict, keys: list[str]) -> None:
    emitted = arrow_type_from_wire(wire, "type").to_wire()
    assert list(emitted) == keys and emitted == wire


def test_nested_arrow_types_have_no_pyarrow_equivalent() -> None:
    for name in ("Struct", "List", "Map"):
        assert arrow_type_from_wire({"@type": name}, "type").to_pyarrow() is None
    assert ArrowType.from_pyarrow(pa.list_(pa.int32())).to_wire() == {"@type": "List"}


def test_v1_arrow_type_names_are_accepted() -> None:
    parsed = arrow_type_from_wire({"name": "floatingpoint", "precision": "SINGLE"}, "type")
    assert parsed.to_wire() == {"@type": "FloatingPoint", "precision": "SINGLE"}


@pytest.mark.parametrize(
    "data_type",
    [
        pa.bool_(),
        pa.int8(),
        pa.int64(),
        pa.float32(),
        pa.float64(),
        pa.decimal128(18, 3),
        pa.string(),
        pa.binary(),
        pa.date32(),
        pa.date64(),
        pa.timestamp("ms", tz="UTC"),
        pa.timestamp("us", tz="America/New_York"),
        pa.struct([("a", pa.int32()), ("b", pa.list_(pa.string()))]),
        pa.map_(pa.string(), pa.int64()),
    ],
    ids=str,
)
def test_whitelisted_table_types(data_type: pa.DataType) -> None:
    assert unsupported_type_problem(pa.field("c", data_type)) is None


@pytest.mark.parametrize(
    "data_type",
    [
        pa.uint32(),
        pa.float16(),
        pa.large_string(),
        pa.large_binary(),
        pa.timestamp("ms"),
        pa.timestamp("s", tz="UTC"),
        pa.time32("ms"),
        pa.decimal256(50, 2),
        pa.struct([("a", pa.large_string())]),
        pa.list_(pa.uint8()),
        pa.map_(pa.string(), pa.timestamp("ns")),
    ],
    ids=str,
)
def test_types_outside_the_whitelist(data_type: pa.DataType) -> None:
    assert "c" in (unsupported_type_problem(pa.field("c", data_type)) or "")


# -------------------------------------------------------------------------------------- values and zones


def test_athena_timestamp_is_date64_read_as_raw_millis() -> None:
    moment = dt.datetime(2024, 2, 29, 13, 45, 7, 123000)
    array = from_python([moment, None], pa.date64())
    assert array.cast(pa.int64()).to_pylist() == [1709214307123, None]
    assert to_python(array) == [moment, None]  # pyarrow's own to_pylist would truncate to a date


def test_timestamp_with_zone_is_packed() -> None:
    new_york = dt.datetime(2024, 7, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=-4)))
    array = from_python([new_york, None], pa.timestamp("ms", tz="UTC"))
    packed = array.cast(pa.int64()).to_pylist()[0]
    millis, key = unpack(packed)
    assert millis == int(new_york.timestamp() * 1000) and zone_id(key) == "-04:00"
    (back, none) = to_python(array)
    assert back == new_york and back.utcoffset() == dt.timedelta(hours=-4) and none is None


def test_named_zone_round_trip() -> None:
    zoneinfo = pytest.importorskip("zoneinfo")
    try:
        tz = zoneinfo.ZoneInfo("Europe/Paris")
    except zoneinfo.ZoneInfoNotFoundError:
        pytest.skip("no time-zone database on this machine")
    moment = dt.datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=tz)  # before the epoch: negative millis
    packed = datetime_to_packed(moment)
    assert zone_id(unpack(packed)[1]) == "Europe/Paris"
    back = packed_to_datetime(packed)
    assert back == moment and getattr(back.tzinfo, "key", None) == "Europe/Paris"


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("UTC", 0),
        ("utc", 0),
        ("Z", 0),
        ("Etc/UTC", 0),
        ("GMT", 0),
        ("+00:00", 0),
        ("-14:00", 1),
        ("+14:00", 1680),
        ("-00:01", 840),
        ("+00:01", 841),
        ("+05:30", offset_key(330)),
        ("UTC+05:30", offset_key(330)),
        ("GMT-3", offset_key(-180)),
        ("Etc/GMT+5", offset_key(-300)),  # POSIX sign convention
        ("america/new_york", zone_key("America/New_York")),
    ],
)
def test_zone_keys(name: str, key: int) -> None:
    assert zone_key(name) == key


def test_unknown_zone_is_refused() -> None:
    with pytest.raises(ValueError):
        zone_key("Mars/Olympus_Mons")
    with pytest.raises(ValueError):
        zone_id(2040)  # a retired key (gap in the table)


def test_zone_table_matches_the_sdk_resource(vectors_dir: Path) -> None:
    """Every entry of zone-index.properties maps both ways, offsets included."""
    count = 0
    for line in (vectors_dir / "zone-index.properties").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key_text, name = line.split(" ", 1)
        assert zone_key(name) == int(key_text), name
        assert zone_id(int(key_text)) == name
        count += 1
    assert count == 2224


def test_pack_layout() -> None:
    assert pack(1, 0) == 4096 and pack(-1, 5) == -4096 + 5
    assert unpack(pack(-1_234_567, 1681)) == (-1_234_567, 1681)
