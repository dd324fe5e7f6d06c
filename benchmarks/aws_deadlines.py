"""How long AWS calls take against endpoints that never answer, for a range of deadlines (issue 17, item 6).

The audit's case first: the Athena Lambda entry point reads a split of the demo API that must spill, with a 25 s
Lambda context and S3 at a loopback endpoint that accepts and never answers (before: returned after 314 s). Then
``shared.aws.call`` alone, for S3 PutObject (1 KB and 8 MB bodies) and Secrets Manager GetSecretValue, against
endpoints that are silent, swallow the request, close at once, or trickle one byte at a time, with deadlines of
5, 10 and 25 s (the cases of one endpoint side by side in threads: each only waits). Every case prints its
time, the plan used and the outcome; the run fails if any case outlasts its deadline by more than 0.1 s (thread
start and scheduling).

    .venv/bin/python benchmarks/aws_deadlines.py [--budgets 5 10 25] [--skip-handler]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared import aws
from shared.deadline import Deadline
from tests.support.dead_endpoints import MODES, dead_endpoint

FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}
OPERATIONS = {
    "S3 PutObject 1 KB": ("s3", "PutObject", {"Bucket": "b", "Key": "k", "Body": b"x" * 1024}),
    "S3 PutObject 8 MB": ("s3", "PutObject", {"Bucket": "b", "Key": "k", "Body": b"x" * (8 << 20)}),
    "Secrets Manager GetSecretValue": ("secretsmanager", "GetSecretValue", {"SecretId": "saas/x"}),
}


def handler_case(lambda_s: float) -> tuple[float, str]:
    """The audit's case through ``athena_connector.handler.lambda_handler``: a spilling read, S3 never answering."""
    import pyarrow as pa
    import pytest

    from athena_connector.runtime import reset_runtime
    from demo_api.server import DemoServer
    from tests.athena.connector.harness import Connector, FakeContext

    with DemoServer(port=0, rows={"accounts": 60}) as server, dead_endpoint("swallow") as dead:
        patch = pytest.MonkeyPatch()
        try:
            for key, value in {
                "SAAS_SPEC": "demo",
                "SAAS_BASE_URL": server.base_url,
                "SAAS_API_KEY": server.api_key,
                "spill_bucket": "bench-spill",
                "AWS_ENDPOINT_URL_S3": dead.url,
            }.items():
                patch.setenv(key, value)
            reset_runtime()
            connector = Connector(server, patch)
            splits, _ = connector.splits("accounts")
            schema = pa.schema([connector.table_schema("accounts").field("id")])
            started = time.monotonic()
            try:
                connector.read_split("accounts", splits[0], schema, max_inline=1, context=FakeContext(lambda_s * 1000))
                outcome = "answered (unexpected)"
            except Exception as exc:
                outcome = f"{type(exc).__name__}: {str(exc)[-160:]}"
            return time.monotonic() - started, outcome
        finally:
            patch.undo()
            reset_runtime()


def direct_cases(budgets: list[float]) -> list[tuple[str, str, float, float, str, str]]:
    """Every operation and deadline against each kind of endpoint: one endpoint at a time (clients read the
    endpoint from the environment when they are built), its cases side by side in threads."""
    rows: list[tuple[str, str, float, float, str, str]] = []
    lock = threading.Lock()

    def run(name: str, mode: str, budget: float) -> None:
        service, operation, params = OPERATIONS[name]
        extra = aws.EXPECT_CONTINUE_S if operation in aws.BODY_OPERATIONS else 0.0
        plan = aws.plan_for(budget, extra)
        deadline = Deadline.in_seconds(budget)
        started = time.monotonic()
        try:
            aws.call(service, operation, params, deadline=deadline)
            outcome = "answered"
        except Exception as exc:
            outcome = type(exc).__name__
        elapsed = time.monotonic() - started
        with lock:
            rows.append((name, mode, budget, elapsed, plan.describe() if plan else "none", outcome))

    for mode in MODES:
        with dead_endpoint(mode) as endpoint:
            os.environ["AWS_ENDPOINT_URL"] = endpoint.url
            threads = [threading.Thread(target=run, args=(n, mode, b)) for n in OPERATIONS for b in budgets]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    return sorted(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budgets", type=float, nargs="+", default=[5.0, 10.0, 25.0])
    parser.add_argument("--skip-handler", action="store_true", help="only the direct calls")
    args = parser.parse_args(argv)
    logging.disable(logging.CRITICAL)
    os.environ.update(FAKE_AWS)
    failed = False
    if not args.skip_handler:
        elapsed, outcome = handler_case(25.0)
        print(f"Athena ReadRecords, 25 s Lambda, S3 never answering: {elapsed:.1f} s -> {outcome}")
        failed |= elapsed > 25.0
    print(f"{'operation':32} {'endpoint':8} {'deadline':>8} {'took':>6}  plan -> outcome")
    for name, mode, budget, elapsed, plan, outcome in direct_cases(args.budgets):
        over = elapsed > budget + 0.1
        failed |= over
        flag = "  OVER" if over else ""
        print(f"{name:32} {mode:8} {budget:7.0f}s {elapsed:5.1f}s  {plan} -> {outcome}{flag}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
