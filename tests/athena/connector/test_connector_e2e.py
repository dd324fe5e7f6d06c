"""End to end through ``lambda_handler``: JSON events as Athena sends them, the demo API over HTTP, S3 on moto."""

from __future__ import annotations

import datetime as dt
import json
import time
from decimal import Decimal

import boto3
import pyarrow as pa
import pytest

from athena_connector.wire import (
    Constraints,
    EquatableValueSet,
    GetDataSourceCapabilitiesRequest,
    GetSplitsRequest,
    GetTableLayoutRequest,
    GetTableRequest,
    ListSchemasRequest,
    ListTablesRequest,
    OrderByField,
    PingRequest,
    Range,
    SortDirection,
    SortedRangeSet,
    Split,
    decode_schema,
)
from athena_connector.wire.arrow_types import ArrowType
from athena_connector.wire.blocks import block_from_wire
from athena_connector.wire.splits import split_from_wire
from athena_connector.wire.timestamps import unpack
from tests.athena.connector.harness import (
    CATALOG,
    DEMO_SPEC,
    IDENTITY,
    SCHEMA,
    SPILL_BUCKET,
    Connector,
    FakeContext,
    by_id,
    expected_rows,
    result_rows,
    table_name,
)

ENTITIES = ("accounts", "contacts", "deals", "activities")


def rows_in_partition(connector: Connector, split: Split) -> int:
    """How many deals one of its partition splits (``stage = value``) holds."""
    stage = split.properties["partition.value"]
    return sum(1 for r in connector.dump("deals") if r["stage"] == stage)


def sorted_range(data_type: pa.DataType, *ranges: Range, null_allowed: bool = False) -> SortedRangeSet:
    return SortedRangeSet(ArrowType.from_pyarrow(data_type), tuple(ranges), null_allowed)


def test_ping_declares_serde_5_and_capabilities_24(connector: Connector) -> None:
    out = connector.invoke(PingRequest(IDENTITY, CATALOG, "q-ping"))
    assert out == {
        "@type": "PingResponse",
        "catalogName": CATALOG,
        "queryId": "q-ping",
        "sourceType": "saas_connectors",
        "capabilities": 24,
        "serDeVersion": 5,
    }


def test_capabilities_advertise_filters_limit_top_n_like_and_passthrough(connector: Connector) -> None:
    out = connector.invoke(GetDataSourceCapabilitiesRequest(IDENTITY, "q", CATALOG))
    caps = out["capabilities"]
    assert list(caps) == [
        "supports_filter_pushdown",
        "supports_limit_pushdown",
        "supports_top_n_pushdown",
        "supports_complex_expression_pushdown",
        "SYSTEM.QUERY",
    ]
    assert caps["supports_top_n_pushdown"] == [{"subType": "SUPPORTS_ORDER_BY", "properties": []}]
    assert caps["supports_complex_expression_pushdown"] == [
        {"subType": "supported_function_expression_types", "properties": ["$and", "$or", "$not", "$like_pattern"]}
    ]
    assert [s["subType"] for s in caps["supports_filter_pushdown"]] == [
        "sorted_range_set",
        "equatable_range_set",
        "all_or_none_value_set",
        "nullable_comparison",
    ]
    assert caps["supports_limit_pushdown"] == [{"subType": "integer_constant", "properties": []}]
    assert caps["SYSTEM.QUERY"] == [
        {"subType": "query_passthrough_schema", "properties": ["system"]},
        {"subType": "query_passthrough_name", "properties": ["query"]},
        {"subType": "query_passthrough_arguments", "properties": ["QUERY"]},
    ]
    connector.setenv("enable_query_passthrough", "false")
    out = connector.invoke(GetDataSourceCapabilitiesRequest(IDENTITY, "q", CATALOG))
    assert "SYSTEM.QUERY" not in out["capabilities"]


def test_list_schemas_and_tables_paged_with_next_token(connector: Connector) -> None:
    assert connector.invoke(ListSchemasRequest(IDENTITY, "q", CATALOG))["schemas"] == [SCHEMA]
    everything = connector.invoke(ListTablesRequest(IDENTITY, "q", CATALOG, SCHEMA, None, -1))
    assert list(everything) == ["@type", "tables", "catalogName", "nextToken"]
    assert [t["tableName"] for t in everything["tables"]] == sorted(ENTITIES)
    assert everything["nextToken"] is None
    seen, token, pages = [], None, 0
    while True:
        page = connector.invoke(ListTablesRequest(IDENTITY, "q", CATALOG, SCHEMA, token, 3))
        pages += 1
        assert len(page["tables"]) <= 3
        seen += [t["tableName"] for t in page["tables"]]
        token = page["nextToken"]
        if token is None:
            break
    assert pages == 2 and seen == sorted(ENTITIES)


