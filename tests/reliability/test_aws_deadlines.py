"""Every AWS call ends by the invocation's deadline (issue 17, item 6).

The audit pointed S3 at an endpoint that never answers: a 25 s invocation returned after 314 s (botocore's 60 s
timeouts, five attempts). Here S3, KMS and Secrets Manager are loopback endpoints that accept and never answer,
accept and close, or answer one byte at a time (``tests/support/dead_endpoints.py``); the connectors are driven
through their Lambda entry points with a Lambda-like context of a few seconds. Each must come back before that
context runs out, with the connector's typed error naming the AWS service and operation.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import boto3
import pyarrow as pa
import pytest

from appflow_connector import handler as appflow_handler
from appflow_connector.credentials import PowertoolsSecrets
from athena_connector.wire import Constraints, GetSplitsRequest, GetTableRequest
from shared import aws as aws_calls
from shared.deadline import Deadline
from tests.athena.connector.harness import CATALOG, IDENTITY, FakeContext, table_name
from tests.reliability import drivers
from tests.support.dead_endpoints import DeadEndpoint, dead_endpoint

LAMBDA_S = 4.0  # the Athena invocations' time; AWS calls there may use all but 0.2 s of it
APPFLOW_LAMBDA_S = 4.0  # AppFlow keeps 1.5 s back from the Lambda's end
SLACK_S = 0.2  # thread start and scheduling, past the deadline a call is given
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:111122223333:secret:saas/deadline-AbCdEf"


def _env_name(service: str) -> str:
    return {"s3": "AWS_ENDPOINT_URL_S3", "kms": "AWS_ENDPOINT_URL_KMS", "sm": "AWS_ENDPOINT_URL_SECRETS_MANAGER"}[
        service
    ]


@pytest.fixture
def dead(request: pytest.FixtureRequest) -> Iterator[DeadEndpoint]:
    with dead_endpoint(request.param) as endpoint:
        yield endpoint


def _timed(fn: object) -> tuple[BaseException | None, float, object]:
    started = time.monotonic()
    try:
        out = fn()  # type: ignore[operator]
    except Exception as exc:
        return exc, time.monotonic() - started, None
    return None, time.monotonic() - started, out


def _check_athena(error: BaseException | None, elapsed: float, dead: DeadEndpoint, service: str) -> None:
    assert error is not None, "the request succeeded against a dead endpoint"
    name = type(error).__name__
    message = str(error)
    assert elapsed < LAMBDA_S, f"returned after {elapsed:.2f}s of a {LAMBDA_S}s invocation: {name}: {message}"
    assert dead.accepted >= 1, "the call never reached the dead endpoint"
    if dead.mode == "close":
        assert name in ("InternalServiceException", "OperationTimeoutException"), f"{name}: {message}"
    else:
        assert name == "OperationTimeoutException", f"{name}: {message}"
        assert service in message and " left" in message, message


# ---------------------------------------------------------------------------------------------- Athena


@pytest.mark.parametrize("dead", ["silent", "swallow", "close", "trickle"], indirect=True)
def test_athena_spill_put_ends_by_the_deadline(
    athena: drivers.Athena, env: pytest.MonkeyPatch, dead: DeadEndpoint
) -> None:
    splits, _ = athena.c.splits("accounts")
    schema = athena.c.table_schema("accounts")
    env.setenv(_env_name("s3"), dead.url)
    error, elapsed, _ = _timed(
        lambda: athena.c.read_split(
            "accounts", splits[0], schema, max_inline=1, context=FakeContext(remaining_ms=LAMBDA_S * 1000)
        )
    )
    _check_athena(error, elapsed, dead, "S3 PutObject")
    assert "s3://athena-spill-test/" in str(error)


@pytest.mark.parametrize("dead", ["swallow", "close"], indirect=True)
def test_athena_kms_data_key_ends_by_the_deadline(
    athena: drivers.Athena, env: pytest.MonkeyPatch, dead: DeadEndpoint
) -> None:
    partitions = athena.c.layout("accounts")
    athena.c.setenv("kms_key_id", "alias/deadline-test")
    env.setenv(_env_name("kms"), dead.url)
    request = GetSplitsRequest(IDENTITY, "q", CATALOG, table_name("accounts"), partitions, (), Constraints(), None)
    error, elapsed, _ = _timed(lambda: athena.c.invoke(request, FakeContext(remaining_ms=LAMBDA_S * 1000)))
    _check_athena(error, elapsed, dead, "KMS GenerateDataKey")


@pytest.mark.parametrize("dead", ["swallow", "close", "trickle"], indirect=True)
def test_athena_secret_read_ends_by_the_deadline(
    athena: drivers.Athena, env: pytest.MonkeyPatch, dead: DeadEndpoint
) -> None:
    splits, _ = athena.c.splits("accounts")
    schema = athena.c.table_schema("accounts")
    env.delenv("SAAS_API_KEY")
    env.setenv(_env_name("sm"), dead.url)
    athena.c.setenv("SAAS_SECRET_ARN", SECRET_ARN)
    error, elapsed, _ = _timed(
        lambda: athena.c.read_split("accounts", splits[0], schema, context=FakeContext(remaining_ms=LAMBDA_S * 1000))
    )
    _check_athena(error, elapsed, dead, "Secrets Manager GetSecretValue")


@pytest.mark.parametrize("dead", ["swallow"], indirect=True)
def test_athena_spec_in_s3_ends_by_the_deadline(
    athena: drivers.Athena, env: pytest.MonkeyPatch, dead: DeadEndpoint
) -> None:
    env.setenv(_env_name("s3"), dead.url)
    athena.c.setenv("SAAS_SPEC", "s3://specs/deadline.yaml")
    request = GetTableRequest(IDENTITY, "q", CATALOG, table_name("accounts"))
    error, elapsed, _ = _timed(lambda: athena.c.invoke(request, FakeContext(remaining_ms=LAMBDA_S * 1000)))
    _check_athena(error, elapsed, dead, "S3 GetObject")


def test_athena_secret_and_spill_work_with_a_live_endpoint(
    athena: drivers.Athena, env: pytest.MonkeyPatch, server: object
) -> None:
    """The same paths against moto's server: the deadline-fitted clients read the secret and write the blocks."""
    boto3.client("secretsmanager").create_secret(
        Name=f"saas/live-{time.time_ns()}", SecretString=json.dumps({"api_key": drivers.API_KEY})
    )
    arn = boto3.client("secretsmanager").list_secrets()["SecretList"][-1]["ARN"]
    splits, _ = athena.c.splits("accounts")
    schema = pa.schema([athena.c.table_schema("accounts").field("id")])
    env.delenv("SAAS_API_KEY")
    athena.c.setenv("SAAS_SECRET_ARN", arn)
    ids: list[int] = []
    spilled = 0
    for split in splits:
        table, out = athena.c.read_split("accounts", split, schema, max_inline=1, context=FakeContext(20_000))
        spilled += out["@type"] == "RemoteReadRecordsResponse"
        ids += table.column("id").to_pylist()
    assert spilled >= 1
    assert sorted(ids) == sorted(r["id"] for r in athena.c.server.store.all_records("accounts"))


