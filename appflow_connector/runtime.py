"""Per-request wiring: the spec (loaded once per process), settings, credentials and a SaaS client.

Where the API lives: ``SAAS_SPEC`` (bundled name, file or ``s3://`` URI) and ``SAAS_BASE_URL`` (see
``shared.spec.loader``), optionally replaced per connection by the ``instance_url`` setting within the
allow-list (``appflow_connector.settings``). Clients are cached per (settings, base URL, credentials) so
a warm Lambda keeps its HTTP connections and rate-limit bucket between invocations.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from appflow_connector import credentials as creds
from appflow_connector.errors import invalid_argument
from appflow_connector.sdk import Credentials
from appflow_connector.settings import ResolvedSettings, resolve
from shared.client import SaaSClient
from shared.errors import SaaSAuthError, UnknownEntityError
from shared.spec.loader import load_spec
from shared.spec.model import AuthSpec, EntitySpec, SourceSpec

MAX_CACHED_CLIENTS = 8


@dataclass
class Connection:
    """What a record or metadata call works with."""

    spec: SourceSpec
    client: SaaSClient
    settings: ResolvedSettings
    secret_arn: str | None

    def entity(self, name: str | None) -> EntitySpec:
        return entity_of(self.spec, name)


def entity_of(spec: SourceSpec, name: str | None) -> EntitySpec:
    if not name:
        raise invalid_argument("entityIdentifier is missing")
    try:
        return spec.entity(name)
    except KeyError:
        raise UnknownEntityError(
            f"no entity '{name}' in this connector (entities: {', '.join(spec.entity_names)})"
        ) from None


class Runtime:
    def __init__(self, secrets: creds.SecretSource | None = None) -> None:
        self.secrets: creds.SecretSource = secrets or creds.PowertoolsSecrets()
        self._lock = threading.Lock()
        self._spec_key: tuple[str | None, str | None] | None = None
        self._spec: SourceSpec | None = None
        self._clients: OrderedDict[tuple[Any, ...], SaaSClient] = OrderedDict()

    def spec(self) -> SourceSpec:
        """The spec named by the environment; reloaded only when ``SAAS_SPEC``/``SAAS_BASE_URL`` change."""
        key = (os.environ.get("SAAS_SPEC"), os.environ.get("SAAS_BASE_URL"))
        with self._lock:
            if self._spec is None or self._spec_key != key:
                self._spec = load_spec()
                self._spec_key = key
                self._clients.clear()
            return self._spec

    def settings(self, raw: Mapping[str, Any] | None) -> ResolvedSettings:
        resolved, errors = resolve(self.spec(), raw)
        if errors:
            raise invalid_argument("; ".join(errors.values()))
        return resolved

    def connect(self, credentials: Credentials | None, raw_settings: Mapping[str, Any] | None) -> Connection:
        spec = self.spec()
        settings = self.settings(raw_settings)
        values, override, arn = creds.resolve(credentials, spec, self.secrets)
        return Connection(spec, self._client(spec, settings, values, override), settings, arn)

    def _client(
        self,
        spec: SourceSpec,
        settings: ResolvedSettings,
        values: Mapping[str, str],
        override: AuthSpec | None,
    ) -> SaaSClient:
        digest = hashlib.sha256(json.dumps(sorted(values.items())).encode()).hexdigest()
        key = (
            json.dumps(sorted(settings.spec_values.items()), default=str),
            settings.base_url,
            override.type if override else None,
            digest,
        )
        with self._lock:
            client = self._clients.get(key)
            if client is not None:
                self._clients.move_to_end(key)
                return client
        effective = spec if override is None else replace(spec, api=replace(spec.api, auth=override))
        client = SaaSClient(effective, dict(values), settings=settings.spec_values, base_url=settings.base_url)
        with self._lock:
            self._clients[key] = client
            while len(self._clients) > MAX_CACHED_CLIENTS:
                self._clients.popitem(last=False)
        return client

    def forget_credentials(self, connection: Connection | None, exc: BaseException | None) -> None:
        """After the API refused the credentials, re-read the secret next time (AppFlow may have rotated
        or refreshed it) instead of serving the cached copy."""
        if connection is None or not connection.secret_arn or not isinstance(exc, SaaSAuthError):
            return
        self.secrets.invalidate(connection.secret_arn)
        with self._lock:
            for key, client in list(self._clients.items()):
                if client is connection.client:
                    del self._clients[key]
