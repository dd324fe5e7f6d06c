"""Connector runtime settings: what the user is asked for, and checking what they typed.

Two kinds of setting:

* the spec's own ``api.settings`` (``{config.NAME}`` placeholders), asked for on the connection
  (CONNECTOR_PROFILE scope) with the spec's type, default, ``required`` and ``pattern``;
* connector settings, unless the spec already uses the name: ``instance_url`` (profile scope), which
  replaces the API base URL; ``page_size`` (source scope), the records per upstream request; and, when an
  entity is writable, ``write_concurrency`` (destination scope), how many records one WriteData call sends
  to the API at the same time.

ValidateConnectorRuntimeSettings checks a flow's settings against their scope: a source-only setting given
to a destination flow (or the reverse) is refused by name, not silently ignored.

AppFlow sends every value as a string. ``instance_url`` must not let a user point the connector (and the
credentials it sends) at an arbitrary host: it is accepted only when its scheme, host and port equal
those of the spec's base URL (after ``SAAS_BASE_URL``), or match an entry of the deployment's allow-list
(``SAAS_ALLOWED_BASE_URLS``, comma separated, e.g. ``https://*.example.com``) or of the spec's
``allowed_base_urls`` (read when the spec model has it). The other settings that the base URL template
uses may hold only URL-safe name characters, so they cannot smuggle in another host either.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from appflow_connector.sdk import (
    ConnectorRuntimeSetting,
    ConnectorRuntimeSettingDataType,
    ConnectorRuntimeSettingScope,
)
from shared.errors import ConfigError
from shared.spec.model import SourceSpec
from shared.templating import placeholders, render
from shared.urls import UnsafeURLError, origin, request_origin

INSTANCE_URL = "instance_url"
PAGE_SIZE = "page_size"
MAX_PAGE_SIZE_SETTING = 10_000
WRITE_CONCURRENCY = "write_concurrency"
MAX_WRITE_CONCURRENCY = 8  # AppFlow gives a WriteData call 30 s; more parallel writes mostly meet rate limits
DESTINATION_SETTINGS = (WRITE_CONCURRENCY,)
ALLOW_LIST_ENV = "SAAS_ALLOWED_BASE_URLS"

_INT = re.compile(r"^[+-]?\d{1,18}$")
_HOST_SAFE = re.compile(r"^[A-Za-z0-9._~-]+$")
_HOST = re.compile(
    r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$|^\[[0-9a-f:.]+\]$"
)
_WORDS = {"url": "URL", "id": "ID", "api": "API", "uri": "URI", "oauth": "OAuth"}

Scope = ConnectorRuntimeSettingScope
PROFILE = Scope.CONNECTOR_PROFILE
SOURCE = Scope.SOURCE
DESTINATION = Scope.DESTINATION


def label(name: str) -> str:
    """``instance_url`` -> ``Instance URL``."""
    return " ".join(_WORDS.get(w.lower(), w.capitalize()) for w in re.split(r"[_\s]+", name) if w)


@dataclass(frozen=True)
class SettingDecl:
    key: str
    kind: str  # string | integer | boolean
    required: bool
    description: str
    scope: ConnectorRuntimeSettingScope
    default: Any = None
    pattern: str | None = None
    from_spec: bool = True

    def to_sdk(self) -> ConnectorRuntimeSetting:
        data_type = {
            "integer": ConnectorRuntimeSettingDataType.Integer,
            "boolean": ConnectorRuntimeSettingDataType.Boolean,
        }.get(self.kind, ConnectorRuntimeSettingDataType.String)
        description = self.description or label(self.key)
        if self.default is not None and not self.required:
            description += f" (default: {self.default})"
        return ConnectorRuntimeSetting(
            key=self.key,
            data_type=data_type,
            required=self.required,
            label=label(self.key),
            description=description,
            scope=self.scope,
        )


def declarations(spec: SourceSpec) -> list[SettingDecl]:
    out = []
    for key, decl in spec.api.settings.items():
        out.append(
            SettingDecl(
                key=key,
                kind=str(decl.get("type", "string")),
                required=bool(decl.get("required", False)) and "default" not in decl,
                description=str(decl.get("description", "")),
                scope=PROFILE,
                default=decl.get("default"),
                pattern=str(decl["pattern"]) if "pattern" in decl else None,
            )
        )
    if INSTANCE_URL not in spec.api.settings:
        out.append(
            SettingDecl(
                key=INSTANCE_URL,
                kind="string",
                required=False,
                description=(
                    "Base URL of your instance of the API (only the API's own host or an allowed host is "
                    f"accepted); leave empty for {spec.api.base_url or 'the default'}"
                ),
                scope=PROFILE,
                from_spec=False,
            )
        )
    if PAGE_SIZE not in spec.api.settings:
        out.append(
            SettingDecl(
                key=PAGE_SIZE,
                kind="integer",
                required=False,
                description="Records per request to the API (capped at what each entity allows)",
                scope=SOURCE,
                from_spec=False,
            )
        )
    if WRITE_CONCURRENCY not in spec.api.settings and any(e.writable for e in spec.entities):
        out.append(
            SettingDecl(
                key=WRITE_CONCURRENCY,
                kind="integer",
                required=False,
                description=(
                    f"Records one write call sends to the API at the same time (1-{MAX_WRITE_CONCURRENCY}); "
                    "results keep the records' order"
                ),
                scope=DESTINATION,
                default=1,
                from_spec=False,
            )
        )
    return out


@dataclass
class ResolvedSettings:
    """Typed settings for one request."""

    spec_values: dict[str, Any] = field(default_factory=dict)
    base_url: str | None = None  # an accepted instance_url
    page_size: int | None = None
    write_concurrency: int = 1


def _typed(decl: SettingDecl, raw: Any) -> Any:
    """A raw value as the declared type; ValueError with a user-facing message."""
    value = _parse(decl.kind, raw)
    if decl.pattern and not re.fullmatch(decl.pattern, str(raw)):
        raise ValueError(f"{_show(str(raw))} does not match the required pattern {decl.pattern}")
    return value


def _parse(kind: str, raw: Any) -> Any:
    if kind == "integer":
        if isinstance(raw, bool):
            raise ValueError("must be a whole number")
        if isinstance(raw, int):
            return raw
        text = str(raw).strip()
        if not _INT.match(text):
            raise ValueError(f"must be a whole number, got {_show(text)}")
        return int(text)
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text not in ("true", "false"):
            raise ValueError(f"must be true or false, got {_show(str(raw))}")
        return text == "true"
    text = str(raw)
    if not text.strip():
        raise ValueError("must not be empty")
    return text


def _show(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _scopes_of(scope: ConnectorRuntimeSettingScope | None) -> set[ConnectorRuntimeSettingScope] | None:
    if scope is None:
        return None
    if scope is Scope.SOURCE_AND_DESTINATION:
        return {Scope.SOURCE, Scope.DESTINATION, Scope.SOURCE_AND_DESTINATION}
    return {scope, Scope.SOURCE_AND_DESTINATION} if scope in (Scope.SOURCE, Scope.DESTINATION) else {scope}


def resolve(
    spec: SourceSpec,
    raw: Mapping[str, Any] | None,
    *,
    strict: bool = False,
    scope: ConnectorRuntimeSettingScope | None = None,
) -> tuple[ResolvedSettings, dict[str, str]]:
    """Typed settings plus ``{key: problem}``.

    ``strict`` (ValidateConnectorRuntimeSettings): unknown keys are problems and required settings of
    ``scope`` must be present. Otherwise (record and metadata calls) unknown keys are ignored, since
    AppFlow merges profile and flow settings and a registration may be older than the spec.
    """
    raw = dict(raw or {})
    decls = {d.key: d for d in declarations(spec)}
    errors: dict[str, str] = {}
    result = ResolvedSettings()
    for key, value in raw.items():
        decl = decls.get(key)
        if decl is None:
            if strict:
                errors[key] = f"unknown setting '{key}'; this connector's settings are: {', '.join(decls)}"
            continue
        if value is None or (isinstance(value, str) and not value.strip() and not decl.required):
            continue
        try:
            typed = _typed(decl, value)
        except ValueError as exc:
            errors[key] = f"setting '{key}' {exc}"
            continue
        if decl.from_spec:
            result.spec_values[key] = typed
        elif key == PAGE_SIZE:
            if not 1 <= typed <= MAX_PAGE_SIZE_SETTING:
                errors[key] = f"setting '{key}' must be between 1 and {MAX_PAGE_SIZE_SETTING}, got {typed}"
            else:
                result.page_size = typed
        elif key == WRITE_CONCURRENCY:
            if not 1 <= typed <= MAX_WRITE_CONCURRENCY:
                errors[key] = f"setting '{key}' must be between 1 and {MAX_WRITE_CONCURRENCY}, got {typed}"
            else:
                result.write_concurrency = typed
    wanted_scopes = _scopes_of(scope)
    if strict and scope in (SOURCE, DESTINATION) and wanted_scopes is not None:
        for key in raw:
            decl = decls.get(key)
            flow_only = decl is not None and decl.scope in (SOURCE, DESTINATION)
            if flow_only and key not in errors and decl.scope not in wanted_scopes:  # type: ignore[union-attr]
                errors[key] = f"setting '{key}' applies to {decl.scope.name} flows, not {scope.name} ones"  # type: ignore[union-attr]
    for decl in decls.values():
        if decl.from_spec and decl.key not in result.spec_values and decl.key not in errors:
            if decl.default is not None:
                result.spec_values[decl.key] = decl.default
            elif decl.required and (not strict or wanted_scopes is None or decl.scope in wanted_scopes):
                errors[decl.key] = f"setting '{decl.key}' is required ({decl.description or label(decl.key)})"
    for key in _base_url_settings(spec):
        value = result.spec_values.get(key)
        if value is not None and key not in errors and not _HOST_SAFE.match(str(value)):
            errors[key] = (
                f"setting '{key}' is part of the API address, so it may contain only letters, digits, "
                f"'.', '-', '_' and '~', got {_show(str(value))}"
            )
    instance = raw.get(INSTANCE_URL)
    if INSTANCE_URL in decls and not decls[INSTANCE_URL].from_spec and instance not in (None, ""):
        try:
            result.base_url = check_instance_url(spec, str(instance), result.spec_values)
        except ValueError as exc:
            errors[INSTANCE_URL] = f"setting '{INSTANCE_URL}' {exc}"
    return result, errors


def _base_url_settings(spec: SourceSpec) -> list[str]:
    return [name for scope, name in placeholders(spec.api.base_url) if scope == "config"]


def allow_list(spec: SourceSpec) -> list[str]:
    entries = [e for e in re.split(r"[\s,]+", os.environ.get(ALLOW_LIST_ENV, "")) if e]
    entries.extend(str(e) for e in getattr(spec.api, "allowed_base_urls", ()) or ())
    return entries


def _entry_matches(entry: str, target: tuple[str, str, int]) -> bool:
    try:
        scheme, host, port = origin(entry.replace("*.", "wildcard-label.", 1))
    except ValueError:
        return False
    if (scheme, port) != (target[0], target[2]):
        return False
    if entry.split("://", 1)[-1].startswith("*."):
        suffix = host[len("wildcard-label") :]
        head, dot, rest = target[1].partition(".")
        return bool(head) and dot == "." and "." + rest == suffix and re.fullmatch(r"[a-z0-9-]+", head) is not None
    return host == target[1]


def check_instance_url(spec: SourceSpec, value: str, spec_values: Mapping[str, Any]) -> str:
    """The accepted base URL, or ValueError saying why it is refused."""
    text = value.strip().rstrip("/")
    try:
        parts = urlsplit(text)
        _ = parts.port  # raises on a malformed port
    except ValueError:
        raise ValueError(f"is not a valid URL: {_show(text)}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an absolute http(s) URL such as https://host/path, got {_show(text)}")
    if parts.username or parts.password or "@" in parts.netloc:
        raise ValueError("must not contain a user name or password")
    if parts.query or parts.fragment or "?" in text or "#" in text:
        raise ValueError("must not contain a query string or fragment")
    if not _HOST.match(parts.hostname.lower()) and not _HOST.match(f"[{parts.hostname.lower()}]"):
        raise ValueError(f"has an invalid host name {_show(parts.hostname)}")
    try:
        wanted = request_origin(text)
    except UnsafeURLError as exc:
        raise ValueError(f"is refused: {exc}") from None
    try:
        spec_base = render(spec.api.base_url, {"config": dict(spec_values)}, where="api.base_url")
    except ConfigError:
        spec_base = ""
    if spec_base and origin(spec_base) == wanted:
        return text
    if any(_entry_matches(entry, wanted) for entry in allow_list(spec)):
        return text
    allowed = [f"{o[0]}://{o[1]}:{o[2]}" for o in ([origin(spec_base)] if spec_base else [])]
    allowed += allow_list(spec)
    raise ValueError(
        f"points at {wanted[0]}://{wanted[1]}:{wanted[2]}, which is not an allowed API host "
        f"(allowed: {', '.join(allowed) or 'none'}; the deployment can extend the list with {ALLOW_LIST_ENV})"
    )
