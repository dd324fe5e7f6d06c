"""Bad input fails the invocation with an error type and a message that say what is wrong and where."""

from __future__ import annotations

import copy
import json
from typing import Any

import pyarrow as pa
import pytest

from athena_connector.handler import lambda_handler
from athena_connector.wire import (
    Constraints,
    EquatableValueSet,
    GetSplitsRequest,
    GetTableLayoutRequest,
    GetTableRequest,
    ListTablesRequest,
    ReadRecordsRequest,
    Split,
    TableName,
    UserDefinedFunctionRequest,
    to_wire,
)
from tests.athena.connector.harness import CATALOG, IDENTITY, SCHEMA, Connector, FakeContext, table_name


def fails(event: Any, error_type: str, *fragments: str) -> str:
    with pytest.raises(Exception) as info:
        lambda_handler(event, FakeContext())
    assert type(info.value).__name__ == error_type, f"{type(info.value).__name__}: {info.value}"
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


def read_event(connector: Connector, entity: str = "deals", schema: pa.Schema | None = None) -> dict[str, Any]:
    splits, _ = connector.splits(entity)
    schema = schema or connector.table_schema(entity)
    request = ReadRecordsRequest(
        IDENTITY, "q", CATALOG, table_name(entity), schema, splits[0], Constraints(), 16_000_000, 3_465_000
    )
    return json.loads(json.dumps(to_wire(request)))