def test_schema_name_can_be_configured(connector: Connector) -> None:
    connector.setenv("schema_name", "crm")
    assert connector.invoke(ListSchemasRequest(IDENTITY, "q", CATALOG))["schemas"] == ["crm"]


def test_get_table_maps_spec_types_to_athena_arrow_types(connector: Connector) -> None:
    schema = connector.table_schema("accounts")
    types = {f.name: f.type for f in schema}
    assert types["id"] == pa.int64()
    assert types["employees"] == pa.int32()
    assert types["annual_revenue"] == pa.decimal128(14, 2)
    assert types["is_active"] == pa.bool_()
    assert types["founded_on"] == pa.date32()
    assert types["rating"] == pa.float64()
    assert types["created_at"] == pa.date64()  # Athena `timestamp` is Date(MILLISECOND)
    assert types["address"] == pa.struct(
        [("street", pa.string()), ("city", pa.string()), ("country", pa.string()), ("postal_code", pa.string())]
    )
    assert types["tags"] == pa.list_(pa.string())
    assert types["metadata"] == pa.string()  # json as text
    assert all(f.nullable for f in schema)
    assert all(f.name == f.name.lower() for f in schema)
    deals = {f.name: f.type for f in connector.table_schema("deals")}
    assert deals["line_items"] == pa.list_(
        pa.struct([("sku", pa.string()), ("quantity", pa.int32()), ("unit_price", pa.decimal128(12, 2))])
    )


@pytest.mark.parametrize("entity", ENTITIES)
def test_every_entity_end_to_end_matches_the_api(connector: Connector, entity: str) -> None:
    result = connector.query(entity)
    spec = DEMO_SPEC.entity(entity)
    assert result.table.schema.names == list(spec.field_names)
    expected = by_id(expected_rows(spec, connector.dump(entity), spec.field_names))
    got = result_rows(result.table)
    ids = [r["id"] for r in got]
    assert len(ids) == len(set(ids)), "a row was returned by two splits"
    assert by_id(got) == expected
    assert all(r["@type"] == "ReadRecordsResponse" for r in result.responses)
    if entity == "contacts":
        assert len(result.splits) > 5  # time windows from the spec's hint


def test_projection_returns_requested_columns_in_requested_order(connector: Connector) -> None:
    result = connector.query("contacts", ["status", "id", "updated_at"])
    assert result.table.schema.names == ["status", "id", "updated_at"]
    spec = DEMO_SPEC.entity("contacts")
    assert by_id(result_rows(result.table)) == by_id(
        expected_rows(spec, connector.dump("contacts"), ["status", "id", "updated_at"])
    )


def test_count_star_reads_a_zero_column_schema_and_returns_the_row_count(connector: Connector) -> None:
    empty = pa.schema([])
    splits, _ = connector.splits("contacts")
    total = 0
    for split in splits:
        table, out = connector.read_split("contacts", split, empty)
        assert out["@type"] == "ReadRecordsResponse"
        assert table.num_columns == 0
        total += table.num_rows
    assert total == len(connector.dump("contacts"))
    status = EquatableValueSet.of(["customer"], pa.string())
    constraints = Constraints(summary={"status": status})
    splits, _ = connector.splits("contacts", constraints)
    total = sum(connector.read_split("contacts", s, empty, constraints)[0].num_rows for s in splits)
    assert total == sum(1 for r in connector.dump("contacts") if r["status"] == "customer")


