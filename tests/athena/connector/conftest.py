"""Fixtures for the connector tests: the demo API over HTTP, S3 (and KMS) on moto's server, and a harness that
invokes ``lambda_handler`` with JSON events exactly as Athena sends them (built with the wire layer's
``to_wire``, then ``json.dumps`` / ``json.loads``) and checks every response is JSON and under 6 MB.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from demo_api.server import DemoServer
from tests.athena.connector.harness import SPILL_BUCKET, Connector

# Small data keeps the suite fast: 100 accounts, 120 contacts (~300 activities), 500 deals.
DEMO_ROWS = {"contacts": 120}


@pytest.fixture(scope="session")
def demo_server() -> Iterator[DemoServer]:
    with DemoServer(port=0, scale=0.05, rows=DEMO_ROWS) as srv:
        yield srv


@pytest.fixture(scope="session")
def unthrottled_spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo spec without its client-side rate limit (50 req/s), for tests that read many parents."""
    from importlib import resources

    text = (resources.files("shared.specs") / "demo.yaml").read_text()
    data = yaml.safe_load(text)
    data["api"].pop("rate_limit", None)
    path = tmp_path_factory.mktemp("spec") / "demo_unthrottled.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def connector(monkeypatch: pytest.MonkeyPatch, aws: str, demo_server: DemoServer) -> Iterator[Connector]:
    """The connector configured for the demo API and a spill bucket on moto; cleared faults, fresh runtime."""
    import boto3

    from athena_connector.runtime import reset_runtime

    for key in ("spill_prefix", "disable_spill_encryption", "kms_key_id", "schema_name", "timestamp_type",
                "enable_query_passthrough", "max_splits_per_response", "deadline_margin_seconds",
                "max_rows_per_split", "split_page_seconds", "split_probes",
                "SAAS_SECRET_ARN", "SAAS_CREDENTIALS"):  # fmt: skip
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("SAAS_SPEC", "demo")
    monkeypatch.setenv("SAAS_BASE_URL", demo_server.base_url)
    monkeypatch.setenv("SAAS_API_KEY", demo_server.api_key)
    monkeypatch.setenv("spill_bucket", SPILL_BUCKET)
    s3 = boto3.client("s3")
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if SPILL_BUCKET not in existing:
        s3.create_bucket(Bucket=SPILL_BUCKET)
    demo_server.clear_faults()
    reset_runtime()
    yield Connector(demo_server, monkeypatch)
    demo_server.clear_faults()
    reset_runtime()
