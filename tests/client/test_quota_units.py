"""The quota's parts on the test clock: the GCRA arithmetic, leases handed out locally, the DynamoDB store on
moto's server, the AIMD limiter, and the fallback when the table cannot be used."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import boto3
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from shared.quota import gcra
from shared.quota.adaptive import CALM_S, AdaptiveLimiter
from shared.quota.dynamodb import MAX_LEASE_S, TABLE_ENV, DynamoStore, QuotaStoreError
from shared.quota.gcra import Grant, Refusal
from shared.quota.leases import LeasedTokens
from shared.quota.limiter import MIN_SHARED_HORIZON_S, QuotaLimiter, limiter_for, quota_key
from shared.spec.model import RateLimitSpec
from tests.support.aws import FAKE_ENV, moto_server, use_moto
from tests.support.clock import FakeClock
from tests.support.dead_endpoints import dead_endpoint


class MemoryStore:
    """The store protocol over one number per key, with the same arithmetic the table uses."""

    def __init__(self) -> None:
        self.tat: dict[str, float] = {}
        self.calls = 0

    def connect(self) -> None:
        return None

    def lease(
        self, key: str, tokens: int, rate: float, capacity: float, now: float, horizon_s: float, hint: float | None
    ) -> tuple[Grant | Refusal, float]:
        self.calls += 1
        outcome = gcra.reserve(self.tat.get(key), now, tokens, rate, capacity, horizon_s)
        if isinstance(outcome, Refusal):
            return outcome, self.tat.get(key, now)
        self.tat[key], grant = outcome
        return grant, self.tat[key]


class BrokenStore:
    def __init__(self) -> None:
        self.calls = 0

    def connect(self) -> None:
        return None

    def lease(self, *args: object) -> tuple[Grant | Refusal, float]:
        self.calls += 1
        raise QuotaStoreError("ResourceNotFoundException: no such table")


# -- the arithmetic -------------------------------------------------------------------------------------------
def test_an_idle_bucket_grants_its_burst_at_once_then_paces_at_the_rate() -> None:
    tat, now, granted = None, 100.0, []
    for _ in range(5):
        outcome = gcra.reserve(tat, now, 2, rate=10, capacity=6, horizon_s=10)
        assert not isinstance(outcome, Refusal)
        tat, grant = outcome
        granted.append(round(grant.usable_at - now, 6))
    # 6 tokens of burst (3 leases of 2), then one lease of 2 per 0.2 s
    assert granted == [0.0, 0.0, 0.0, 0.2, 0.4]


def test_a_lease_usable_only_past_the_horizon_is_refused_and_takes_nothing() -> None:
    outcome = gcra.reserve(101.0, 100.0, 2, rate=10, capacity=5, horizon_s=0.5)
    # TAT 1 s ahead + 0.2 s for the lease - 0.5 s of capacity = usable in 0.7 s > 0.5 s
    assert outcome == Refusal(pytest.approx(0.7))


@settings(max_examples=200, deadline=None)
@given(
    rate=st.floats(0.5, 200),
    burst=st.integers(1, 300),
    gaps=st.lists(st.floats(0, 0.5), min_size=1, max_size=120),
)
def test_tokens_usable_in_any_window_never_exceed_burst_plus_rate_times_window(
    rate: float, burst: int, gaps: list[float]
) -> None:
    """The promise behind the API's count: in any window of T seconds, at most burst + rate x T tokens."""
    size = gcra.lease_size(rate, burst)
    assert 1 <= size <= max(1, burst)
    tat, now, uses = None, 0.0, []
    for gap in gaps:
        now += gap
        outcome = gcra.reserve(tat, now, size, rate, burst, horizon_s=5)
        if isinstance(outcome, Refusal):
            continue
        tat, grant = outcome
        uses += [grant.usable_at] * grant.tokens
    uses.sort()
    for i, start in enumerate(uses):
        for window in (0.0, 0.25, 1.0):
            inside = sum(1 for u in uses[i:] if u <= start + window + 1e-9)
            assert inside <= max(burst, size) + rate * window + 1e-6


@pytest.mark.parametrize(
    ("rate", "burst", "size"), [(10, 10, 2), (1, 1, 1), (100, 100, 25), (500, 500, 125), (10, 40, 3), (0.5, 5, 1)]
)
def test_lease_size_is_a_quarter_second_capped_by_a_quarter_of_the_burst(rate: float, burst: int, size: int) -> None:
    assert gcra.lease_size(rate, burst) == size


