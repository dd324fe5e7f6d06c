"""What one warm Lambda keeps between invocations: configuration, the spec, the SaaS client, table schemas.

Built on the first request that needs it and rebuilt only when the environment changes (so a cold start
pays for loading the spec once, and tests that change the environment get a fresh one).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from athena_connector.config import ConnectorConfig, environment_fingerprint
from athena_connector.errors import EntityNotFoundException
from athena_connector.schema import TableSchema, table_schema
from athena_connector.wire import TableName
from shared.client import SaaSClient
from shared.spec import load_spec
from shared.spec.model import EntitySpec, SourceSpec


@dataclass
class Runtime:
    config: ConnectorConfig
    spec: SourceSpec
    client: SaaSClient
    _tables: dict[str, TableSchema] = field(default_factory=dict)

    @property
    def schema_name(self) -> str:
        return self.config.schema_name or self.spec.api.name.lower()

    @property
    def table_names(self) -> tuple[str, ...]:
        return tuple(sorted(self.spec.entity_names))

    def check_schema(self, schema_name: str) -> None:
        if schema_name.lower() != self.schema_name:
            raise EntityNotFoundException(
                f"schema '{schema_name}' not found (this connector serves the schema '{self.schema_name}')"
            )

    def entity(self, name: str) -> EntitySpec:
        wanted = name.lower()
        for entity in self.spec.entities:
            if entity.name == wanted:
                return entity
        raise EntityNotFoundException(
            f"table '{self.schema_name}.{name}' not found (tables: {', '.join(self.table_names)})"
        )

    def table(self, table_name: TableName) -> TableSchema:
        """The table a request names, after checking its schema; unknown names raise EntityNotFound."""
        self.check_schema(table_name.schema_name)
        return self.table_of(self.entity(table_name.table_name))

    def table_of(self, entity: EntitySpec) -> TableSchema:
        cached = self._tables.get(entity.name)
        if cached is None:
            cached = self._tables[entity.name] = table_schema(entity, self.config.timestamp_type)
        return cached


_lock = threading.Lock()
_cached: tuple[tuple[str | None, ...], Runtime] | None = None


def get_runtime() -> Runtime:
    global _cached
    key = environment_fingerprint()
    with _lock:
        if _cached is not None and _cached[0] == key:
            return _cached[1]
        config = ConnectorConfig.from_environment()
        spec = load_spec()
        runtime = Runtime(config, spec, SaaSClient(spec))
        _cached = (key, runtime)
        return runtime


def reset_runtime() -> None:
    """Forget the cached runtime (tests)."""
    global _cached
    with _lock:
        _cached = None