def test_filters_are_pushed_and_reapplied_exactly(connector: Connector) -> None:
    since = dt.datetime(2023, 1, 1)
    constraints = Constraints(
        summary={
            "status": EquatableValueSet.of(["customer", "lead"], pa.string()),
            "updated_at": sorted_range(pa.date64(), Range.between(pa.date64(), low=since, low_inclusive=False)),
            "score": sorted_range(pa.float64(), Range.between(pa.float64(), low=10.0, high=80.5)),
        }
    )
    result = connector.query("contacts", ["id", "status", "updated_at", "score"], constraints)
    cutoff = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
    want = sorted(
        r["id"]
        for r in connector.dump("contacts")
        if r["status"] in ("customer", "lead")
        and dt.datetime.fromisoformat(r["updated_at"].replace("Z", "+00:00")) > cutoff
        and 10.0 <= r["score"] <= 80.5
    )
    assert sorted(result.table.column("id").to_pylist()) == want
    assert want, "the filter should match something"
    # Windows entirely before the cutoff were not even planned.
    assert all(s.properties.get("split.high", "9999") > "2023" for s in result.splits)


def test_a_filter_the_api_ignores_is_still_applied(
    connector: Connector, tmp_path: object, unthrottled_spec: object
) -> None:
    """A spec may declare a filter the API does not actually implement; the answer must stay exact."""
    import yaml

    data = yaml.safe_load(open(unthrottled_spec).read())  # noqa: SIM115
    deals = next(e for e in data["entities"] if e["name"] == "deals")
    deals["filters"]["currency"] = {"eq": {"param": "currency_ignored_by_the_api"}}
    path = tmp_path / "ignoring.yaml"  # type: ignore[operator]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    connector.setenv("SAAS_SPEC", str(path))
    constraints = Constraints(summary={"currency": EquatableValueSet.of(["EUR"], pa.string())})
    result = connector.query("deals", ["id", "currency"], constraints)
    assert set(result.table.column("currency").to_pylist()) == {"EUR"}
    assert result.table.num_rows == sum(1 for r in connector.dump("deals") if r["currency"] == "EUR")


def test_values_the_api_refuses_fall_back_to_local_filtering(
    connector: Connector, caplog: pytest.LogCaptureFixture
) -> None:
    """id >= -5 is pushed as id_min=-5, which the demo API rejects (HTTP 400): the split is read again
    without the query's parameters and filtered locally, so the answer is still right."""
    constraints = Constraints(
        summary={
            "id": sorted_range(pa.int64(), Range.between(pa.int64(), low=-5, high=30)),
            "industry": EquatableValueSet.of(["No Such Industry", "Retail"], pa.string()),
        }
    )
    result = connector.query("accounts", ["id", "industry"], constraints)
    want = sorted(r["id"] for r in connector.dump("accounts") if r["id"] <= 30 and r["industry"] == "Retail")
    assert sorted(result.table.column("id").to_pylist()) == want
    assert "refused the pushed filter parameters" in caplog.text


def test_limit_stops_reading_once_enough_rows_passed_the_filter(connector: Connector) -> None:
    status = EquatableValueSet.of(["customer"], pa.string())
    constraints = Constraints(summary={"status": status}, limit=3)
    result = connector.query("contacts", ["id", "status"], constraints)
    customers = {r["id"] for r in connector.dump("contacts") if r["status"] == "customer"}
    for response in result.responses:
        assert (
            connector.decode_records(response, pa.schema([("id", pa.int64()), ("status", pa.string())])).num_rows <= 3
        )
    assert set(result.table.column("id").to_pylist()) <= customers
    assert result.table.num_rows >= min(3, len(customers))
    # With ORDER BY the limit is a top-N: every split answers its 3 smallest ids, so the 3 smallest are among them.
    ordered = Constraints(
        summary={"status": status}, order_by=(OrderByField("id", SortDirection.ASC_NULLS_LAST),), limit=3
    )
    result = connector.query("contacts", ["id"], ordered)
    got = result.table.column("id").to_pylist()
    assert set(got) <= customers and len(got) <= 3 * len(result.splits)
    assert sorted(got)[:3] == sorted(customers)[:3]


