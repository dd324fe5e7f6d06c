"""From a decoded page body to records, and from records to declared fields (raw or typed)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from shared.errors import SaaSResponseError, ValueCoercionError
from shared.paths import compile_path
from shared.spec.model import EntitySpec
from shared.values import CoercionError, coerce

log = logging.getLogger(__name__)


def select_records(body: Any, path: str, *, entity: str, page: int) -> list[dict[str, Any]]:
    """The list of record objects at ``path``; anything else is a clear error naming where."""
    found = compile_path(path)(body) if path else body
    where = f"'{path}'" if path else "the top level"
    if found is None and isinstance(body, dict):
        raise SaaSResponseError(
            f"the response has no records at {where} ({record_candidates(body)})", entity=entity, page=page
        )
    if not isinstance(found, list):
        raise SaaSResponseError(
            f"expected a list of records at {where}, got {type(found).__name__}", entity=entity, page=page
        )
    for i, item in enumerate(found):
        if not isinstance(item, dict):
            raise SaaSResponseError(
                f"record {i} at {where} is a {type(item).__name__}, not an object", entity=entity, page=page
            )
    return found


def list_paths(body: Any, depth: int = 3) -> list[tuple[str, int]]:
    """Dotted paths (to ``depth`` levels) that hold non-empty lists of objects, largest first, with their lengths."""
    found: list[tuple[str, int]] = []

    def walk(value: Any, prefix: str, level: int) -> None:
        if not isinstance(value, dict) or level >= depth:
            return
        for key, inner in value.items():
            where = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(inner, list) and inner and all(isinstance(i, dict) for i in inner):
                found.append((where, len(inner)))
            else:
                walk(inner, where, level + 1)

    walk(body, "", 0)
    return sorted(found, key=lambda item: -item[1])


def record_candidates(body: dict[str, Any]) -> str:
    """What a user needs to fix a wrong records path: the places that hold lists of objects, then other keys."""
    lists = list_paths(body)
    others = [k for k in body if k not in {p.split(".")[0] for p, _ in lists}]
    parts = []
    if lists:
        parts.append("lists of objects at " + ", ".join(f"'{p}' ({n})" for p, n in lists[:10]))
    else:
        parts.append("no list of objects anywhere near the top")
    if others:
        more = f", ... ({len(others)} keys)" if len(others) > 20 else ""
        parts.append("other keys: " + ", ".join(map(str, others[:20])) + more)
    return "; ".join(parts)


@dataclass
class CoercionStats:
    nulled: int = 0
    by_field: dict[str, int] = field(default_factory=dict)


class Extractor:
    """Reads declared fields out of records with compiled paths; coerces to typed values on request."""

    def __init__(self, entity: EntitySpec, fields: Iterable[str] | None = None) -> None:
        self.entity = entity
        names = list(fields) if fields is not None else list(entity.field_names)
        self.fields = [entity.field(n) for n in names]
        self.getters: list[tuple[str, Callable[[Any], Any]]] = [(f.name, compile_path(f.path)) for f in self.fields]
        self.stats = CoercionStats()

    def raw_row(self, record: dict[str, Any]) -> dict[str, Any]:
        return {name: get(record) for name, get in self.getters}

    def raw_columns(self, records: list[dict[str, Any]]) -> dict[str, list[Any]]:
        return {name: [get(r) for r in records] for name, get in self.getters}

    def typed_row(self, record: dict[str, Any], page: int | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f, (name, get) in zip(self.fields, self.getters, strict=True):
            raw = get(record)
            try:
                out[name] = coerce(raw, f.type)
            except CoercionError as exc:
                out[name] = self.invalid(name, exc, page)
        return out

    def invalid(self, name: str, exc: CoercionError, page: int | None) -> None:
        """Apply the entity's ``on_invalid_value`` policy: raise, or null the value and count it."""
        if self.entity.on_invalid_value == "error":
            raise ValueCoercionError(
                f"field '{name}': {exc} (set on_invalid_value: null on the entity to read such values as null instead)",
                entity=self.entity.name,
                page=page,
            )
        count = self.stats.by_field.get(name, 0)
        if count == 0:  # once per field and read, as the Athena connector does; the total is in stats
            log.warning("entity %s field %s: invalid value nulled: %s", self.entity.name, name, exc)
        self.stats.nulled += 1
        self.stats.by_field[name] = count + 1
