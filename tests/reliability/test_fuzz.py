"""A CI-sized run of the entry-point fuzzer (``benchmarks/fuzz_entry_points.py``; the long run's counts are in
docs/reliability.md): mutated protocol vectors into both Lambda handlers, each case bounded in time, and every one
must end in a clear typed error or an answer, never a crash, a hang, an opaque error or a secret in a message."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from benchmarks.fuzz_entry_points import (
    APPFLOW_VECTORS,
    ATHENA_VECTORS,
    MUTATIONS,
    Campaign,
    appflow_vector_seeds,
    athena_vector_seeds,
    environment,
    mutate,
    run_case,
)

CASES = int(os.environ.get("FUZZ_CASES", "400"))
CASE_TIMEOUT_S = 5.0


@pytest.fixture(scope="module")
def fuzz_env() -> Iterator[None]:
    for path in (ATHENA_VECTORS, APPFLOW_VECTORS):
        assert path.is_dir(), f"protocol vectors missing from the repository: {path}"
    with environment():
        yield


@pytest.mark.parametrize("seed", [11, 12])
def test_fuzzed_events_end_in_clear_errors(seed: int, fuzz_env: None) -> None:
    campaign = Campaign(seed=seed, timeout_s=CASE_TIMEOUT_S).run(CASES // 2)
    assert campaign.total == CASES // 2
    assert not campaign.failures, campaign.summary()
    assert set(campaign.by_mutation) == set(MUTATIONS), "every kind of mutation was tried"
    assert campaign.slowest < CASE_TIMEOUT_S
    assert campaign.counts["typed_error"] > campaign.total // 2


def test_the_seeds_cover_every_vector(fuzz_env: None) -> None:
    assert len(athena_vector_seeds()) >= 20 and len(appflow_vector_seeds()) >= 12


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_each_mutation_of_a_read_request(mutation: str, fuzz_env: None) -> None:
    """The deepest seeds (a ReadRecords and a QueryData on demo tables), every mutation kind, a few times."""
    import random

    from benchmarks.fuzz_entry_points import appflow_demo_seeds, athena_demo_seeds

    rng = random.Random(mutation)
    read = dict(athena_demo_seeds())["demo_read"]
    query = dict(appflow_demo_seeds())["demo_query"]
    for _ in range(4):
        for connector, event in (("athena", read), ("appflow", query)):
            result = run_case(connector, "demo", mutation, mutate(event, rng, mutation), CASE_TIMEOUT_S)
            assert result.outcome in ("answered", "typed_error"), result