def test_large_results_spill_encrypted_blocks_within_max_block_size(connector: Connector) -> None:
    max_block = 6_000
    result = connector.query("contacts", max_block=max_block, max_inline=2_000)
    spec = DEMO_SPEC.entity("contacts")
    assert by_id(result_rows(result.table)) == by_id(expected_rows(spec, connector.dump("contacts"), spec.field_names))
    assert result.remote, "small limits must force spilling"
    s3 = boto3.client("s3")
    blocks = 0
    for response, split in zip(result.responses, result.splits, strict=True):
        if response["@type"] != "RemoteReadRecordsResponse":
            continue
        assert list(response) == ["@type", "catalogName", "schema", "remoteBlocks", "encryptionKey"]
        assert response["encryptionKey"] is not None
        key = split.encryption_key
        assert key is not None and len(key.key) == 32 and len(key.nonce) == 12
        assert [b["key"] for b in response["remoteBlocks"]] == [
            f"{split.spill_location.key}.{i}" for i in range(len(response["remoteBlocks"]))
        ]
        for loc in response["remoteBlocks"]:
            assert loc["bucket"] == SPILL_BUCKET
            body = s3.get_object(Bucket=loc["bucket"], Key=loc["key"])["Body"].read()
            assert len(body) - 16 <= max_block  # AES-GCM adds a 16-byte tag to the IPC message
            with pytest.raises(Exception):  # noqa: B017 - ciphertext is not Arrow
                pa.ipc.read_record_batch(pa.py_buffer(body), decode_schema(response["schema"]))
            blocks += 1
    assert blocks > len(result.remote)  # at least one split needed several blocks


def test_spill_encryption_can_be_disabled(connector: Connector) -> None:
    connector.setenv("disable_spill_encryption", "true")
    result = connector.query("deals", max_block=50_000, max_inline=5_000)
    assert all(s.encryption_key is None for s in result.splits)
    assert result.remote and all(r["encryptionKey"] is None for r in result.remote)
    assert result.table.num_rows == len(connector.dump("deals"))


def test_kms_data_keys_encrypt_the_spill(connector: Connector) -> None:
    key_id = boto3.client("kms").create_key(Description="athena spill")["KeyMetadata"]["KeyId"]
    connector.setenv("kms_key_id", key_id)
    result = connector.query("deals", max_block=50_000, max_inline=5_000)
    assert all(s.encryption_key is not None and len(s.encryption_key.key) == 16 for s in result.splits)
    assert result.table.num_rows == len(connector.dump("deals"))


def test_spill_settings_from_identity_config_options(connector: Connector) -> None:
    from athena_connector.wire import FederatedIdentity

    identity = FederatedIdentity("1", "arn", config_options={"spill_bucket": "other-bucket", "spill_prefix": "/p/x/"})
    partitions = connector.layout("deals")
    request = GetSplitsRequest(identity, "q-opt", CATALOG, table_name("deals"), partitions, (), Constraints(), None)
    splits = [split_from_wire(s, "s") for s in connector.invoke(request)["splits"]]
    assert len(splits) == 6  # deals: one split per declared stage (exhaustive: no catch-all)
    for split in splits:
        assert split.spill_location.bucket == "other-bucket"
        assert split.spill_location.key.startswith("p/x/q-opt/")
        assert split.spill_location.directory is True


