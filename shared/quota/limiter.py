"""The quota one process keeps: its adaptive pace, plus its share of the quota every invocation shares.

``api.rate_limit`` in the spec is the API's limit for one credential. When the template's table is configured
(``SAAS_QUOTA_TABLE``), every Lambda using the same API origin and credential leases tokens from one item of it,
so the sum over all concurrent invocations stays under the quota. When the table cannot be used, the read goes
on under this process's adaptive limiter alone, with one WARNING: coordination being down never fails a read.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass

from shared.clock import Clock
from shared.quota.adaptive import AdaptiveLimiter
from shared.quota.dynamodb import DynamoStore, QuotaStoreError, table_from_environment
from shared.quota.leases import LeasedTokens, LeaseStore
from shared.spec.model import RateLimitSpec

log = logging.getLogger(__name__)

RETRY_SHARED_AFTER_S = 60.0  # after a table failure, try the table again this much later
# A lease can take up to dynamodb.MAX_LEASE_S; closer to the deadline than this, the process paces itself alone
# rather than risk the invocation's last seconds on the table (a few requests at most, each still AIMD-paced).
MIN_SHARED_HORIZON_S = 3.0
KEY_ITERATIONS = 20_000  # the key is stored in the table: make guessing a weak credential from it expensive
KEY_VERSION = "v1"


@dataclass(frozen=True)
class Pace:
    """How long to wait before sending; ``refused``: the shared quota has no token for us within the horizon."""

    wait_s: float
    refused: bool = False


class QuotaLimiter:
    """Paces one process's requests to one API origin and credential."""

    def __init__(
        self,
        rate_limit: RateLimitSpec,
        clock: Clock,
        leased: LeasedTokens | None = None,
        table: str | None = None,
    ) -> None:
        self.spec = rate_limit
        self.clock = clock
        self.adaptive = AdaptiveLimiter(rate_limit.requests_per_second, rate_limit.burst, clock)
        self.leased = leased
        self.table = table
        self.fallbacks = 0
        self._off_until: float | None = None
        self._lock = threading.Lock()

    @property
    def sharing(self) -> bool:
        """True while tokens come from the shared table (False: no table, or fallen back from it for now)."""
        if self.leased is None:
            return False
        with self._lock:
            if self._off_until is not None and self.clock.monotonic() >= self._off_until:
                self._off_until = None
            return self._off_until is None

    def reserve(self, horizon_s: float) -> Pace:
        local = self.adaptive.reserve()
        if self.leased is None or not self.sharing or horizon_s < MIN_SHARED_HORIZON_S:
            return Pace(local)
        try:
            slot = self.leased.take(horizon_s)
        except QuotaStoreError as exc:
            self._fall_back(str(exc))
            return Pace(local)
        return Pace(max(local, slot.wait_s), refused=slot.refused)

    def on_success(self) -> None:
        self.adaptive.on_success()

    def on_throttle(self, pause_s: float | None = None) -> None:
        self.adaptive.on_throttle(pause_s)

    def describe(self) -> str:
        """The quota, for error messages: what was declared and how it is being kept."""
        quota = f"{self.spec.requests_per_second:g} requests/s, burst {self.spec.burst}"
        if self.leased is not None and self.sharing:
            how = f"shared by every invocation through DynamoDB table '{self.table}'"
        elif self.leased is not None:
            how = "kept by this process alone: the shared quota table could not be used"
        else:
            how = "kept by each process alone: no shared quota table is configured"
        return f"{quota}, {how}; this process is at {self.adaptive.rate:.3g} requests/s"

    def _fall_back(self, reason: str) -> None:
        with self._lock:
            self._off_until = self.clock.monotonic() + RETRY_SHARED_AFTER_S
            self.fallbacks += 1
            first = self.fallbacks == 1
        if first:
            log.warning(
                "the shared quota table '%s' cannot be used (%s): this process paces itself with its own adaptive "
                "limiter and retries the table in %.0f s; until then parallel invocations may exceed the API's "
                "quota and be slowed by 429 responses",
                self.table,
                reason,
                RETRY_SHARED_AFTER_S,
            )


def quota_key(origin: str, credentials: Mapping[str, str]) -> str:
    """The table key of one API origin and credential: a slow salted hash, never the secret itself.

    Athena and AppFlow hold the same credential in different secrets; hashing the values (not the secret's ARN)
    makes both draw from one quota."""
    canonical = json.dumps(sorted((str(k), str(v)) for k, v in credentials.items())).encode()
    salt = f"saas-connectors quota {KEY_VERSION}\0{origin}".encode()
    digest = hashlib.pbkdf2_hmac("sha256", canonical, salt, KEY_ITERATIONS).hex()
    return f"{KEY_VERSION}#{digest}"


# One limiter per API origin, credential, quota and clock in each process: every client of a warm Lambda (and
# every thread of a read fetching pages concurrently) draws from the same pace and the same leased tokens.
# Keyed by the clock object itself (weakly), so a test's fake clock never inherits another's limiter.
_LIMITERS: weakref.WeakKeyDictionary[Clock, dict[tuple[object, ...], QuotaLimiter]] = weakref.WeakKeyDictionary()
_KEYS: dict[tuple[str, str], str] = {}
_REGISTRY_LOCK = threading.Lock()


def limiter_for(origin: str, credentials: Mapping[str, str], rate_limit: RateLimitSpec, clock: Clock) -> QuotaLimiter:
    """The process-wide limiter for ``origin`` and ``credentials`` under ``rate_limit``."""
    table = table_from_environment()
    identity = hashlib.sha256(json.dumps(sorted(credentials.items())).encode()).hexdigest()  # in memory only
    cache_key = (origin, identity, rate_limit, table)
    with _REGISTRY_LOCK:
        limiters = _LIMITERS.setdefault(clock, {})
        limiter = limiters.get(cache_key)
        if limiter is not None:
            return limiter
        leased = None
        if table is not None:
            key = _KEYS.get((origin, identity))
            if key is None:
                key = _KEYS[(origin, identity)] = quota_key(origin, credentials)
            store: LeaseStore = DynamoStore(table)
            leased = LeasedTokens(store, key, rate_limit.requests_per_second, rate_limit.burst, clock)
        limiter = limiters[cache_key] = QuotaLimiter(rate_limit, clock, leased, table)
        return limiter
