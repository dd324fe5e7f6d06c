"""The token bucket on a FakeClock (burst, steady rate, exact waits, refill, thread safety) and the spec's
``rate_limit`` through the client: the sleeps recorded are exactly what the rate requires."""

from __future__ import annotations

import threading

import pytest

from shared.client import SaaSClient
from shared.deadline import Deadline
from shared.errors import SaaSRateLimitedError
from shared.ratelimit import TokenBucket
from shared.spec import load_spec_text
from tests.support.clock import FakeClock
from tests.support.fake_saas import API_KEY, FakeSaaS, fake_spec_text, make_records, serve


# -- TokenBucket ---------------------------------------------------------------------------------------
def test_the_burst_is_free_then_each_token_costs_one_interval() -> None:
    clock = FakeClock()
    bucket = TokenBucket(2.0, 3, clock)
    assert [bucket.reserve() for _ in range(6)] == [0.0, 0.0, 0.0, 0.5, 1.0, 1.5]  # no time passed


def test_acquire_sleeps_to_a_steady_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(4.0, 1, clock)
    waits = [bucket.acquire() for _ in range(10)]
    assert waits == [0.0] + [0.25] * 9
    assert clock.sleeps == [0.25] * 9
    assert clock.monotonic() == pytest.approx(2.25)  # 10 requests at 4/s after a burst of 1


def test_a_fractional_rate_computes_exact_waits() -> None:
    clock = FakeClock()
    bucket = TokenBucket(3.0, 2, clock)
    for _ in range(8):
        bucket.acquire()
    assert clock.sleeps == pytest.approx([1 / 3] * 6)
    assert clock.monotonic() == pytest.approx(2.0)


def test_tokens_refill_with_time_but_never_beyond_the_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(2.0, 3, clock)
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    clock.mono += 0.75  # 1.5 tokens back
    assert bucket.reserve() == 0.0
    assert bucket.reserve() == pytest.approx(0.25)  # half a token short
    clock.mono += 3600  # idle for an hour: still only a burst's worth
    assert [bucket.reserve() for _ in range(4)] == [0.0, 0.0, 0.0, 0.5]


def test_a_partial_wait_counts_what_has_already_refilled() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10.0, 1, clock)
    bucket.reserve()
    clock.mono += 0.04
    assert bucket.reserve() == pytest.approx(0.06)


def test_concurrent_reservations_queue_up_exactly() -> None:
    clock = FakeClock()  # frozen: only the reservations themselves decide the waits
    bucket = TokenBucket(5.0, 4, clock)
    waits: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        for _ in range(10):
            w = bucket.reserve()
            with lock:
                waits.append(w)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(waits) == pytest.approx([0.0] * 4 + [k / 5.0 for k in range(1, 77)])


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1), (-1.0, 1), (1.0, 0)])
def test_a_bucket_needs_a_positive_rate_and_a_burst(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="rate must be positive"):
        TokenBucket(rate, burst, FakeClock())


# -- through the client --------------------------------------------------------------------------------
def client_for(base: str, clock: FakeClock, rate_limit: str) -> SaaSClient:
    spec = load_spec_text(fake_spec_text(base, api_extra=f"  rate_limit: {rate_limit}"), source="ratelimit.yaml")
    return SaaSClient(spec, {"api_key": API_KEY}, clock=clock)


@pytest.mark.parametrize(
    ("rate_limit", "rate", "burst"),
    [
        ("{requests_per_second: 4, burst: 2}", 4.0, 2),
        ("{requests_per_second: 0.5, burst: 1}", 0.5, 1),
        ("{requests_per_second: 3}", 3.0, 3),  # burst defaults to the rate
        ("{requests_per_second: 100, burst: 50}", 100.0, 50),
    ],
)
def test_the_client_paces_requests_to_the_spec_rate(rate_limit: str, rate: float, burst: int) -> None:
    app = FakeSaaS(make_records(75))  # 8 pages of 10
    clock = FakeClock()
    with serve(app) as base:
        client = client_for(base, clock, rate_limit)
        pages = list(client.iter_pages(client.plan("items")))
    assert [r["id"] for p in pages for r in p.records] == list(range(1, 76))
    assert len(app.requests) == 8
    paced = max(0, 8 - burst)
    assert clock.sleeps == pytest.approx([1 / rate] * paced)
    assert clock.monotonic() == pytest.approx(paced / rate)
    assert sum(p.stats.waited_s for p in pages) == pytest.approx(paced / rate)


def test_retries_are_paced_too_and_a_503_slows_the_pace() -> None:
    app = FakeSaaS(make_records(45), faults={3: "503"})
    clock = FakeClock(jitter=0.0)  # backoff of 0 s: every sleep left is the bucket's
    with serve(app) as base:
        client = client_for(base, clock, "{requests_per_second: 4, burst: 2}")
        assert len(list(client.iter_records(client.plan("items")))) == 45
    assert len(app.requests) == 6
    # requests 1-2 free; 3 waits 0.25, fails (503: the pace halves to 2/s), backs off 0; its retry waits 1/2 s;
    # each success adds back a twentieth of the 4/s ceiling: 2.2/s, then 2.4/s
    assert clock.sleeps == pytest.approx([0.25, 0.0, 0.5, 1 / 2.2, 1 / 2.4])


def test_a_rate_limit_wait_past_the_deadline_raises_before_sending() -> None:
    app = FakeSaaS(make_records(25))
    clock = FakeClock()
    with serve(app) as base:
        client = client_for(base, clock, "{requests_per_second: 1, burst: 1}")
        with pytest.raises(SaaSRateLimitedError, match="quota .*1 requests/s, burst 1.* 1.0s away") as err:
            list(client.iter_records(client.plan("items"), deadline=Deadline.in_seconds(1.2, clock)))
    assert (err.value.entity, err.value.page) == ("items", 2)
    assert len(app.requests) == 1
    assert clock.sleeps == []


def test_one_client_keeps_one_bucket_across_reads() -> None:
    app = FakeSaaS(make_records(5))
    clock = FakeClock()
    with serve(app) as base:
        client = client_for(base, clock, "{requests_per_second: 2, burst: 2}")
        for _ in range(4):
            assert len(list(client.iter_records(client.plan("items")))) == 5
    assert clock.sleeps == pytest.approx([0.5, 0.5])
