"""Fixtures for the reliability suite: one small demo API per module, both connectors pointed at it through a fast
spec, S3 on moto, and a capture of every log line the suite emits (scanned for the test secrets at the end).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from appflow_connector import handler as appflow_handler
from demo_api.server import DemoServer
from tests.athena.connector.harness import SPILL_BUCKET, Connector
from tests.reliability import drivers
from tests.reliability.secrets_scan import SuiteLogCapture, find_secrets, known_secrets


class Secrets:
    """The Secrets Manager seam of the AppFlow connector: every ARN holds the demo API key."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key

    def get(self, secret_arn: str, *, max_age_s: int) -> dict[str, str]:
        return {"apiKey": self.api_key}

    def invalidate(self, secret_arn: str) -> None:
        return None


_CAPTURE = SuiteLogCapture()


@pytest.fixture(scope="session", autouse=True)
def suite_logs() -> Iterator[SuiteLogCapture]:
    """Every log record of the reliability suite, at DEBUG, formatted; none may contain a test secret."""
    root = logging.getLogger()
    previous = root.level
    root.addHandler(_CAPTURE)
    root.setLevel(logging.DEBUG)
    try:
        yield _CAPTURE
    finally:
        root.removeHandler(_CAPTURE)
        root.setLevel(previous)
    leaks = find_secrets(_CAPTURE.lines, known_secrets())
    assert not leaks, f"test secrets found in {len(leaks)} log line(s), e.g. {leaks[0][:300]!r}"


@pytest.fixture(scope="module")
def server() -> Iterator[DemoServer]:
    with DemoServer(
        port=0,
        rows=drivers.ROWS,
        api_key=drivers.API_KEY,
        client_id=drivers.CLIENT_ID,
        client_secret=drivers.CLIENT_SECRET,
    ) as srv:
        yield srv


@pytest.fixture(scope="session")
def fast_spec_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return drivers.write_spec(tmp_path_factory.mktemp("spec") / "fast.yaml", drivers.fast_spec_data())


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, server: DemoServer, fast_spec_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """Both connectors configured for ``server`` with the fast spec; faults and data reset afterwards."""
    from athena_connector.runtime import reset_runtime

    for key in (
        "spill_prefix",
        "disable_spill_encryption",
        "kms_key_id",
        "schema_name",
        "timestamp_type",
        "enable_query_passthrough",
        "max_splits_per_response",
        "deadline_margin_seconds",
        "SAAS_SECRET_ARN",
        "SAAS_CREDENTIALS",
        "SAAS_ALLOWED_BASE_URLS",
    ):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("SAAS_SPEC", str(fast_spec_path))
    monkeypatch.setenv("SAAS_BASE_URL", server.base_url)
    monkeypatch.setenv("SAAS_API_KEY", server.api_key)
    monkeypatch.setenv("spill_bucket", SPILL_BUCKET)
    monkeypatch.setenv("split_probes", "false")  # faults are placed by request number: no probes while planning
    monkeypatch.setattr(appflow_handler.HANDLER.runtime, "secrets", Secrets(server.api_key))
    server.reset()
    reset_runtime()
    yield monkeypatch
    server.reset()
    reset_runtime()


@pytest.fixture
def athena(env: pytest.MonkeyPatch, aws: str, server: DemoServer, fast_spec_path: Path) -> drivers.Athena:
    s3 = boto3.client("s3")
    if SPILL_BUCKET not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket=SPILL_BUCKET)
    return drivers.Athena(Connector(server, env), drivers.load(fast_spec_path))


@pytest.fixture
def appflow(env: pytest.MonkeyPatch, fast_spec_path: Path) -> drivers.AppFlowRun:
    return drivers.AppFlowRun(drivers.load(fast_spec_path))
