"""The shared bucket's state in a DynamoDB table: one item per quota, advanced with conditional UpdateItem.

A lease is usually one call: ``SET tat = tat + :d`` on the condition that the TAT is at least now (the bucket is
busy, so the arithmetic ``max(tat, now) + d`` is just ``tat + d``) and not so far ahead that the tokens would be
usable only past the caller's horizon. An idle bucket (TAT in the past, or no item yet) is restarted from now with
``SET tat = :now + :d`` on the condition that it is still idle. Whichever guess fails, DynamoDB returns the item
as it was (``ReturnValuesOnConditionCheckFailure``) and the other form is tried; no read is needed first.

Only ``dynamodb:UpdateItem`` is called, and it is all the template grants. Items carry an ``expires_at`` TTL
attribute an hour past their TAT, so the items of credentials no longer used disappear by themselves.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from shared.deadline import Deadline
from shared.quota.gcra import Grant, Refusal, advance, latest_tat, usable_at

TABLE_ENV = "SAAS_QUOTA_TABLE"
KEY_ATTRIBUTE = "pk"
TTL_ATTRIBUTE = "expires_at"
TTL_AFTER_S = 3600
MAX_ROUNDS = 4  # a busy/idle guess that keeps losing races (it cannot for long: each loss means progress)
# One lease, all its rounds together (each call bounded by shared.aws): coordination must not stall a read; past
# this the process falls back to pacing itself rather than wait on the table.
MAX_LEASE_S = 2.5


class QuotaStoreError(Exception):
    """The table could not be used (unreachable, missing, access denied, throttled): fall back to local limits."""


def table_from_environment() -> str | None:
    """The table the template created (``SAAS_QUOTA_TABLE``), or None when the shared quota is switched off."""
    return os.environ.get(TABLE_ENV, "").strip() or None


def _number(value: float) -> str:
    return repr(round(value, 6))


@dataclass
class DynamoStore:
    """Leases tokens of the quotas stored in ``table``; ``client`` is a boto3 DynamoDB client (made lazily)."""

    table: str
    client: Any = None
    calls: int = 0  # UpdateItem calls made, for tests and metrics

    def connect(self) -> None:
        """Make the boto3 client now (importing boto3 and building a client takes a while on a cold start: it must
        not count as time in the quota's arithmetic)."""
        if self.client is None:
            from shared import aws

            plan = aws.plan_for(MAX_LEASE_S)
            assert plan is not None
            aws.client("dynamodb", plan)

    def lease(
        self, key: str, tokens: int, rate: float, capacity: float, now: float, horizon_s: float, hint: float | None
    ) -> tuple[Grant | Refusal, float]:
        """Lease ``tokens``; ``hint`` is the TAT last seen (None: unknown). Returns the outcome and the TAT seen."""
        busy = hint is not None and hint >= now
        started = time.monotonic()  # the table's own time, whatever clock the quota's arithmetic runs on
        for _ in range(MAX_ROUNDS):
            left_s = MAX_LEASE_S - (time.monotonic() - started)
            if left_s <= 0:
                raise QuotaStoreError(f"a lease took more than {MAX_LEASE_S:g}s of conditional updates")
            d = tokens / rate
            if busy:
                limit = latest_tat(now, tokens, rate, capacity, horizon_s)
                if limit < now:  # not even an idle bucket could serve this lease within the horizon
                    return Refusal(usable_at(now + d, now, rate, capacity) - now), now
                outcome = self._update(
                    key,
                    "SET tat = tat + :d, #ttl = :ttl",
                    "tat BETWEEN :now AND :limit",
                    {":d": d, ":now": now, ":limit": limit, ":ttl": int(limit) + TTL_AFTER_S},
                    left_s,
                )
            else:
                outcome = self._update(
                    key,
                    "SET tat = :new, #ttl = :ttl",
                    "attribute_not_exists(tat) OR tat < :now",
                    {":new": now + d, ":now": now, ":ttl": int(now + d) + TTL_AFTER_S},
                    left_s,
                )
            ok, tat = outcome
            if ok:
                assert tat is not None
                return Grant(tokens, usable_at(tat, now, rate, capacity)), tat
            if tat is None or tat < now:
                busy = False
                continue
            if tat > latest_tat(now, tokens, rate, capacity, horizon_s):
                return Refusal(usable_at(advance(tat, now, tokens, rate), now, rate, capacity) - now), tat
            busy = True
        raise QuotaStoreError(f"the quota item kept changing under {MAX_ROUNDS} conditional updates in a row")

    def _update(
        self, key: str, expression: str, condition: str, values: dict[str, float | int], left_s: float
    ) -> tuple[bool, float | None]:
        """One conditional UpdateItem: (True, new TAT) or (False, the TAT the item had, None when absent)."""
        self.calls += 1
        params = {
            "TableName": self.table,
            "Key": {KEY_ATTRIBUTE: {"S": key}},
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {"#ttl": TTL_ATTRIBUTE},
            "ExpressionAttributeValues": {
                name: {"N": str(v) if isinstance(v, int) else _number(v)} for name, v in values.items()
            },
            "ReturnValues": "UPDATED_NEW",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        try:
            if self.client is not None:
                response = self.client.update_item(**params)
            else:  # bounded like every AWS call (shared.aws): a hung or trickling endpoint is given up on time
                from shared import aws

                response = aws.call("dynamodb", "UpdateItem", params, deadline=Deadline.in_seconds(left_s))
        except Exception as exc:  # botocore's ClientError and connection errors alike
            failed = getattr(exc, "response", None) or {}
            if failed.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False, _tat(failed.get("Item"))
            raise QuotaStoreError(_describe(exc)) from None
        return True, _tat(response.get("Attributes"))


def _tat(item: dict[str, Any] | None) -> float | None:
    if not item or "tat" not in item:
        return None
    return float(Decimal(item["tat"]["N"]))


def _describe(exc: BaseException) -> str:
    """What went wrong, without request details (the key is a hash, but the message needs no more than this)."""
    error = (getattr(exc, "response", None) or {}).get("Error", {})
    if error.get("Code"):
        return f"{error['Code']}: {error.get('Message', '')}".strip()
    return type(exc).__name__