# ---------------------------------------------------------------------------------------------- AppFlow


@pytest.mark.parametrize("dead", ["swallow", "close", "trickle"], indirect=True)
def test_appflow_secret_read_ends_by_the_deadline(
    appflow: drivers.AppFlowRun, env: pytest.MonkeyPatch, aws: str, dead: DeadEndpoint
) -> None:
    env.setattr(appflow_handler.HANDLER.runtime, "secrets", PowertoolsSecrets())
    env.setenv(_env_name("sm"), dead.url)
    started = time.monotonic()
    response = appflow.call(appflow.event("accounts"), budget_s=APPFLOW_LAMBDA_S)
    elapsed = time.monotonic() - started
    assert elapsed < APPFLOW_LAMBDA_S, f"returned after {elapsed:.2f}s of a {APPFLOW_LAMBDA_S}s invocation"
    assert dead.accepted >= 1
    assert not response["isSuccess"]
    details = response["errorDetails"]
    if dead.mode == "close":
        assert details["errorCode"] == "ServiceUnavailable", details
        assert "GetSecretValue" in details["errorMessage"], details
    else:
        assert details["errorCode"] == "RequestTimeout", details
        message = details["errorMessage"]
        assert "Secrets Manager GetSecretValue" in message and " left" in message, message


# ------------------------------------------------------------------------------------------ shared.aws


