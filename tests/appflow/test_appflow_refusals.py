"""Issue 17 items 7 and 8 on the AppFlow side, through ``lambda_handler``: filter expressions with hundreds of NOTs,
parentheses or ORs, integer literals of thousands of digits, a non-string ``secretArn``, deep JSON in a record to
write, and forged token internals end in ``InvalidArgument`` (never ``UnknownError``), or in the right rows where
the input is legal; a forged skip of -5 is refused rather than answered with the wrong records."""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Callable
from typing import Any

import pytest

from demo_api.server import DemoServer
from shared.tokens import encode_token
from tests.appflow.conftest import dump
from tests.appflow.simulator import AppFlow, FakeContext


def _refused(response: dict[str, Any], *fragments: str) -> str:
    assert response["isSuccess"] is False, response
    details = response["errorDetails"]
    assert details["errorCode"] == "InvalidArgument", details
    for fragment in fragments:
        assert fragment in details["errorMessage"], details
    return str(details["errorMessage"])


# -------------------------------------------------------------------------------------------- filters


@pytest.mark.parametrize(
    "expression",
    [
        "not " * 500 + "status = 'customer'",
        "(" * 1000 + "status = 'customer'" + ")" * 1000,
    ],
    ids=["500 NOTs", "1000 parentheses"],
)
def test_deeply_nested_filters_are_invalid_arguments(
    expression: str, small_server: DemoServer, appflow_for: Callable[..., AppFlow]
) -> None:
    sim = appflow_for(small_server)
    _refused(sim.query_page("contacts", max_results=5, filter_expression=expression), "nests NOT or parentheses")


def test_a_long_chain_of_ors_reads_the_right_rows(
    small_server: DemoServer, appflow_for: Callable[..., AppFlow]
) -> None:
    sim = appflow_for(small_server)
    wanted = set(range(1, 500, 2))
    expression = " or ".join(f"id = {i}" for i in sorted(wanted)) + " or " + " or ".join(["id = -1"] * 250)
    run = sim.query_all("contacts", max_results=100, filter_expression=expression)
    expected = sorted(r["id"] for r in dump(small_server, "contacts") if r["id"] in wanted)
    assert sorted(run.ids()) == expected and expected


def test_a_long_chain_of_ands_reads_the_right_rows(
    small_server: DemoServer, appflow_for: Callable[..., AppFlow]
) -> None:
    sim = appflow_for(small_server)
    expression = " and ".join(["id > 3"] * 300 + ["(id < 9 and (status != 'nobody'))"])
    run = sim.query_all("contacts", max_results=100, filter_expression=expression)
    assert sorted(run.ids()) == [r["id"] for r in dump(small_server, "contacts") if 3 < r["id"] < 9]


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("id > " + "9" * 5000, "outside the 64-bit integer range"),
        ("id in (1, " + "9" * 4400 + ")", "outside the 64-bit integer range"),
        ("id > -" + "9" * 20, "outside the 64-bit integer range"),
        ("id > 1 limit " + "9" * 5000, "LIMIT"),
    ],
    ids=["5000 digits", "4400 digits in IN", "20 digits", "5000-digit LIMIT"],
)
def test_integer_literals_beyond_64_bits_are_invalid_arguments(
    expression: str, fragment: str, small_server: DemoServer, appflow_for: Callable[..., AppFlow]
) -> None:
    sim = appflow_for(small_server)
    _refused(sim.query_page("contacts", max_results=5, filter_expression=expression), "filterExpression", fragment)


# --------------------------------------------------------------------------------------- event fields


@pytest.mark.parametrize("arn", [5, ["arn"], {"arn": "x"}, True])
def test_a_secret_arn_that_is_not_a_string_is_an_invalid_argument(
    arn: Any, small_server: DemoServer, appflow_for: Callable[..., AppFlow]
) -> None:
    sim = appflow_for(small_server)
    event = {
        "type": "QueryDataRequest",
        "entityIdentifier": "contacts",
        "connectorContext": {**sim.context(), "credentials": {"secretArn": arn, "authenticationType": "ApiKey"}},
        "maxResults": 5,
    }
    _refused(sim.handler.lambda_handler(event, FakeContext()), "secretArn must be a string")
    validate = {"type": "ValidateCredentialsRequest", "credentials": {"secretArn": arn, "authenticationType": "ApiKey"}}
    _refused(sim.handler.lambda_handler(validate, FakeContext()), "secretArn must be a string")


