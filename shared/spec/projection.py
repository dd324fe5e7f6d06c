"""Projection pushdown styles (``select_fields_param``): validation for the loader, parameters for the planner.

APIs disagree on how a list of fields is sent: ``?fields=a,b`` (or any separator), ``?col=a&col=b``, or the
PHP/Rails ``?fields[]=a&fields[]=b``; one wrong guess answers 400, so the spec names the style.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from shared.spec.model import ProjectionSpec

STYLES = ("joined", "repeated", "bracketed")
KEYS = {"param", "style", "join"}


def build_projection(
    raw: Any, path: tuple[Any, ...], add: Callable[[tuple[Any, ...], str], None]
) -> ProjectionSpec | None:
    """A ``select_fields_param`` value (a parameter name, or ``{param, style, join}``), problems added where found."""
    if isinstance(raw, str):
        raw = {"param": raw}
    if not isinstance(raw, dict):
        add(path, f"must be a parameter name or a mapping with 'param', 'style' and 'join', got {raw!r}")
        return None
    for key in sorted(set(raw) - KEYS):
        add((*path, key), f"unknown key '{key}' (projection takes {', '.join(sorted(KEYS))})")
    param = raw.get("param")
    if not isinstance(param, str) or not param:
        add((*path, "param"), f"must be the query parameter's name, got {param!r}")
        return None
    style = raw.get("style", "joined")
    if style not in STYLES:
        add((*path, "style"), f"unknown style {style!r}; use one of {', '.join(STYLES)}")
        return None
    join = raw.get("join", ",")
    if not isinstance(join, str) or not join:
        add((*path, "join"), f"must be a non-empty separator string such as ',' or ' ', got {join!r}")
        return None
    if "join" in raw and style != "joined":
        add((*path, "join"), f"'join' only applies to style 'joined' (style '{style}' sends one parameter per field)")
    if style == "bracketed" and param.endswith("[]"):
        add((*path, "param"), "give the name without '[]': style 'bracketed' adds it")
    return ProjectionSpec(param, style, join)


def projection_params(spec: ProjectionSpec, sources: Iterable[str]) -> list[tuple[str, str]]:
    """The query parameters that ask for ``sources`` in the spec's style."""
    names = list(sources)
    if spec.style == "joined":
        return [(spec.param, spec.join.join(names))]
    param = spec.param + "[]" if spec.style == "bracketed" else spec.param
    return [(param, name) for name in names]
