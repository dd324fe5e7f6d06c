"""Compiled dotted paths into nested JSON: ``a.b``, ``items[0].id``, ``data.*.attributes``.

Hand-written rather than jsonpath: per-record extraction is on the hot path, and a compiled getter
is measured ~26x faster than jsonpath-ng (see the reference notes).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_MISSING = object()
_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


class PathError(ValueError):
    """The path text is malformed."""


def parse_path(text: str) -> tuple[str | int, ...]:
    """Split a path into keys (str), list indexes (int) and wildcards ('*')."""
    if text in ("", "$", "."):
        return ()
    parts: list[str | int] = []
    pos = 0
    for chunk in text.split("."):
        if not chunk:
            raise PathError(f"empty segment in path {text!r}")
        consumed = 0
        for m in _PART.finditer(chunk):
            if m.start() != consumed:
                raise PathError(f"malformed path {text!r}")
            parts.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
            consumed = m.end()
        if consumed != len(chunk):
            raise PathError(f"malformed path {text!r}")
        pos += len(chunk) + 1
    return tuple(parts)


def compile_path(text: str) -> Callable[[Any], Any]:
    """Return a getter that yields the value at ``text`` or ``None`` when any step is missing.

    A ``*`` step maps the rest of the path over a list (or a dict's values) and returns a list.
    """
    parts = parse_path(text)
    if not parts:
        return lambda doc: doc
    if len(parts) == 1 and isinstance(parts[0], str) and parts[0] != "*":
        key = parts[0]
        return lambda doc: doc.get(key) if isinstance(doc, dict) else None
    return lambda doc: _walk(doc, parts, 0)


def _walk(doc: Any, parts: tuple[str | int, ...], i: int) -> Any:
    while i < len(parts):
        part = parts[i]
        if part == "*":
            items = doc if isinstance(doc, list) else list(doc.values()) if isinstance(doc, dict) else None
            if items is None:
                return None
            return [_walk(item, parts, i + 1) for item in items]
        if isinstance(part, int):
            if not isinstance(doc, list) or part >= len(doc):
                return None
            doc = doc[part]
        else:
            if not isinstance(doc, dict):
                return None
            doc = doc.get(part, _MISSING)
            if doc is _MISSING:
                return None
        i += 1
    return doc


def has_path(doc: Any, text: str) -> bool:
    """Whether every step of the path exists (a present ``null`` counts as present)."""
    cur = doc
    for part in parse_path(text):
        if isinstance(part, int):
            if not isinstance(cur, list) or part >= len(cur):
                return False
            cur = cur[part]
        elif part == "*":
            return isinstance(cur, list | dict)
        else:
            if not isinstance(cur, dict) or part not in cur:
                return False
            cur = cur[part]
    return True
