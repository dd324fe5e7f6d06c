"""What the Lambda package relies on: the entry point imports (warnings as errors), pyarrow is never
needed, and the pinned SDK and ANTLR runtime are the ones installed."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    sys.modules["pyarrow"] = None  # any import of pyarrow now fails
    from demo_api.server import DemoServer
    from appflow_connector import handler
    from tests.appflow.conftest import demo_secrets, SIM_ARN

    with DemoServer(port=0, rows={"accounts": 5, "contacts": 4, "deals": 3}) as srv:
        os.environ["SAAS_BASE_URL"] = srv.base_url
        handler.HANDLER.runtime.secrets = demo_secrets(srv.api_key)
        ctx = {"apiVersion": "v1", "credentials": {"secretArn": SIM_ARN, "authenticationType": "ApiKey"}}
        events = [
            {"type": "DescribeConnectorConfigurationRequest"},
            {"type": "ValidateCredentialsRequest", "credentials": ctx["credentials"]},
            {"type": "ListEntitiesRequest", "connectorContext": ctx},
            {"type": "DescribeEntityRequest", "entityIdentifier": "deals", "connectorContext": ctx},
            {"type": "QueryDataRequest", "entityIdentifier": "activities", "connectorContext": ctx,
             "filterExpression": "contact_id = 2 or type = 'call'", "maxResults": None},
            {"type": "RetrieveDataRequest", "entityIdentifier": "contacts", "connectorContext": ctx, "ids": ["1"]},
            {"type": "WriteDataRequest", "entityIdentifier": "contacts", "connectorContext": ctx,
             "operation": "INSERT", "records": [json.dumps({"email": "p@example.com"})]},
        ]
        for event in events:
            response = handler.lambda_handler(event, None)
            assert response["isSuccess"], (event["type"], response)
    assert "pyarrow" not in [m for m in sys.modules if sys.modules[m] is not None]
    print("ok")
    """
)


def test_entry_point_runs_without_pyarrow_and_with_warnings_as_errors() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "SAAS_SPEC": "demo"}
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", SCRIPT],
        check=False,
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")


def test_no_pyarrow_in_the_sources() -> None:
    for path in (REPO / "appflow_connector").rglob("*.py"):
        assert "import pyarrow" not in path.read_text(), path


def test_pinned_dependencies() -> None:
    assert metadata.version("custom-connector-sdk") == "1.0.5"
    assert metadata.version("antlr4-python3-runtime").startswith("4.9.")