# -- leased tokens handed out locally -------------------------------------------------------------------------
def test_one_lease_serves_several_requests() -> None:
    clock, store = FakeClock(), MemoryStore()
    tokens = LeasedTokens(store, "k", rate=100, burst=100, clock=clock)  # leases of 25, 50 tokens at once
    slots = [tokens.take(horizon_s=10) for _ in range(100)]
    assert not any(s.refused for s in slots)
    assert [s.wait_s for s in slots[:50]] == [0.0] * 50
    assert [s.wait_s for s in slots[50::25]] == pytest.approx([0.25, 0.5], abs=1e-5)  # a lease per 0.25 s
    assert store.calls == 4


def test_held_tokens_go_stale_and_are_not_spent_late() -> None:
    clock, store = FakeClock(), MemoryStore()
    tokens = LeasedTokens(store, "k", rate=10, burst=10, clock=clock)  # leases of 2, held 0.5 s at most
    assert (tokens.batch, tokens.hold_s, tokens.capacity) == (2, 0.5, 5.0)
    tokens.take(10)
    clock.sleep(0.4)
    tokens.take(10)  # 0.4 s late: still spent
    tokens.take(10)
    clock.sleep(0.6)
    tokens.take(10)  # the second token of the second lease is 0.6 s late: dropped, a new lease
    assert store.calls == 3


def test_processes_sharing_one_store_queue_for_the_quota() -> None:
    clock, store = FakeClock(), MemoryStore()
    many = [LeasedTokens(store, "k", rate=10, burst=4, clock=clock) for _ in range(4)]  # leases of 1
    waits = [t.take(10).wait_s for t in many for _ in range(2)]
    # 2 tokens at once (the burst less what may be held late: 10/s x 0.2 s), then one per 0.1 s for everyone
    assert sorted(waits) == pytest.approx([0.0, 0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6], abs=1e-5)


class ManualClock(FakeClock):
    """Time that moves only when the test says (a process 'sleeping' until its token does not move the others)."""

    def sleep(self, seconds: float) -> None:
        raise AssertionError("the simulation never sleeps")


# five processes hold a token each through a long pause, then spend them as two others spend fresh ones
HELD_THROUGH_A_PAUSE = [(i, 0.0) for i in range(5)] + [(0, 10.0)] + [(i, 0.0) for i in (1, 2, 3, 4, 5, 5, 6, 6)]


@settings(max_examples=150, deadline=None)
@example(rate=10.0, burst=8, steps=HELD_THROUGH_A_PAUSE)
@given(
    rate=st.sampled_from([2.0, 10.0, 40.0, 100.0]),
    burst=st.integers(1, 60),
    steps=st.lists(st.tuples(st.integers(0, 7), st.floats(0, 0.4)), min_size=1, max_size=200),
)
def test_processes_spending_leased_tokens_late_still_keep_the_apis_bound(
    rate: float, burst: int, steps: list[tuple[int, float]]
) -> None:
    """Eight processes take tokens at arbitrary moments (so held tokens are spent late, or dropped when too late);
    the requests they send, each when its token allows, never exceed burst + rate x T in any window of T."""
    clock, store = ManualClock(), MemoryStore()
    processes = [LeasedTokens(store, "k", rate, burst, clock) for _ in range(8)]
    sends = []
    for index, gap in steps:
        clock.now += gap
        slot = processes[index].take(horizon_s=30)
        assert not slot.refused
        sends.append(clock.now + slot.wait_s)
    sends.sort()
    for i, start in enumerate(sends):
        for window in (0.0, 0.5, 1.0):
            inside = sum(1 for t in sends[i:] if t <= start + window + 1e-6)
            assert inside <= burst + rate * window + 1e-6, (window, inside)


