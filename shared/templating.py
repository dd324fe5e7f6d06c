"""``{scope.name}`` substitution over a closed set of scopes (secret, config, parent, record).

Deliberately no expression language: a spec must not be able to compute its way to other secrets.

A value put into a URL path is percent-encoded as one segment, and refused when it is empty, ``.`` or ``..``:
percent-encoding leaves dots alone, and HTTP clients and servers resolve dot segments (RFC 3986 5.2.4), so a key
``..`` in ``/contacts/{id}`` would address ``/`` (another resource) and an empty key the collection itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote

from shared.errors import ConfigError, PathValueError

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\.([A-Za-z0-9_]+)\}")
SCOPES = frozenset({"secret", "config", "parent", "record"})
UNSAFE_SEGMENTS = frozenset({"", ".", ".."})


def path_segment(value: str, *, where: str, name: str) -> str:
    """``value`` as one percent-encoded path segment; :class:`PathValueError` naming ``where`` and ``name``
    for a value that would not address a resource of its own."""
    if value in UNSAFE_SEGMENTS:
        shown = "an empty value" if value == "" else f"'{value}'"
        raise PathValueError(
            f"{where}: {name} is {shown}, which cannot be put into a URL path (it would address another resource)"
        )
    return quote(value, safe="")


def render(text: str, scopes: Mapping[str, Mapping[str, object]], *, url_quote: bool = False, where: str = "") -> str:
    """Replace every placeholder; a missing value raises :class:`ConfigError` naming it (never its value).

    ``url_quote``: the text is a URL path, each value one segment (see :func:`path_segment`).
    """

    def sub(m: re.Match[str]) -> str:
        scope, name = m.group(1), m.group(2)
        if scope not in SCOPES:
            raise ConfigError(f"{where}: unknown placeholder scope '{scope}' in {{{scope}.{name}}}")
        values = scopes.get(scope) or {}
        if name not in values or values[name] is None:
            hint = (
                secret_hint(name) if scope == "secret" else "set it as a connector setting" if scope == "config" else ""
            )
            raise ConfigError(f"{where}: no value for {{{scope}.{name}}}" + (f"; {hint}" if hint else ""))
        value = str(values[name])
        if not url_quote:
            return value
        label = {"record": "key", "parent": "parent key"}.get(scope, scope)
        return path_segment(value, where=where, name=f"{label} '{name}'")

    return _PLACEHOLDER.sub(sub, text)


def secret_hint(name: str) -> str:
    """Where a missing ``{secret.NAME}`` comes from, naming the variable a local user would set."""
    if name == "api_key":
        return "set SAAS_API_KEY (locally), or api_key in the Secrets Manager secret (SAAS_SECRET_ARN)"
    return (
        f'set {name} in SAAS_CREDENTIALS (locally, a JSON object such as \'{{"{name}": "..."}}\'), '
        "or in the Secrets Manager secret (SAAS_SECRET_ARN)"
    )


def placeholders(text: str) -> list[tuple[str, str]]:
    return _PLACEHOLDER.findall(text)
