"""Property: for any page size, record count, pagination style and fault schedule, the client yields
exactly the source's records once, or fails with a clear typed error; never a silent loss or duplicate."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.client import SaaSClient
from shared.errors import SaaSRequestError
from shared.spec import load_spec_text
from tests.support.clock import FakeClock
from tests.support.fake_saas import (
    API_KEY,
    PAGINATION,
    SERVER_STYLE,
    FakeSaaS,
    fake_spec_text,
    make_records,
    serve,
)

ATTEMPTS = 3
FAULTS = ["500", "503", "429", "429-bare", "malformed", "truncate"]


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[FakeSaaS, str]]:
    app = FakeSaaS([])
    with serve(app) as base:
        yield app, base


def longest_fault_run(faults: dict[int, str]) -> int:
    best = run = 0
    for n in range(1, max(faults, default=0) + 2):
        run = run + 1 if n in faults else 0
        best = max(best, run)
    return best


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    style=st.sampled_from(sorted(PAGINATION)),
    count=st.integers(min_value=0, max_value=60),
    page_size=st.integers(min_value=1, max_value=25),
    faults=st.dictionaries(st.integers(min_value=1, max_value=30), st.sampled_from(FAULTS), max_size=8),
)
def test_exactly_once_or_a_clear_error(
    server: tuple[FakeSaaS, str], style: str, count: int, page_size: int, faults: dict[int, str]
) -> None:
    app, base = server
    records = make_records(count)
    with app.lock:
        app.records = records
        app.style = SERVER_STYLE.get(style, style)
        app.faults = faults
        app.requests = []
    client = SaaSClient(load_spec_text(fake_spec_text(base, style, ATTEMPTS)), {"api_key": API_KEY}, clock=FakeClock())
    try:
        got = [r["id"] for r in client.iter_records(client.plan("items"), page_size=page_size)]
    except SaaSRequestError as exc:
        assert longest_fault_run(faults) >= ATTEMPTS, f"failed without enough faults: {exc}"
        assert exc.entity == "items"
        assert exc.page is not None
        assert API_KEY not in str(exc)
        return
    assert got == [r["id"] for r in records]
