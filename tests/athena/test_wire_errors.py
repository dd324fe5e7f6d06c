"""Malformed events raise WireError (a ValueError) whose message says what is wrong and where."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pytest

from athena_connector.wire import WireError, parse_request

GARBAGE_B64 = base64.b64encode(b"\x10\x00\x00\x00not an arrow flatbuffer at all").decode()


def _minimal_list_tables() -> dict[str, Any]:
    return {
        "@type": "ListTablesRequest",
        "identity": None,
        "queryId": "q",
        "catalogName": "c",
        "schemaName": "s",
        "nextToken": None,
        "pageSize": -1,
    }


def _raises(event: Any, path: str, problem: str) -> WireError:
    with pytest.raises(WireError) as info:
        parse_request(event)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.path == path, str(err)
    assert problem in err.problem, str(err)
    assert str(err) == f"{path}: {err.problem}"
    return err


@pytest.mark.parametrize(
    ("event", "path", "problem"),
    [
        ({"@type": "Foo"}, "request.@type", "unknown request @type 'Foo'"),
        ({"catalogName": "c"}, "request", "missing required key '@type'"),
        ({"@type": 7}, "request.@type", "expected a string, got number"),
        ([], "request", "expected an object, got array"),
        (None, "request", "expected an object, got null"),
        ('{"@type": "PingRequest", ', "request", "invalid JSON"),
        (b"\xff\xfe", "request", "invalid JSON"),
    ],
)
def test_top_level_problems(event: Any, path: str, problem: str) -> None:
    _raises(event, path, problem)


def test_json_text_is_accepted() -> None:
    assert parse_request(json.dumps(_minimal_list_tables())).schema_name == "s"


@pytest.mark.parametrize(
    ("mutate", "path", "problem"),
    [
        (lambda e: e.pop("catalogName"), "ListTablesRequest", "missing required key 'catalogName'"),
        (lambda e: e.update(catalogName=5), "ListTablesRequest.catalogName", "expected a string, got number"),
        (lambda e: e.update(pageSize="25"), "ListTablesRequest.pageSize", "expected an integer, got string"),
        (lambda e: e.update(pageSize=True), "ListTablesRequest.pageSize", "expected an integer, got boolean"),
        (lambda e: e.update(nextToken=3), "ListTablesRequest.nextToken", "expected a string or null"),
        (
            lambda e: e.update(identity={"account": "a", "arn": "b", "tags": [], "groups": []}),
            "ListTablesRequest.identity.tags",
            "expected an object, got array",
        ),
        (
            lambda e: e.update(identity={"account": "a", "arn": "b", "tags": {}, "groups": [1]}),
            "ListTablesRequest.identity.groups[0]",
            "expected a string, got number",
        ),
        (
            lambda e: e.update(identity={"account": "a", "tags": {"k": 1}}),
            "ListTablesRequest.identity.tags.k",
            "expected a string, got number",
        ),
    ],
)
def test_list_tables_problems(mutate: Callable[[dict], Any], path: str, problem: str) -> None:
    event = _minimal_list_tables()
    mutate(event)
    _raises(event, path, problem)


SUMMARY = "ReadRecordsRequest.constraints.summary"


@pytest.mark.parametrize(
    ("mutate", "path", "problem"),
    [
        (lambda e: e.pop("split"), "ReadRecordsRequest", "missing required key 'split'"),
        (lambda e: e.pop("constraints"), "ReadRecordsRequest", "missing required key 'constraints'"),
        (lambda e: e.update(schema="@@not base64@@"), "ReadRecordsRequest.schema", "invalid base64"),
        (lambda e: e.update(schema=GARBAGE_B64), "ReadRecordsRequest.schema", "undecodable Arrow schema"),
        (lambda e: e.update(schema=""), "ReadRecordsRequest.schema", "empty Arrow schema message"),
        (lambda e: e.update(schema=12), "ReadRecordsRequest.schema", "expected a base64 string, got number"),
        (
            lambda e: e.update(maxBlockSize="lots"),
            "ReadRecordsRequest.maxBlockSize",
            "decimal integer string",
        ),
        (lambda e: e.update(tableName="t"), "ReadRecordsRequest.tableName", "expected an object, got string"),
        (
            lambda e: e["tableName"].pop("tableName"),
            "ReadRecordsRequest.tableName",
            "missing required key 'tableName'",
        ),
        (
            lambda e: e["split"]["spillLocation"].update({"@type": "GcsSpillLocation"}),
            "ReadRecordsRequest.split.spillLocation.@type",
            "unknown SpillLocation @type 'GcsSpillLocation'",
        ),
        (
            lambda e: e["split"]["spillLocation"].update(directory="yes"),
            "ReadRecordsRequest.split.spillLocation.directory",
            "expected a boolean, got string",
        ),
        (
            lambda e: e["split"]["encryptionKey"].update(nonce="!!"),
            "ReadRecordsRequest.split.encryptionKey.nonce",
            "invalid base64",
        ),
        (
            lambda e: e["constraints"]["summary"]["col4"].update({"@type": "Foo"}),
            f"{SUMMARY}.col4",
            "unknown ValueSet @type 'Foo'",
        ),
        (
            lambda e: e["constraints"]["summary"]["col4"].pop("@type"),
            f"{SUMMARY}.col4",
            "missing required key '@type'",
        ),
        (
            lambda e: e["constraints"]["summary"]["col4"].update(whiteList="false"),
            f"{SUMMARY}.col4.whiteList",
            "expected a boolean, got string",
        ),
        (
            lambda e: e["constraints"]["summary"]["col4"]["valueBlock"].update(records=GARBAGE_B64),
            f"{SUMMARY}.col4.valueBlock.records",
            "undecodable Arrow record batch",
        ),
        (
            lambda e: e["constraints"]["summary"]["col5"]["type"].update({"@type": "Float128"}),
            f"{SUMMARY}.col5.type.@type",
            "unknown ArrowType @type 'Float128'",
        ),
        (
            lambda e: e["constraints"]["summary"]["col5"]["type"].update(precision="QUAD"),
            f"{SUMMARY}.col5.type.precision",
            "expected one of HALF, SINGLE, DOUBLE",
        ),
        (
            lambda e: e["constraints"]["summary"]["col3"]["ranges"][0]["low"].update(bound="AROUND"),
            f"{SUMMARY}.col3.ranges[0].low.bound",
            "expected one of BELOW, EXACTLY, ABOVE",
        ),
        (
            lambda e: e["constraints"]["summary"]["col3"]["ranges"][0]["high"].update(nullValue=False),
            f"{SUMMARY}.col3.ranges[0].high.valueBlock",
            "nullValue false has no value row",
        ),
        (
            lambda e: e["constraints"]["summary"]["col3"]["ranges"][0].pop("high"),
            f"{SUMMARY}.col3.ranges[0]",
            "missing required key 'high'",
        ),
        (
            lambda e: e["constraints"]["summary"]["col3"].update(ranges={}),
            f"{SUMMARY}.col3.ranges",
            "expected an array, got object",
        ),
        (
            lambda e: e["constraints"]["expression"][0].update({"@type": "LambdaExpression"}),
            "ReadRecordsRequest.constraints.expression[0].@type",
            "unknown expression @type 'LambdaExpression'",
        ),
        (
            lambda e: e["constraints"]["expression"][0]["arguments"][0]["arguments"][0].pop("columnName"),
            "ReadRecordsRequest.constraints.expression[0].arguments[0].arguments[0]",
            "missing required key 'columnName'",
        ),
        (
            lambda e: e["constraints"]["orderByClause"][1].update(direction="SIDEWAYS"),
            "ReadRecordsRequest.constraints.orderByClause[1].direction",
            "unknown sort direction 'SIDEWAYS'",
        ),
        (
            lambda e: e["constraints"].update(limit="10"),
            "ReadRecordsRequest.constraints.limit",
            "expected an integer",
        ),
        (
            lambda e: e["constraints"].update(queryPassthroughArguments={"query": 1}),
            "ReadRecordsRequest.constraints.queryPassthroughArguments.query",
            "expected a string, got number",
        ),
        (
            lambda e: e["constraints"].update(queryPlan="plan"),
            "ReadRecordsRequest.constraints.queryPlan",
            "expected an object, got string",
        ),
    ],
)
def test_read_records_problems(mutate: Callable[[dict], Any], path: str, problem: str, load_vector) -> None:
    event = copy.deepcopy(load_vector("v6_ReadRecordsRequest.json"))
    mutate(event)
    _raises(event, path, problem)


def test_truncated_arrow_message_is_located(load_vector) -> None:
    event = copy.deepcopy(load_vector("v6_ReadRecordsRequest.json"))
    block = event["constraints"]["summary"]["col4"]["valueBlock"]
    raw = base64.b64decode(block["records"])
    block["records"] = base64.b64encode(raw[: len(raw) // 2]).decode()
    _raises(event, f"{SUMMARY}.col4.valueBlock.records", "Arrow record batch")


def test_batch_that_does_not_match_its_schema_is_refused(load_vector) -> None:
    """A block whose records were written for another schema must not decode silently."""
    event = copy.deepcopy(load_vector("v4_ReadRecordsRequest.json"))
    block = event["constraints"]["summary"]["col4"]["valueBlock"]
    other = pa.schema([("col1", pa.string()), ("col2", pa.string())])
    block["schema"] = base64.b64encode(other.serialize().to_pybytes()).decode()
    _raises(event, f"{SUMMARY}.col4.valueBlock.records", "Arrow record batch")


@pytest.mark.parametrize(
    "name",
    ["v6_ReadRecordsRequest.json", "v2_GetTableLayoutRequest.json", "v2_UserDefinedFunctionRequest.json"],
)
def test_every_truncated_event_is_refused(name: str, load_vector) -> None:
    """Dropping the tail of an event (a cut-off payload) always names the first missing key."""
    event = load_vector(name)
    keys = list(event)
    for cut in range(1, len(keys)):
        truncated = {k: event[k] for k in keys[:cut]}
        with pytest.raises(WireError, match="missing required key"):
            parse_request(truncated)


def test_truncated_json_text_is_refused(load_vector) -> None:
    text = json.dumps(load_vector("v2_GetSplitsRequest.json"))
    for cut in (1, len(text) // 3, len(text) - 1):
        with pytest.raises(WireError, match="invalid JSON"):
            parse_request(text[:cut])


def test_unpadded_base64_is_tolerated(load_vector) -> None:
    event = copy.deepcopy(load_vector("v2_ReadRecordsRequest.json"))
    event["schema"] = event["schema"].rstrip("=")
    event["split"]["encryptionKey"]["nonce"] = event["split"]["encryptionKey"]["nonce"].rstrip("=")
    request = parse_request(event)
    assert request.schema.names[0] == "year"
    assert request.split.encryption_key is not None and request.split.encryption_key.nonce == b"test-nonce"


def test_unknown_keys_are_ignored_at_every_level(load_vector) -> None:
    event = copy.deepcopy(load_vector("v6_ReadRecordsRequest.json"))
    event["newField"] = 1
    event["split"]["newField"] = {"x": 1}
    event["constraints"]["newField"] = []
    event["constraints"]["summary"]["col5"]["newField"] = True
    assert parse_request(event) == parse_request(load_vector("v6_ReadRecordsRequest.json"))


def test_udf_function_type_is_checked(load_vector) -> None:
    event = copy.deepcopy(load_vector("v2_UserDefinedFunctionRequest.json"))
    event["functionType"] = "AGGREGATE"
    _raises(event, "UserDefinedFunctionRequest.functionType", "unknown function type 'AGGREGATE'")
