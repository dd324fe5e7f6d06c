"""The connector's runtime configuration, read from the Lambda environment.

Spill settings use the names of the official Athena connectors:

* ``spill_bucket``: S3 bucket for results too large for an inline response (required to spill);
* ``spill_prefix``: key prefix inside it (default ``athena-federation-spill``);
* ``disable_spill_encryption``: ``true`` writes spilled blocks unencrypted (default: AES-GCM per split);
* ``kms_key_id``: when set, each split's AES key is a KMS data key (``GenerateDataKey`` AES_128) instead of
  32 random bytes from the OS;
* ``enable_query_passthrough``: ``false`` hides ``system.query`` (default ``true``).

Connector-specific:

* ``schema_name``: the Athena database the entities appear in (default: the spec's ``api.name``);
* ``timestamp_type``: how spec ``timestamp`` fields appear in Athena: ``timestamp`` (default; Arrow
  Date(MILLISECOND), a UTC wall clock) or ``timestamp_with_time_zone`` (Arrow Timestamp(ms, UTC), values
  Presto-packed with the UTC zone key);
* ``max_splits_per_response``: splits per GetSplits page before a continuation token (default 1000);
* ``max_rows_per_split``: the most records one split should read; GetSplits cuts windows until the API
  counts at most this many in each (entities that declare ``count``). Default: what one split reads in half
  of this function's timeout at ``split_page_seconds`` a page (or the spec's rate limit, when slower);
* ``split_page_seconds``: the time one page takes, for that default (default 0.3);
* ``split_probes``: ``false`` keeps the static windows of entities that declare no ``count`` (default ``true``:
  they are sized from small probe pages, ``shared.density``);
* ``deadline_margin_seconds``: time kept in reserve before the Lambda timeout for finishing a response
  (default 5; never more than a fifth of the time an invocation starts with);
* ``query_status_interval_seconds``: how often, at most, a read asks Athena (``GetQueryExecution``) whether
  its query is still running, and stops paging the API once it is not (default 5; 0 turns the checks off).

The SaaS side is configured by the shared client's own variables (``SAAS_SPEC``, ``SAAS_BASE_URL``,
``SAAS_SECRET_ARN`` or ``SAAS_API_KEY``/``SAAS_CREDENTIALS``). Identity ``configOptions`` sent by the engine
may override ``spill_bucket`` and ``spill_prefix``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from shared.errors import ConfigError

DEFAULT_SPILL_PREFIX = "athena-federation-spill"
TIMESTAMP_TYPES = ("timestamp", "timestamp_with_time_zone")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,127}$")
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off", "")

# Every environment variable that changes what the connector does (the runtime cache is keyed on them).
ENVIRONMENT_KEYS = (
    "spill_bucket",
    "spill_prefix",
    "disable_spill_encryption",
    "kms_key_id",
    "enable_query_passthrough",
    "schema_name",
    "timestamp_type",
    "max_splits_per_response",
    "deadline_margin_seconds",
    "max_rows_per_split",
    "split_page_seconds",
    "split_probes",
    "query_status_interval_seconds",
    "SAAS_SPEC",
    "SAAS_BASE_URL",
    "SAAS_SECRET_ARN",
    "SAAS_API_KEY",
    "SAAS_CREDENTIALS",
    "AWS_ENDPOINT_URL",
    "AWS_REGION",
)


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    text = raw.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"environment variable {name} must be true or false, got {raw!r}")


def _number(env: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"environment variable {name} must be a number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"environment variable {name} must be >= {minimum}, got {raw!r}")
    return value


def _clean_prefix(prefix: str) -> str:
    return prefix.strip().strip("/")


@dataclass(frozen=True)
class ConnectorConfig:
    spill_bucket: str | None = None
    spill_prefix: str = DEFAULT_SPILL_PREFIX
    encrypt_spill: bool = True
    kms_key_id: str | None = None
    enable_query_passthrough: bool = True
    schema_name: str | None = None
    timestamp_type: str = "timestamp"
    max_splits_per_response: int = 1000
    deadline_margin_s: float = 5.0
    max_rows_per_split: int | None = None
    split_page_seconds: float = 0.3
    split_probes: bool = True
    query_status_interval_s: float = 5.0

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> ConnectorConfig:
        env = os.environ if env is None else env
        schema_name = (env.get("schema_name") or "").strip() or None
        if schema_name is not None and not _NAME.match(schema_name):
            raise ConfigError(
                f"environment variable schema_name must be a lower-case identifier (Athena lower-cases "
                f"database names), got {schema_name!r}"
            )
        timestamp_type = (env.get("timestamp_type") or "timestamp").strip().lower()
        if timestamp_type not in TIMESTAMP_TYPES:
            raise ConfigError(
                f"environment variable timestamp_type must be one of {', '.join(TIMESTAMP_TYPES)}, "
                f"got {timestamp_type!r}"
            )
        return cls(
            spill_bucket=(env.get("spill_bucket") or "").strip() or None,
            spill_prefix=_clean_prefix(env.get("spill_prefix") or DEFAULT_SPILL_PREFIX) or DEFAULT_SPILL_PREFIX,
            encrypt_spill=not _bool(env, "disable_spill_encryption", False),
            kms_key_id=(env.get("kms_key_id") or "").strip() or None,
            enable_query_passthrough=_bool(env, "enable_query_passthrough", True),
            schema_name=schema_name,
            timestamp_type=timestamp_type,
            max_splits_per_response=int(_number(env, "max_splits_per_response", 1000, 1)),
            deadline_margin_s=_number(env, "deadline_margin_seconds", 5.0, 0),
            max_rows_per_split=int(_number(env, "max_rows_per_split", 0, 1)) or None,
            split_page_seconds=_number(env, "split_page_seconds", 0.3, 0.001),
            split_probes=_bool(env, "split_probes", True),
            query_status_interval_s=_number(env, "query_status_interval_seconds", 5.0, 0),
        )

    def with_config_options(self, options: Mapping[str, str]) -> ConnectorConfig:
        """Spill bucket/prefix from the engine's ``identity.configOptions`` win over the environment."""
        changes: dict[str, str] = {}
        if (options.get("spill_bucket") or "").strip():
            changes["spill_bucket"] = options["spill_bucket"].strip()
        if _clean_prefix(options.get("spill_prefix") or ""):
            changes["spill_prefix"] = _clean_prefix(options["spill_prefix"])
        return replace(self, **changes) if changes else self


def environment_fingerprint(env: Mapping[str, str] | None = None) -> tuple[str | None, ...]:
    env = os.environ if env is None else env
    return tuple(env.get(k) for k in ENVIRONMENT_KEYS)
