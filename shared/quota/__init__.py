"""The API's quota, kept across every invocation: a shared token bucket on DynamoDB and, always, an adaptive
limiter in each process. ``limiter_for`` is the entry point the transport uses."""

from shared.quota.limiter import Pace, QuotaLimiter, limiter_for, quota_key

__all__ = ["Pace", "QuotaLimiter", "limiter_for", "quota_key"]