def test_truncated_json_text(connector: Connector) -> None:
    text = json.dumps(to_wire(GetTableRequest(IDENTITY, "q", CATALOG, table_name("deals"))))
    fails(text[: len(text) // 2], "InvalidInputException", "bad request", "invalid JSON")


def test_truncated_event_missing_keys(connector: Connector) -> None:
    event = read_event(connector)
    del event["split"]
    fails(event, "InvalidInputException", "ReadRecordsRequest", "split")
    event = read_event(connector)
    del event["maxBlockSize"]
    fails(event, "InvalidInputException", "maxBlockSize")
    event = read_event(connector)
    event["split"]["spillLocation"] = {"@type": "S3SpillLocation", "bucket": "b"}
    fails(event, "InvalidInputException", "split.spillLocation", "key")


def test_unknown_and_missing_type(connector: Connector) -> None:
    fails(
        {"@type": "DropTableRequest", "queryId": "q"},
        "InvalidInputException",
        "unknown request @type",
        "DropTableRequest",
    )
    fails({"queryId": "q"}, "InvalidInputException", "@type")
    fails(["not", "an", "object"], "InvalidInputException", "request")


def test_bad_base64_in_schema_and_blocks(connector: Connector) -> None:
    event = read_event(connector)
    event["schema"] = "%%%not base64%%%"
    fails(event, "InvalidInputException", "ReadRecordsRequest.schema", "base64")
    event = read_event(connector)
    event["schema"] = "AAAAAAAAAAAA"
    fails(event, "InvalidInputException", "ReadRecordsRequest.schema", "Arrow schema")
    event = read_event(connector)
    event["split"]["encryptionKey"]["key"] = "!!"
    fails(event, "InvalidInputException", "encryptionKey.key")


def test_bad_constraint_blocks(connector: Connector) -> None:
    constraints = Constraints(summary={"stage": EquatableValueSet.of(["won"], pa.string())})
    partitions = connector.layout("deals")
    event = to_wire(GetSplitsRequest(IDENTITY, "q", CATALOG, table_name("deals"), partitions, (), constraints, None))
    broken = copy.deepcopy(event)
    broken["constraints"]["summary"]["stage"]["valueBlock"]["records"] = "bm90IGFycm93"
    fails(broken, "InvalidInputException", "constraints.summary.stage.valueBlock")
    broken = copy.deepcopy(event)
    broken["constraints"]["summary"]["stage"]["@type"] = "FancyValueSet"
    fails(broken, "InvalidInputException", "unknown ValueSet @type")


def test_unknown_schema_and_table(connector: Connector) -> None:
    fails(
        to_wire(GetTableRequest(IDENTITY, "q", CATALOG, TableName(SCHEMA, "invoices"))),
        "EntityNotFoundException",
        "GetTableRequest demo_crm.invoices",
        "table 'demo_crm.invoices' not found",
        "accounts, activities, contacts, deals",
    )
    fails(
        to_wire(GetTableRequest(IDENTITY, "q", CATALOG, TableName("other", "deals"))),
        "EntityNotFoundException",
        "schema 'other' not found",
    )
    fails(to_wire(ListTablesRequest(IDENTITY, "q", CATALOG, "other")), "EntityNotFoundException", "schema 'other'")


def test_unknown_columns_in_projection_and_constraints(connector: Connector) -> None:
    schema = pa.schema([("id", pa.int64()), ("colour", pa.string())])
    fails(read_event(connector, schema=schema), "InvalidInputException", "unknown column(s) 'colour'", "deals")
    constraints = Constraints(summary={"colour": EquatableValueSet.of(["red"], pa.string())})
    full = connector.table_schema("deals")
    fails(
        to_wire(GetTableLayoutRequest(IDENTITY, "q", CATALOG, table_name("deals"), constraints, full, ())),
        "InvalidInputException",
        "GetTableLayoutRequest demo_crm.deals",
        "unknown column(s) 'colour'",
    )


def test_a_column_requested_with_an_incompatible_type(connector: Connector) -> None:
    schema = pa.schema([("id", pa.int64()), ("line_items", pa.string())])
    fails(read_event(connector, schema=schema), "InvalidInputException", "column 'line_items'")


def test_bad_continuation_token_and_split_properties(connector: Connector) -> None:
    partitions = connector.layout("contacts")
    request = GetSplitsRequest(
        IDENTITY, "q", CATALOG, table_name("contacts"), partitions, (), Constraints(), "garbage!"
    )
    fails(to_wire(request), "InvalidInputException", "continuationToken")
    splits, _ = connector.splits("contacts")
    bad = Split(
        splits[0].spill_location,
        splits[0].encryption_key,
        {"split.kind": "time_window", "split.field": "nope", "split.low": "x"},
    )
    request = ReadRecordsRequest(
        IDENTITY,
        "q",
        CATALOG,
        table_name("contacts"),
        connector.table_schema("contacts"),
        bad,
        Constraints(),
        1000,
        1000,
    )
    fails(to_wire(request), "InvalidInputException", "split properties")


def test_user_defined_functions_are_not_supported(connector: Connector) -> None:
    from athena_connector.wire import Block

    block = Block(pa.record_batch({"a": [1]}))
    request = UserDefinedFunctionRequest(IDENTITY, block, pa.schema([("out", pa.int64())]), "f")
    fails(to_wire(request), "OperationNotSupportedException", "user-defined functions")


def test_spec_errors_and_bad_configuration_say_what_to_fix(connector: Connector, tmp_path: Any) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\napi: {name: x}\nentities: []\n")
    connector.setenv("SAAS_SPEC", str(bad))
    fails(to_wire(GetTableRequest(IDENTITY, "q", CATALOG, table_name("deals"))), "InternalServiceException", "spec")
    connector.setenv("SAAS_SPEC", "demo")
    connector.setenv("disable_spill_encryption", "maybe")
    fails(
        to_wire(GetTableRequest(IDENTITY, "q", CATALOG, table_name("deals"))),
        "InternalServiceException",
        "disable_spill_encryption must be true or false",
    )


def test_bad_credentials(connector: Connector) -> None:
    event = read_event(connector)  # GetSplits probes the API's counts, so it is planned with the good key
    connector.setenv("SAAS_API_KEY", "wrong-key")
    fails(event, "InvalidCredentialsException", "ReadRecordsRequest demo_crm.deals", "credentials")
    layout = json.loads(json.dumps(to_wire(GetSplitsRequest(
        IDENTITY, "q", CATALOG, table_name("deals"), connector.layout("deals"), (), Constraints(), None
    ))))  # fmt: skip
    fails(layout, "InvalidCredentialsException", "GetSplitsRequest demo_crm.deals", "credentials")


def test_no_spill_bucket_when_a_result_must_spill(connector: Connector) -> None:
    connector.monkeypatch.delenv("spill_bucket")
    connector.setenv("spill_prefix", "x")
    splits, _ = connector.splits("deals")
    assert splits[0].spill_location.bucket is None
    schema = connector.table_schema("deals")
    request = ReadRecordsRequest(
        IDENTITY, "q", CATALOG, table_name("deals"), schema, splits[0], Constraints(), 10_000, 1_000
    )
    fails(to_wire(request), "InternalServiceException", "no spill bucket is configured", "spill_bucket")