def test_get_splits_pages_with_continuation_tokens(connector: Connector) -> None:
    all_at_once, calls = connector.splits("contacts")
    assert calls == 1
    connector.setenv("max_splits_per_response", "3")
    paged, calls = connector.splits("contacts")
    assert calls == -(-len(all_at_once) // 3) > 1
    assert [s.properties for s in paged] == [s.properties for s in all_at_once]
    result = connector.query("contacts", ["id"])
    assert sorted(result.table.column("id").to_pylist()) == sorted(r["id"] for r in connector.dump("contacts"))


def test_parent_splits_from_the_query_and_from_listing_parents(connector: Connector) -> None:
    connector.setenv("max_splits_per_response", "1")
    splits, calls = connector.splits("activities")
    assert len(splits) == 1 and calls == 1
    wanted = EquatableValueSet.of([3, 5, 8], pa.int64())
    constraints = Constraints(summary={"contact_id": wanted})
    result = connector.query("activities", ["id", "contact_id"], constraints)
    assert set(result.table.column("contact_id").to_pylist()) <= {3, 5, 8}
    assert sorted(result.table.column("id").to_pylist()) == sorted(
        r["id"] for r in connector.dump("activities") if r["contact_id"] in (3, 5, 8)
    )
    (split,) = result.splits
    assert json.loads(split.properties["split.parents"]) == [{"id": 3}, {"id": 5}, {"id": 8}]


def test_parent_listing_pages_through_get_splits_continuation_tokens(
    connector: Connector, tmp_path: object, unthrottled_spec: object
) -> None:
    import yaml

    data = yaml.safe_load(open(unthrottled_spec).read())  # noqa: SIM115
    activities = next(e for e in data["entities"] if e["name"] == "activities")
    activities["splits"]["max_ids_per_split"] = 50
    path = tmp_path / "small_parent_splits.yaml"  # type: ignore[operator]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    connector.setenv("SAAS_SPEC", str(path))
    connector.setenv("max_splits_per_response", "1")
    result = connector.query("activities", ["id", "contact_id"])
    assert result.split_calls >= 3 and len(result.splits) >= 3
    parents = [k["id"] for s in result.splits for k in json.loads(s.properties["split.parents"])]
    assert all(len(json.loads(s.properties["split.parents"])) <= 50 for s in result.splits)
    assert sorted(parents) == sorted(r["id"] for r in connector.dump("contacts"))
    assert sorted(result.table.column("id").to_pylist()) == sorted(r["id"] for r in connector.dump("activities"))


def test_every_split_has_its_own_location_and_key(connector: Connector) -> None:
    splits, _ = connector.splits("contacts")
    assert len({s.spill_location.key for s in splits}) == len(splits)
    assert len({s.encryption_key.key for s in splits if s.encryption_key}) == len(splits)
    assert all(s.spill_location.bucket == SPILL_BUCKET and s.spill_location.directory for s in splits)


def test_layout_has_one_partition_with_plan_state(connector: Connector) -> None:
    block = connector.layout("contacts")
    assert block.num_rows == 1 and block.schema.names == ["partitionId"]
    meta = {k.decode(): v.decode() for k, v in (block.schema.metadata or {}).items()}
    assert meta["saas.entity"] == "contacts" and "saas.planned_at" in meta


def test_query_passthrough_reads_one_declared_entity_with_api_parameters(connector: Connector) -> None:
    args = {"schemaFunctionName": "SYSTEM.QUERY", "QUERY": "contacts?status=customer"}
    out = connector.invoke(GetTableRequest(IDENTITY, "q", CATALOG, table_name("query"), args))
    schema = decode_schema(out["schema"])
    assert schema.names == list(DEMO_SPEC.entity("contacts").field_names)
    constraints = Constraints(query_passthrough_arguments=args)
    layout = connector.invoke(
        GetTableLayoutRequest(IDENTITY, "q", CATALOG, table_name("query"), constraints, schema, ())
    )
    partitions = block_from_wire(layout["partitions"], "p")
    splits_out = connector.invoke(
        GetSplitsRequest(IDENTITY, "q", CATALOG, table_name("query"), partitions, (), constraints, None)
    )
    (split,) = [split_from_wire(s, "s") for s in splits_out["splits"]]
    table, _ = connector.read_split("query", split, schema, constraints)
    want = sorted(r["id"] for r in connector.dump("contacts") if r["status"] == "customer")
    assert sorted(table.column("id").to_pylist()) == want and want


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("invoices", "'invoices' is not an entity of this connector"),
        ("../admin", "is not an entity of this connector"),
        ("contacts?cursor=abc", "cursor are set by the connector itself"),
        ("contacts?status", "cannot read the parameters"),
        ("", "needs the argument QUERY"),
    ],
)
def test_query_passthrough_rejects_anything_but_a_declared_entity(
    connector: Connector, query: str, message: str
) -> None:
    request = GetTableRequest(IDENTITY, "q", CATALOG, table_name("query"), {"QUERY": query})
    with pytest.raises(Exception, match=message) as info:
        connector.invoke(request)
    assert type(info.value).__name__ == "InvalidInputException"


def test_saas_throttling_surfaces_as_athena_throttling(connector: Connector) -> None:
    splits, _ = connector.splits("deals")  # planned before the faults: GetSplits probes the API's counts
    connector.server.set_faults({"kind": "rate_limit", "count": None, "entity": "deals", "retry_after": 1})
    connector.setenv("deadline_margin_seconds", "0.5")
    with pytest.raises(Exception, match="rate limiting") as info:
        connector.read_split("deals", splits[0], connector.table_schema("deals"), context=FakeContext(2_500))
    assert type(info.value).__name__ == "com.amazonaws.athena.connector.lambda.exceptions.FederationThrottleException"
    assert "ReadRecordsRequest demo_crm.deals" in str(info.value)


def test_saas_failure_names_the_request_entity_and_page(connector: Connector) -> None:
    splits, _ = connector.splits("deals")  # planned before the faults: GetSplits probes the API's counts
    connector.server.set_faults({"kind": "status", "code": 404, "count": None, "entity": "deals"})
    with pytest.raises(
        Exception, match=r"ReadRecordsRequest demo_crm\.deals .*entity 'deals', page 1.*HTTP 404"
    ) as info:
        connector.read_split("deals", splits[0], connector.table_schema("deals"))
    assert type(info.value).__name__ == "InternalServiceException"