def test_deep_json_in_a_record_to_write_fails_that_record(
    fresh_server: DemoServer, appflow_for: Callable[..., AppFlow]
) -> None:
    sim = appflow_for(fresh_server)
    event = {
        "type": "WriteDataRequest",
        "entityIdentifier": "contacts",
        "connectorContext": sim.context(),
        "operation": "INSERT",
        "idFieldNames": None,
        "allOrNone": False,
        "records": ['{"email": ' + "[" * 5000 + "]" * 5000 + "}"],
    }
    response = sim.handler.lambda_handler(event, FakeContext())
    assert response["errorDetails"] is None or response["errorDetails"]["errorCode"] != "UnknownError", response
    results = response["writeRecordResults"]
    assert results[0]["isSuccess"] is False and "nests JSON too deeply" in results[0]["errorMessage"]


# ---------------------------------------------------------------------------------------------- tokens


def _open(token: str) -> dict[str, Any]:
    body = token[len("sc1.") :]
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    return json.loads(zlib.decompress(raw[1:]) if raw.startswith(b"z") else raw)  # type: ignore[no-any-return]


def _forge(token: str, outer: dict[str, Any] | None = None, inner: dict[str, Any] | None = None) -> str:
    """The AppFlow token with keys replaced, outside (``e``, ``g``, ``c``) and in the client's token inside."""
    payload = _open(token)
    if inner is not None:
        payload["c"] = encode_token({**_open(payload["c"]), **inner})
    return encode_token({**payload, **(outer or {})})


@pytest.mark.parametrize(
    ("outer", "inner", "key"),
    [
        (None, {"k": -5}, "'k'"),
        (None, {"k": "5"}, "'k'"),
        (None, {"n": 0}, "'n'"),
        (None, {"n": 10**9}, "'n'"),
        (None, {"i": "x"}, "'i'"),
        (None, {"s": {"o": -1}}, "'s'"),
        (None, {"s": "offset"}, "'s'"),
        (None, {"h": "x"}, "'h'"),
        (None, {"g": [[[["deep"]]]]}, "'g'"),
        (None, {"t": -2}, "'t'"),
        ({"e": "x"}, None, "'e'"),
        ({"e": -1}, None, "'e'"),
        ({"g": [{"a": 1}]}, None, "'g'"),
        ({"c": 12}, None, "'c'"),
    ],
)
def test_forged_token_internals_are_refused(
    outer: dict[str, Any] | None,
    inner: dict[str, Any] | None,
    key: str,
    small_server: DemoServer,
    appflow_for: Callable[..., AppFlow],
) -> None:
    sim = appflow_for(small_server)
    first = sim.query_page("contacts", max_results=3, filter_expression="id > 1")
    assert first["isSuccess"] and first["nextToken"]
    forged = _forge(first["nextToken"], outer, inner)
    response = sim.query_page("contacts", max_results=3, token=forged, filter_expression="id > 1")
    _refused(response, "nextToken", "corrupt", key)


def test_an_untouched_token_still_reads_on(small_server: DemoServer, appflow_for: Callable[..., AppFlow]) -> None:
    sim = appflow_for(small_server)
    first = sim.query_page("contacts", max_results=3, filter_expression="id > 1")
    again = sim.query_page("contacts", max_results=3, token=_forge(first["nextToken"]), filter_expression="id > 1")
    assert again["isSuccess"] and [json.loads(r)["id"] for r in again["records"]] == [5, 6, 7]


def test_a_deeply_nested_token_is_refused(small_server: DemoServer, appflow_for: Callable[..., AppFlow]) -> None:
    sim = appflow_for(small_server)
    deep = "sc1." + base64.urlsafe_b64encode(b"z" + zlib.compress(b"[" * 100_000)).decode().rstrip("=")
    _refused(sim.query_page("contacts", max_results=3, token=deep), "nextToken")
