"""Validation of the declarations split sizing reads: ``count`` (how the API counts matching records) and
``partitions.exhaustive``. Kept apart from ``loader.py`` (which calls these) so each stays small.

``count`` takes one of three forms::

    count: {total_path: total}                     # the list response's body: {"data": [...], "total": 1234}
    count: {total_header: X-Total-Count}           # a header of the list response
    count: {path: /contacts/count, total_path: count, params: {...}}   # a count endpoint, same filters

The first two are read from a list request for one record (the paginator's page size set to 1); the third
is a GET of ``path`` with the same filter parameters the list request would send, plus ``params``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.spec.model import CountSpec, FieldSpec, ParentSpec

if TYPE_CHECKING:
    from shared.spec.loader import _Checker

COUNT_KEYS = {"total_path", "total_header", "path", "params"}


def build_count(
    raw: Any, path: tuple[Any, ...], c: _Checker, parent: ParentSpec | None, reader: Any
) -> CountSpec | None:
    """The entity's ``count`` declaration, every problem reported at its location."""
    if raw is None:
        return None
    from shared.spec.loader import _check_path  # the loader's own path check: one way to validate a path

    m = c.mapping(raw, path, COUNT_KEYS)
    if m is None:
        return None
    if parent is not None:
        c.add(path, "counts are not used for a child entity (its splits are by parent); remove 'count'")
        return None
    if reader is not None:
        c.add(path, "an entity read by a 'class' cannot declare 'count' (its requests are the class's own)")
        return None
    header = m.get("total_header")
    total_path = m.get("total_path")
    endpoint = m.get("path")
    if header is not None and (total_path is not None or endpoint is not None):
        c.add(path, "declare one of: total_path (a total in the list body), total_header, or path + total_path")
        return None
    if header is not None:
        name = c.string(header, (*path, "total_header"))
        return CountSpec("total_header", header=name) if name else None
    if total_path is None:
        c.add(path, "missing 'total_path' (where the number is) or 'total_header'")
        return None
    if _check_path(total_path, (*path, "total_path"), c) is None:
        return None
    params: dict[str, str] = {}
    if "params" in m:
        if endpoint is None:
            c.add((*path, "params"), "'params' belongs to a count endpoint: declare its 'path' too")
        raw_params = m.get("params")
        if not isinstance(raw_params, dict) or any(isinstance(v, dict | list) for v in raw_params.values()):
            c.add((*path, "params"), "must map query parameter names to fixed values")
        else:
            params = {str(k): str(v).lower() if isinstance(v, bool) else str(v) for k, v in raw_params.items()}
    if endpoint is None:
        return CountSpec("total_path", total_path=total_path)
    text = c.string(endpoint, (*path, "path"))
    if text is None:
        return None
    if not text.startswith("/") or "{" in text:
        c.add((*path, "path"), f"must be a path starting with '/' and without placeholders, got {text!r}")
        return None
    return CountSpec("endpoint", total_path=total_path, path=text, params=params)


def build_exhaustive(raw: Any, path: tuple[Any, ...], c: _Checker, f: FieldSpec | None) -> bool:
    """``partitions.exhaustive``: true only for a field that is never null (a null row would have no partition)."""
    exhaustive = c.boolean(raw, path, False)
    if exhaustive and f is not None and f.nullable:
        c.add(
            path,
            f"exhaustive partitions need the field '{f.name}' declared nullable: false (rows with a null "
            "would belong to no partition)",
        )
        return False
    return exhaustive