@pytest.mark.parametrize("dead", ["swallow", "close", "trickle"], indirect=True)
@pytest.mark.parametrize("budget_s", [0.3, 1.0, 2.5])
def test_a_call_never_outlasts_its_deadline(
    aws: str, monkeypatch: pytest.MonkeyPatch, dead: DeadEndpoint, budget_s: float
) -> None:
    monkeypatch.setenv(_env_name("s3"), dead.url)
    deadline = Deadline.in_seconds(budget_s)
    params = {"Bucket": "b", "Key": "k", "Body": b"x" * 1000}
    error, elapsed, _ = _timed(lambda: aws_calls.call("s3", "PutObject", params, deadline=deadline, what="s3://b/k"))
    assert error is not None
    assert elapsed <= budget_s + SLACK_S, f"{elapsed:.2f}s for a {budget_s}s deadline"
    if budget_s < aws_calls.shortest_call_s(aws_calls.EXPECT_CONTINUE_S):
        assert isinstance(error, aws_calls.AwsTimeoutError) and "no time left for S3 PutObject" in str(error)
        assert dead.accepted == 0, "a call that cannot fit is not started"
    elif dead.mode == "close":
        assert not isinstance(error, aws_calls.AwsTimeoutError), error
        assert type(error).__name__ == "ConnectionClosedError", repr(error)
    else:
        assert isinstance(error, aws_calls.AwsTimeoutError), repr(error)
        assert "S3 PutObject (s3://b/k) did not answer in time" in str(error)


def test_plans_fit_the_time_left() -> None:
    """For every time left, the plan's worst case (all attempts timing out, longest backoffs) fits in it; more time
    never gives fewer attempts or a shorter read timeout; below the shortest plan there is none."""
    for extra in (0.0, aws_calls.EXPECT_CONTINUE_S):
        previous: aws_calls.CallPlan | None = None
        for tenths in range(0, 4000):
            left = tenths / 10
            plan = aws_calls.plan_for(left, extra)
            if plan is None:
                assert left < aws_calls.shortest_call_s(extra) and previous is None
                continue
            assert plan.worst_case_s(extra) <= left
            assert 1 <= plan.attempts <= aws_calls.MAX_ATTEMPTS
            if previous is not None:
                assert (plan.attempts, plan.read_s) >= (previous.attempts, previous.read_s), (left, plan, previous)
            previous = plan
    assert aws_calls.plan_for(float("inf")) == aws_calls.CallPlan(5.0, 60.0, 3)
    assert aws_calls.plan_for(25.0, aws_calls.EXPECT_CONTINUE_S) == aws_calls.CallPlan(1.0, 3.0, 3)


def test_clients_are_shared_between_threads(aws: str) -> None:
    """Threads with different deadlines call at once (as the local runner's split threads do): every call answers,
    and the cached clients stay few (one per plan, not per call)."""
    aws_calls.clear_clients()
    boto3.client("s3").create_bucket(Bucket="aws-deadline-threads")
    budgets = [4.0, 8.0, 15.0, 40.0, 300.0, float("inf")] * 4  # 4 s: one attempt with a 2 s read timeout
    errors: list[BaseException] = []

    def put(i: int, budget: float) -> None:
        try:
            deadline = Deadline.none() if budget == float("inf") else Deadline.in_seconds(budget)
            aws_calls.call(
                "s3",
                "PutObject",
                {"Bucket": "aws-deadline-threads", "Key": f"k{i}", "Body": b"v%d" % i},
                deadline=deadline,
            )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=put, args=(i, b)) for i, b in enumerate(budgets)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    listed = boto3.client("s3").list_objects_v2(Bucket="aws-deadline-threads")["Contents"]
    assert sorted(o["Key"] for o in listed) == sorted(f"k{i}" for i in range(len(budgets)))
    assert len(aws_calls._clients) <= len({aws_calls.plan_for(b, aws_calls.EXPECT_CONTINUE_S) for b in budgets})
