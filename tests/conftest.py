"""Shared fixtures. Tests talk to real servers on loopback; nothing here mocks the code under test."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.auth import clear_token_cache

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"  # protocol vectors, copied in (see its README.md)


@pytest.fixture(autouse=True)
def _fresh_token_cache() -> Iterator[None]:
    clear_token_cache()
    yield
    clear_token_cache()


@pytest.fixture
def captured_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """One moto server (S3, Secrets Manager, ...) for the whole run."""
    from tests.support.aws import moto_server

    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, moto_endpoint: str) -> str:
    """This test's boto3 clients talk to moto's server."""
    from tests.support.aws import use_moto

    use_moto(monkeypatch, moto_endpoint)
    return moto_endpoint