def test_the_lambda_deadline_bounds_reading(connector: Connector) -> None:
    splits, _ = connector.splits("deals")
    schema = connector.table_schema("deals")
    # Requests may use the time up to the margin (60 ms of 300 ms here), so a page must be slower than that to fail.
    connector.server.set_faults([{"kind": "slow", "entity": "deals", "delay_s": 0.5, "count": None}])
    started = time.monotonic()
    with pytest.raises(Exception, match="time") as info:
        connector.read_split("deals", splits[0], schema, context=FakeContext(300))
    assert time.monotonic() - started < 0.3
    assert type(info.value).__name__ == "OperationTimeoutException"
    connector.server.clear_faults()
    # The configured margin never takes more than a fifth of a short invocation: 5 s still reads.
    connector.setenv("deadline_margin_seconds", "60")
    table, _ = connector.read_split("deals", splits[0], schema, context=FakeContext(5_000))
    assert table.num_rows == rows_in_partition(connector, splits[0])


def test_timestamp_with_time_zone_mode_packs_utc_values(connector: Connector) -> None:
    connector.setenv("timestamp_type", "timestamp_with_time_zone")
    schema = connector.table_schema("deals")
    assert schema.field("updated_at").type == pa.timestamp("ms", tz="UTC")
    cutoff = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    ts_type = pa.timestamp("ms", tz="UTC")
    constraints = Constraints(summary={"updated_at": sorted_range(ts_type, Range.between(ts_type, low=cutoff))})
    result = connector.query("deals", ["id", "updated_at"], constraints)
    raw = result.table.column("updated_at").cast(pa.int64()).to_pylist()
    dump = {r["id"]: r for r in connector.dump("deals")}
    for row_id, packed in zip(result.table.column("id").to_pylist(), raw, strict=True):
        millis, zone = unpack(packed)
        assert zone == 0
        want = dt.datetime.fromisoformat(dump[row_id]["updated_at"].replace("Z", "+00:00"))
        assert dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=millis) == want >= cutoff
    assert result.table.num_rows == sum(
        1 for r in dump.values() if dt.datetime.fromisoformat(r["updated_at"].replace("Z", "+00:00")) >= cutoff
    )


def test_decimal_and_date_constraints(connector: Connector) -> None:
    constraints = Constraints(
        summary={
            "amount": sorted_range(
                pa.decimal128(12, 2), Range.between(pa.decimal128(12, 2), low=Decimal("5000.00"), low_inclusive=False)
            ),
            "close_date": sorted_range(
                pa.date32(), Range.between(pa.date32(), high=dt.date(2024, 6, 30)), null_allowed=True
            ),
        }
    )
    result = connector.query("deals", ["id"], constraints)
    want = sorted(
        r["id"]
        for r in connector.dump("deals")
        if Decimal(r["amount"]) > 5000 and (r["close_date"] is None or r["close_date"] <= "2024-06-30")
    )
    assert sorted(result.table.column("id").to_pylist()) == want and want


def test_metrics_and_logs_carry_the_query_id(connector: Connector, capsys: pytest.CaptureFixture[str]) -> None:
    import io

    from athena_connector.observability import logger

    stream = io.StringIO()
    handler = logger.registered_handler
    old = handler.setStream(stream)  # type: ignore[attr-defined]
    try:
        splits, _ = connector.splits("deals", query_id="q-observed")
        capsys.readouterr()
        connector.read_split("deals", splits[0], connector.table_schema("deals"), query_id="q-observed")
    finally:
        handler.setStream(old)  # type: ignore[attr-defined]
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    read_lines = [line for line in lines if line.get("request_type") == "ReadRecordsRequest"]
    assert read_lines and all(line["query_id"] == "q-observed" for line in read_lines)
    rows = rows_in_partition(connector, splits[0])
    assert any(line.get("rows") == rows for line in read_lines)
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    names = {m["Name"] for doc in emf for d in doc["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert {"Rows", "Pages", "ApiRequests", "ApiRetries", "ApiThrottled", "InlineBytes", "SpilledBytes"} <= names
    assert any(doc.get("Rows") == [float(rows)] for doc in emf)