# -- the DynamoDB store on moto's server ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def dynamodb_table() -> Iterator[tuple[str, object]]:
    with moto_server() as endpoint:
        client = boto3.client(
            "dynamodb",
            endpoint_url=endpoint,
            region_name=FAKE_ENV["AWS_REGION"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        client.create_table(
            TableName="quota",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield "quota", client


def test_the_table_store_grants_like_the_arithmetic(dynamodb_table: tuple[str, object]) -> None:
    table, client = dynamodb_table
    clock = FakeClock()
    store, memory = DynamoStore(table, client), MemoryStore()
    a = LeasedTokens(store, "same-arithmetic", rate=10, burst=8, clock=clock)
    b = LeasedTokens(memory, "same-arithmetic", rate=10, burst=8, clock=clock)
    for step in range(12):
        slot_a, slot_b = a.take(5), b.take(5)
        assert slot_a.refused == slot_b.refused and slot_a.wait_s == pytest.approx(slot_b.wait_s, abs=1e-5), step
        clock.sleep(0.05)
    assert store.calls == memory.calls == 6  # one UpdateItem per lease of 2: half a call per request


def test_the_table_store_restarts_an_idle_bucket_and_refuses_past_the_horizon(
    dynamodb_table: tuple[str, object],
) -> None:
    table, client = dynamodb_table
    clock = FakeClock()
    store = DynamoStore(table, client)
    outcome, tat = store.lease("idle", 2, 10, 2, clock.time(), 1.0, None)
    assert isinstance(outcome, Grant) and outcome.usable_at == pytest.approx(clock.time(), abs=1e-5)
    assert tat == pytest.approx(clock.time() + 0.2, abs=1e-5)
    # a wrong guess ("busy") on an item gone idle costs one more call, and still grants from now
    clock.sleep(5)
    outcome, _ = store.lease("idle", 2, 10, 2, clock.time(), 1.0, tat + 10)
    assert isinstance(outcome, Grant) and outcome.usable_at == pytest.approx(clock.time(), abs=1e-5)
    calls = store.calls
    outcomes = [store.lease("idle", 2, 10, 2, clock.time(), 1.0, clock.time() + 1)[0] for _ in range(6)]
    # tokens usable within the 1 s horizon: TAT up to 1.2 s ahead (0.2 s of capacity), i.e. 5 more leases of 2
    assert [isinstance(o, Grant) for o in outcomes] == [True] * 5 + [False]
    assert isinstance(outcomes[-1], Refusal) and outcomes[-1].wait_s == pytest.approx(1.2, abs=1e-5)
    assert store.calls - calls == 6  # the refusal cost one conditional update, which changed nothing


def test_an_unreachable_table_is_a_store_error_and_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    use_moto(monkeypatch, "http://127.0.0.1:9")  # nothing listens on the discard port
    store = DynamoStore("quota")  # the client the Lambda makes: short timeouts, one attempt a round
    started = time.monotonic()
    with pytest.raises(QuotaStoreError):
        store.lease("k", 1, 1, 1, 0.0, 1.0, None)
    assert time.monotonic() - started < 5  # generous: coordination being down must not stall a read


@pytest.mark.parametrize("mode", ["silent", "trickle"])
def test_a_table_that_never_answers_is_given_up_within_the_lease_budget(
    mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every call of a lease is bounded (shared.aws), MAX_LEASE_S in all: a hung endpoint cannot hold a read."""
    with dead_endpoint(mode) as endpoint:
        use_moto(monkeypatch, endpoint.url)
        store = DynamoStore("quota")
        started = time.monotonic()
        with pytest.raises(QuotaStoreError):
            store.lease("k", 1, 1, 1, 0.0, 1.0, None)
        assert time.monotonic() - started < MAX_LEASE_S + 1.0


def test_close_to_the_deadline_the_process_paces_itself_without_the_table() -> None:
    clock, store = FakeClock(), BrokenStore()
    limiter = QuotaLimiter(RateLimitSpec(10, 10), clock, LeasedTokens(store, "k", 10, 10, clock), "quota")
    assert limiter.reserve(MIN_SHARED_HORIZON_S - 0.1).wait_s == 0  # the table is not asked: no lease can fit
    assert store.calls == 0 and limiter.sharing and limiter.fallbacks == 0
    limiter.reserve(MIN_SHARED_HORIZON_S + 1)  # with time left it is (and, broken here, falls back)
    assert store.calls == 1 and limiter.fallbacks == 1


# -- the adaptive limiter (AIMD) -----------------------------------------------------------------------------
def test_a_throttle_halves_the_rate_once_per_calm_period_and_successes_add_it_back() -> None:
    clock = FakeClock()
    limiter = AdaptiveLimiter(10, 10, clock)
    limiter.on_throttle()
    limiter.on_throttle()  # the same burst of 429s: counted once
    assert limiter.rate == 5 and limiter.decreases == 1
    clock.sleep(CALM_S)
    limiter.on_throttle()
    assert limiter.rate == 2.5
    for _ in range(10):
        limiter.on_success()
    assert limiter.rate == pytest.approx(7.5)  # + 0.5 (a twentieth of 10) each
    for _ in range(100):
        limiter.on_success()
    assert limiter.rate == 10  # never above the spec's rate


def test_the_rate_never_falls_below_its_floor() -> None:
    clock = FakeClock()
    limiter = AdaptiveLimiter(10, 10, clock)
    for _ in range(20):
        limiter.on_throttle()
        clock.sleep(100)
    assert limiter.rate == pytest.approx(10 / 64)


def test_the_pace_follows_the_rate_and_a_pause_holds_every_request() -> None:
    clock = FakeClock()
    limiter = AdaptiveLimiter(4, 1, clock)
    assert limiter.reserve() == 0.0
    assert limiter.reserve() == pytest.approx(0.25)
    clock.sleep(0.25)
    limiter.on_throttle(pause_s=3.0)  # rate 2/s and a 3 s pause
    assert limiter.reserve() == pytest.approx(3.0)
    clock.sleep(3.0)
    assert limiter.reserve() == 0.0  # the bucket refilled during the pause
    assert limiter.reserve() == pytest.approx(0.5)  # then 2/s


# -- the limiter: shared tokens, the fallback, the key ---------------------------------------------------------
def test_the_limiter_waits_for_the_later_of_its_pace_and_its_shared_token() -> None:
    clock, store = FakeClock(), MemoryStore()
    spec = RateLimitSpec(10, 4)
    other = LeasedTokens(store, "k", 10, 4, clock)
    for _ in range(4):
        other.take(10)  # another process took the whole burst
    limiter = QuotaLimiter(spec, clock, LeasedTokens(store, "k", 10, 4, clock), "quota")
    # the shared bucket holds 2 (4 less 10/s x 0.2 s of hold): the other's 4 tokens reach 0.2 s ahead, ours 0.3 s
    assert limiter.reserve(10).wait_s == pytest.approx(0.3, abs=1e-5)
    assert limiter.sharing and "shared by every invocation through DynamoDB table 'quota'" in limiter.describe()


def test_a_broken_table_falls_back_with_one_warning_and_is_retried_later(caplog: pytest.LogCaptureFixture) -> None:
    clock, store = FakeClock(), BrokenStore()
    limiter = QuotaLimiter(RateLimitSpec(10, 10), clock, LeasedTokens(store, "k", 10, 10, clock), "quota")
    with caplog.at_level(logging.WARNING, logger="shared.quota.limiter"):
        for _ in range(20):
            assert limiter.reserve(10).wait_s >= 0  # never an error: the read goes on
        clock.sleep(61)
        limiter.reserve(10)
    assert store.calls == 2  # once, then again after the retry interval
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "'quota' cannot be used (ResourceNotFoundException" in warnings[0].getMessage()
    assert "could not be used" in limiter.describe() or limiter.sharing is False


def test_the_quota_key_is_per_origin_and_credential_and_never_the_secret() -> None:
    key = quota_key("https://api.example.com:443", {"api_key": "s3cr3t-value"})
    assert key.startswith("v1#") and len(key) == 3 + 64
    assert "s3cr3t" not in key
    assert key == quota_key("https://api.example.com:443", {"api_key": "s3cr3t-value"})
    assert key != quota_key("https://api.example.com:443", {"api_key": "other"})
    assert key != quota_key("https://eu.example.com:443", {"api_key": "s3cr3t-value"})


def test_one_limiter_per_process_origin_and_credential(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TABLE_ENV, raising=False)
    clock, spec = FakeClock(), RateLimitSpec(5, 5)
    a = limiter_for("https://a:443", {"api_key": "x"}, spec, clock)
    assert limiter_for("https://a:443", {"api_key": "x"}, spec, clock) is a
    assert limiter_for("https://a:443", {"api_key": "y"}, spec, clock) is not a
    assert limiter_for("https://a:443", {"api_key": "x"}, spec, FakeClock()) is not a
    assert a.leased is None and "no shared quota table is configured" in a.describe()
    monkeypatch.setenv(TABLE_ENV, "quota")
    shared = limiter_for("https://a:443", {"api_key": "x"}, spec, clock)
    assert shared is not a and shared.leased is not None and shared.table == "quota"
