"""Fixtures for the AppFlow connector: demo API servers on loopback, fake Secrets Manager, a simulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import requests

from appflow_connector.errors import ConnectorError
from appflow_connector.handler import ConnectorHandler
from appflow_connector.sdk import ErrorCode
from demo_api.server import DemoServer
from tests.appflow.simulator import AppFlow

REPO = Path(__file__).resolve().parents[2]
VECTORS = REPO / "tests" / "fixtures" / "appflow-vectors"
VECTOR_ARN = "arn:aws:secretsmanager:us-east-1:111122223333:secret:appflow!111122223333-my-connector-my-profile-AbCdEf"
SIM_ARN = AppFlow.secret_arn
SMALL_ROWS = {"accounts": 12, "contacts": 25, "deals": 15}


class FakeSecrets:
    """The Secrets Manager seam: ARN -> secret JSON object."""

    def __init__(self, secrets: Mapping[str, Mapping[str, str]]) -> None:
        self.secrets = {k: dict(v) for k, v in secrets.items()}
        self.reads: list[str] = []
        self.invalidated: list[str] = []

    def get(self, secret_arn: str, *, max_age_s: int) -> Mapping[str, str]:
        self.reads.append(secret_arn)
        if secret_arn not in self.secrets:
            raise ConnectorError(ErrorCode.ResourceNotFoundError, "the credentials secret does not exist")
        return self.secrets[secret_arn]

    def invalidate(self, secret_arn: str) -> None:
        self.invalidated.append(secret_arn)


def demo_secrets(api_key: str) -> FakeSecrets:
    return FakeSecrets({VECTOR_ARN: {"apiKey": api_key}, SIM_ARN: {"apiKey": api_key}})


@pytest.fixture(scope="session")
def demo_server() -> Iterator[DemoServer]:
    """A read-only demo API (accounts 100, contacts 300, deals 500, ~750 activities). Do not mutate.

    Contacts are kept to 300 because activities are read one contact at a time under the spec's rate
    limit (50 requests/s)."""
    with DemoServer(port=0, rows={"accounts": 100, "contacts": 300, "deals": 500}) as srv:
        yield srv


@pytest.fixture(scope="session")
def small_server() -> Iterator[DemoServer]:
    """A read-only tiny demo API for one-record-per-call runs. Do not mutate."""
    with DemoServer(port=0, rows=SMALL_ROWS) as srv:
        yield srv


@pytest.fixture
def fresh_server() -> Iterator[DemoServer]:
    """A demo API of its own, for tests that write or mutate."""
    with DemoServer(port=0, rows={"accounts": 60, "contacts": 120, "deals": 80}) as srv:
        yield srv


@pytest.fixture
def use_api(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Point the connector at a server: ``use_api(base_url, spec="demo")``."""

    def point(base_url: str, spec: str = "demo") -> None:
        monkeypatch.setenv("SAAS_SPEC", spec)
        monkeypatch.setenv("SAAS_BASE_URL", base_url)
        monkeypatch.delenv("SAAS_ALLOWED_BASE_URLS", raising=False)

    return point


@pytest.fixture
def appflow_for(use_api: Callable[..., None]) -> Callable[..., AppFlow]:
    """An AppFlow simulator talking to a fresh connector handler that points at ``server``."""

    def make(server: DemoServer, **kwargs: Any) -> AppFlow:
        use_api(server.base_url)
        return AppFlow(ConnectorHandler(demo_secrets(server.api_key)), **kwargs)

    return make


def dump(server: DemoServer, entity: str) -> list[dict[str, Any]]:
    """Every current record, from the demo API's admin endpoint."""
    response = requests.get(f"{server.admin_url}/dump/{entity}", timeout=30)
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


def mutate(server: DemoServer, entity: str, **body: Any) -> dict[str, Any]:
    response = requests.post(f"{server.admin_url}/mutate", json={"entity": entity, **body}, timeout=30)
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


def server_now(server: DemoServer) -> str:
    response = requests.get(f"{server.admin_url}/clock", timeout=30)
    response.raise_for_status()
    return str(response.json()["now"])
