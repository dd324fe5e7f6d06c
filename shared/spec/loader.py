"""Load a spec (YAML) and validate all of it, reporting every problem with its location at once.

Validation is hand-written over plain dicts rather than pydantic/jsonschema to keep both out of the
Lambda packages; ``shared/specs/spec.schema.json`` mirrors it for editors and is checked in tests.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from shared.errors import SpecError, SpecProblem
from shared.paths import PathError, parse_path
from shared.predicates import RANGE_OPS, Op
from shared.spec.continuation import CONTINUATION_OPTIONS, PATH_OPTIONS, check_continuation
from shared.spec.durations import DurationError, parse_duration
from shared.spec.formats import PARAM_KEYS, build_api_formats, with_format
from shared.spec.model import (
    ApiSpec,
    AuthSpec,
    EntitySpec,
    FieldSpec,
    PaginationSpec,
    ParamSpec,
    ParentSpec,
    PartitionSpec,
    RateLimitSpec,
    RetrySpec,
    SourceSpec,
    SplitSpec,
    WriteOpSpec,
)
from shared.spec.ordering import build_search, build_sort
from shared.spec.projection import build_projection
from shared.spec.sizing import build_count, build_exhaustive
from shared.types import TypeParseError, parse_type
from shared.values import CoercionError, coerce, parse_timestamp

BUNDLED_PACKAGE = "shared.specs"
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: faster cold starts
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,127}$")
HOOK_RE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
PLACEHOLDER_RE = re.compile(r"\{([^{}]+)\}")

AUTH_PARAMS: dict[str, tuple[set[str], set[str]]] = {
    # type: (required keys, optional keys)
    "none": (set(), set()),
    "api_key": ({"name", "value"}, {"in"}),
    "bearer": ({"token"}, set()),
    "basic": ({"username", "password"}, set()),
    "oauth2_client_credentials": ({"token_url", "client_id", "client_secret"}, {"scope", "auth_style"}),
    "oauth2_refresh_token": (
        {"token_url", "client_id", "client_secret", "refresh_token"},
        {"scope", "auth_style"},
    ),
    "hook": ({"function"}, set()),
}

PAGINATION_OPTIONS: dict[str, set[str]] = {
    "none": set(),
    "offset": {"offset_param", "limit_param", "total_path", "total_header", "has_more_path", "stop_on_short_page"},
    "page_number": {
        "page_param",
        "size_param",
        "start",
        "total_pages_path",
        "total_path",
        "total_header",
        "has_more_path",
        "stop_on_short_page",
    },
    "cursor": {"cursor_path", "cursor_from_record", "cursor_param", "size_param", "has_more_path", "done_path"}
    | CONTINUATION_OPTIONS,
    "next_url": {"next_url_path", "size_param", "has_more_path", "done_path"} | CONTINUATION_OPTIONS,
    "link_header": {"rel", "size_param", "total_path", "total_header"} | CONTINUATION_OPTIONS,
    "header_cursor": {"header", "cursor_param", "size_param"} | CONTINUATION_OPTIONS,
    "hook": {"factory"},
}
PAGINATION_REQUIRED: dict[str, set[str]] = {
    "cursor": {"cursor_param"},
    "next_url": {"next_url_path"},
    "header_cursor": {"header", "cursor_param"},
    "hook": {"factory"},
}
PAGINATION_COMMON = {"type", "page_size", "max_page_size", "max_pages", "concurrency", "duplicates"}
DUPLICATE_MODES = ("drop", "fail", "off")  # shared.duplicates: what a record read twice in one read does
MAX_CONCURRENCY = 16  # the HTTP session keeps 16 connections per origin
WRITE_OPS = {"create", "update", "upsert", "delete"}
HOOK_KINDS = {"transform", "parse_page", "prepare_request"}
PARTITION_KINDS = ("string", "int32", "int64", "boolean", "date", "decimal")
MAX_PARTITIONS = 1000


def load_spec(ref: str | None = None, *, base_url: str | None = None) -> SourceSpec:
    """Load a spec by bundled name (``demo``), file path, or ``s3://bucket/key`` URI.

    ``ref`` defaults to ``$SAAS_SPEC`` then ``demo``; ``base_url`` (or ``$SAAS_BASE_URL``) overrides the
    spec's base URL, so the same spec serves a sandbox and production.
    """
    ref = ref or os.environ.get("SAAS_SPEC") or "demo"
    text, source = _read_source(ref)
    spec = load_spec_text(text, source=source)
    override = base_url or os.environ.get("SAAS_BASE_URL")
    if override:
        from dataclasses import replace

        spec = replace(spec, api=replace(spec.api, base_url=override.rstrip("/")))
    return spec


def bundled_spec_names() -> list[str]:
    root = resources.files(BUNDLED_PACKAGE)
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml"))


def _read_source(ref: str) -> tuple[str, str]:
    if ref.startswith("s3://"):
        return _read_s3(ref), ref
    if NAME_RE.match(ref) and not os.path.exists(ref):
        resource = resources.files(BUNDLED_PACKAGE) / f"{ref}.yaml"
        if not resource.is_file():
            names = ", ".join(bundled_spec_names())
            raise SpecError(
                [
                    SpecProblem(
                        ref,
                        "",
                        f"no bundled spec named '{ref}' (bundled: {names}); give a file path or an s3:// URI",
                    )
                ]
            )
        return resource.read_text(encoding="utf-8"), f"{ref}.yaml"
    path = Path(ref)
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except OSError as exc:
        raise SpecError([SpecProblem(str(path), "", f"cannot read spec file: {exc.strerror}")]) from None


def _read_s3(uri: str) -> str:
    """The spec's text from S3, within the request's deadline (``shared.aws``; a timeout is the typed error)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from shared import aws

    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket or not key:
        raise SpecError([SpecProblem(uri, "", "an s3 spec URI must look like s3://bucket/key.yaml")])
    try:
        body = aws.call("s3", "GetObject", {"Bucket": bucket, "Key": key}, what=uri, then=lambda a: a["Body"].read())
    except (BotoCoreError, ClientError) as exc:
        raise SpecError([SpecProblem(uri, "", f"cannot read spec from S3: {exc}")]) from None
    return body.decode("utf-8")


def load_spec_text(text: str, *, source: str = "<spec>") -> SourceSpec:
    """Parse and validate YAML text; raise :class:`SpecError` listing every problem."""
    try:
        loader = _YAML_LOADER(text)
        try:
            node = loader.get_single_node()
            doc = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError([SpecProblem(source, where, f"not valid YAML: {problem}")]) from None
    lines = _line_index(node) if node is not None else {}
    checker = _Checker(source, lines)
    spec = _build(doc, checker)
    if checker.problems or spec is None:
        raise SpecError(checker.problems)
    return spec


def _line_index(node: yaml.Node) -> dict[tuple[Any, ...], int]:
    """Map each key path in the document to its 1-based line, for located messages."""
    index: dict[tuple[Any, ...], int] = {}

    def walk(n: yaml.Node, path: tuple[Any, ...]) -> None:
        index[path] = n.start_mark.line + 1
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                key = k.value
                index[(*path, key)] = k.start_mark.line + 1
                walk(v, (*path, key))
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                walk(v, (*path, i))

    walk(node, ())
    return index


@dataclass
class _Checker:
    source: str
    lines: dict[tuple[Any, ...], int]
    problems: list[SpecProblem] = field(default_factory=list)
    entity_names: dict[int, str] = field(default_factory=dict)

    def add(self, path: tuple[Any, ...], message: str) -> None:
        self.problems.append(SpecProblem(self.source, self._where(path), message))

    def _where(self, path: tuple[Any, ...]) -> str:
        text = ""
        for i, part in enumerate(path):
            if isinstance(part, int):
                text += f"[{part}]"
                if i == 1 and path[0] == "entities" and part in self.entity_names:
                    text += f" ({self.entity_names[part]})"
            else:
                text += f".{part}" if text else str(part)
        probe = path
        while probe not in self.lines and probe:
            probe = probe[:-1]
        line = self.lines.get(probe)
        return f"line {line}: {text}" if line and text else text

    def mapping(
        self,
        value: Any,
        path: tuple[Any, ...],
        allowed: set[str] | None = None,
        required: set[str] = frozenset(),
    ) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.add(path, f"must be a mapping, got {type(value).__name__}")
            return None
        for key in sorted(required - value.keys()):
            self.add(path, f"missing required key '{key}'")
        if allowed is not None:
            for key in value:
                if key not in allowed:
                    hint = _closest(str(key), allowed)
                    self.add((*path, key), f"unknown key '{key}'" + (f" (did you mean '{hint}'?)" if hint else ""))
        return value

    def string(self, value: Any, path: tuple[Any, ...], default: str | None = None) -> str | None:
        if value is None:
            return default
        if not isinstance(value, str) or not value:
            self.add(path, f"must be a non-empty string, got {value!r}")
            return default
        return value

    def number(
        self,
        value: Any,
        path: tuple[Any, ...],
        default: float,
        *,
        minimum: float = 0.0,
        integer: bool = False,
    ) -> Any:
        if value is None:
            return default
        ok = isinstance(value, int) if integer else isinstance(value, int | float)
        if isinstance(value, bool) or not ok or value < minimum:
            kind = "an integer" if integer else "a number"
            self.add(path, f"must be {kind} >= {minimum:g}, got {value!r}")
            return default
        return value

    def boolean(self, value: Any, path: tuple[Any, ...], default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.add(path, f"must be true or false, got {value!r}")
            return default
        return value

    def hook(self, value: Any, path: tuple[Any, ...], modules: tuple[str, ...]) -> str | None:
        if not isinstance(value, str) or not HOOK_RE.match(value):
            self.add(path, f"must be 'module:name', got {value!r}")
            return None
        module = value.split(":", 1)[0]
        if not any(module == m or module.startswith(m + ".") for m in modules):
            declared = ", ".join(modules) or "none"
            self.add(path, f"hook module '{module}' is not declared in api.hooks.modules (declared: {declared})")
            return None
        return value


def _closest(word: str, options: set[str]) -> str | None:
    import difflib

    found = difflib.get_close_matches(word, sorted(options), n=1, cutoff=0.75)
    return found[0] if found else None


TOP_KEYS = {"version", "api", "entities"}
API_KEYS = {
    "name",
    "title",
    "base_url",
    "auth",
    "headers",
    "timeout_s",
    "retry",
    "rate_limit",
    "pagination",
    "hooks",
    "check",
    "settings",
    "formats",
}
ENTITY_KEYS = {
    "name",
    "description",
    "path",
    "records",
    "primary_key",
    "fields",
    "filters",
    "incremental",
    "select_fields_param",
    "splits",
    "partitions",
    "count",
    "pagination",
    "parent",
    "params",
    "write",
    "get",
    "hooks",
    "class",
    "on_invalid_value",
    "sort",
    "search",
}
FIELD_KEYS = {"type", "path", "nullable", "description", "writable", "items", "fields"}


def _build(doc: Any, c: _Checker) -> SourceSpec | None:
    top = c.mapping(doc, (), TOP_KEYS, {"api", "entities"})
    if top is None:
        return None
    version = top.get("version", 1)
    if version != 1:
        c.add(("version",), f"unsupported spec version {version!r}; this release reads version 1")
    api = _build_api(top.get("api"), c)
    raw_entities = top.get("entities")
    entities: list[EntitySpec] = []
    if not isinstance(raw_entities, list) or not raw_entities:
        if "entities" in top:
            c.add(("entities",), "must be a non-empty list of entities")
    else:
        modules = api.hook_modules if api else ()
        for i, raw in enumerate(raw_entities):
            entity = _build_entity(raw, ("entities", i), c, modules, api)
            if entity is not None:
                entities.append(entity)
        _check_entities(entities, raw_entities, c)
    if api is None or c.problems:
        return None
    return SourceSpec(api=api, entities=tuple(entities), source=c.source)


def _build_api(raw: Any, c: _Checker) -> ApiSpec | None:
    path: tuple[Any, ...] = ("api",)
    m = c.mapping(raw, path, API_KEYS, {"name", "base_url"})
    if m is None:
        return None
    name = c.string(m.get("name"), (*path, "name"), "api")
    base_url = c.string(m.get("base_url"), (*path, "base_url"), "")
    if base_url and not re.match(r"^(https?://|\{config\.)", base_url):
        c.add(
            (*path, "base_url"),
            f"must start with http:// or https:// (or a {{config.*}} setting), got {base_url!r}",
        )
    hooks = m.get("hooks") or {}
    modules: tuple[str, ...] = ()
    if c.mapping(hooks, (*path, "hooks"), {"modules"}) is not None:
        mods = hooks.get("modules") or []
        if not isinstance(mods, list) or not all(isinstance(x, str) and x for x in mods):
            c.add((*path, "hooks", "modules"), "must be a list of module names")
        else:
            modules = tuple(mods)
    settings = _build_settings(m.get("settings"), (*path, "settings"), c)
    formats = build_api_formats(m.get("formats"), (*path, "formats"), c)
    auth = _build_auth(m.get("auth") or {"type": "none"}, (*path, "auth"), c, modules)
    headers = m.get("headers") or {}
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str | int) for k, v in headers.items()
    ):
        c.add((*path, "headers"), "must map header names to string values")
        headers = {}
    connect_s, read_s = 10.0, 30.0
    timeout = m.get("timeout_s")
    if isinstance(timeout, dict):
        c.mapping(timeout, (*path, "timeout_s"), {"connect", "read"})
        connect_s = c.number(timeout.get("connect"), (*path, "timeout_s", "connect"), connect_s, minimum=0.001)
        read_s = c.number(timeout.get("read"), (*path, "timeout_s", "read"), read_s, minimum=0.001)
    elif timeout is not None:
        read_s = c.number(timeout, (*path, "timeout_s"), read_s, minimum=0.001)
        connect_s = min(connect_s, read_s)
    retry = _build_retry(m.get("retry"), (*path, "retry"), c)
    rate = None
    if m.get("rate_limit") is not None:
        rl = c.mapping(
            m["rate_limit"], (*path, "rate_limit"), {"requests_per_second", "burst"}, {"requests_per_second"}
        )
        if rl is not None:
            rps = c.number(
                rl.get("requests_per_second"),
                (*path, "rate_limit", "requests_per_second"),
                1.0,
                minimum=0.001,
            )
            burst = c.number(rl.get("burst"), (*path, "rate_limit", "burst"), max(1, int(rps)), minimum=1, integer=True)
            rate = RateLimitSpec(float(rps), int(burst))
    pagination = _build_pagination(m.get("pagination") or {"type": "none"}, (*path, "pagination"), c, modules)
    check = m.get("check")
    check_path = None
    if check is not None:
        cm = c.mapping(check, (*path, "check"), {"path"}, {"path"})
        if cm is not None:
            check_path = c.string(cm.get("path"), (*path, "check", "path"))
    return ApiSpec(
        name=name or "api",
        title=str(m.get("title") or name or ""),
        base_url=(base_url or "").rstrip("/"),
        auth=auth or AuthSpec("none"),
        headers={k: str(v) for k, v in headers.items()},
        connect_timeout_s=float(connect_s),
        read_timeout_s=float(read_s),
        retry=retry,
        rate_limit=rate,
        pagination=pagination or PaginationSpec("none"),
        hook_modules=modules,
        check_path=check_path,
        settings=settings,
        formats=formats,
    )


def _build_settings(raw: Any, path: tuple[Any, ...], c: _Checker) -> dict[str, dict[str, Any]]:
    if raw is None:
        return {}
    m = c.mapping(raw, path)
    out: dict[str, dict[str, Any]] = {}
    for key, value in (m or {}).items():
        sm = c.mapping(value, (*path, key), {"description", "required", "default", "pattern", "type"})
        if sm is None:
            continue
        if not NAME_RE.match(str(key)):
            c.add((*path, key), "setting names must be lower_snake_case")
        if sm.get("type", "string") not in ("string", "integer", "boolean"):
            c.add((*path, key, "type"), "must be string, integer or boolean")
        if "pattern" in sm:
            try:
                re.compile(str(sm["pattern"]))
            except re.error as exc:
                c.add((*path, key, "pattern"), f"not a valid regular expression: {exc}")
        out[str(key)] = dict(sm)
    return out


def _build_auth(raw: Any, path: tuple[Any, ...], c: _Checker, modules: tuple[str, ...]) -> AuthSpec | None:
    m = c.mapping(raw, path, None, {"type"})
    if m is None:
        return None
    kind = m.get("type")
    if kind not in AUTH_PARAMS:
        c.add((*path, "type"), f"unknown auth type {kind!r}; use one of {', '.join(AUTH_PARAMS)}")
        return None
    required, optional = AUTH_PARAMS[kind]
    c.mapping(m, path, required | optional | {"type"}, required)
    params = {k: v for k, v in m.items() if k != "type"}
    if kind == "api_key" and params.get("in", "header") not in ("header", "query"):
        c.add((*path, "in"), "must be 'header' or 'query'")
    if kind == "hook" and "function" in params:
        c.hook(params["function"], (*path, "function"), modules)
    for key, value in params.items():
        if key not in ("function",) and not isinstance(value, str):
            c.add((*path, key), f"must be a string (use {{secret.NAME}} to read a credential), got {value!r}")
    return AuthSpec(kind, params)


def _build_retry(raw: Any, path: tuple[Any, ...], c: _Checker) -> RetrySpec:
    if raw is None:
        return RetrySpec()
    keys = {"max_attempts", "base_delay_s", "max_delay_s", "retry_after_cap_s", "on_status"}
    m = c.mapping(raw, path, keys)
    if m is None:
        return RetrySpec()
    d = RetrySpec()
    statuses = m.get("on_status", list(d.on_status))
    if not isinstance(statuses, list) or not all(isinstance(s, int) and 400 <= s <= 599 for s in statuses):
        c.add((*path, "on_status"), "must be a list of HTTP status codes 400..599")
        statuses = list(d.on_status)
    return RetrySpec(
        max_attempts=c.number(m.get("max_attempts"), (*path, "max_attempts"), d.max_attempts, minimum=1, integer=True),
        base_delay_s=float(c.number(m.get("base_delay_s"), (*path, "base_delay_s"), d.base_delay_s)),
        max_delay_s=float(c.number(m.get("max_delay_s"), (*path, "max_delay_s"), d.max_delay_s)),
        retry_after_cap_s=float(
            c.number(m.get("retry_after_cap_s"), (*path, "retry_after_cap_s"), d.retry_after_cap_s)
        ),
        on_status=tuple(statuses),
    )


def _build_pagination(raw: Any, path: tuple[Any, ...], c: _Checker, modules: tuple[str, ...]) -> PaginationSpec | None:
    m = c.mapping(raw, path, None, {"type"})
    if m is None:
        return None
    kind = m.get("type")
    if kind not in PAGINATION_OPTIONS:
        c.add((*path, "type"), f"unknown pagination type {kind!r}; use one of {', '.join(PAGINATION_OPTIONS)}")
        return None
    c.mapping(m, path, PAGINATION_OPTIONS[kind] | PAGINATION_COMMON, PAGINATION_REQUIRED.get(kind, set()))
    page_size = c.number(m.get("page_size"), (*path, "page_size"), 100, minimum=1, integer=True)
    max_size = m.get("max_page_size")
    if max_size is not None:
        max_size = c.number(max_size, (*path, "max_page_size"), None, minimum=1, integer=True)
        if max_size is not None and page_size > max_size:
            c.add((*path, "page_size"), f"page_size {page_size} exceeds max_page_size {max_size}")
    max_pages = m.get("max_pages")
    if max_pages is not None:
        max_pages = c.number(max_pages, (*path, "max_pages"), None, minimum=1, integer=True)
    concurrency = c.number(m.get("concurrency"), (*path, "concurrency"), 4, minimum=1, integer=True)
    if concurrency > MAX_CONCURRENCY:
        c.add(
            (*path, "concurrency"),
            f"must be at most {MAX_CONCURRENCY} (requests in flight per read), got {concurrency}",
        )
        concurrency = MAX_CONCURRENCY
    duplicates = m.get("duplicates")
    if duplicates is False:  # YAML 1.1 reads a bare `off` as false
        duplicates = "off"
    if duplicates is not None and duplicates not in DUPLICATE_MODES:
        c.add((*path, "duplicates"), f"must be one of {', '.join(DUPLICATE_MODES)}, got {duplicates!r}")
        duplicates = None
    options = {k: v for k, v in m.items() if k not in PAGINATION_COMMON}
    for key in ("cursor_path", "next_url_path", "total_path", "has_more_path", "total_pages_path", *PATH_OPTIONS):
        if key in options:
            _check_path(options[key], (*path, key), c)
    check_continuation(kind, options, path, c.add)
    if kind == "hook" and "factory" in options:
        c.hook(options["factory"], (*path, "factory"), modules)
    if "start" in options and (not isinstance(options["start"], int) or isinstance(options["start"], bool)):
        c.add((*path, "start"), "must be an integer (the first page's number)")
    return PaginationSpec(kind, int(page_size), max_size, options, max_pages, int(concurrency), duplicates)


def _check_path(value: Any, path: tuple[Any, ...], c: _Checker) -> str | None:
    if not isinstance(value, str):
        c.add(path, f"must be a dotted path string, got {value!r}")
        return None
    try:
        parse_path(value)
    except PathError as exc:
        c.add(path, str(exc))
        return None
    return value


def _build_entity(
    raw: Any, path: tuple[Any, ...], c: _Checker, modules: tuple[str, ...], api: ApiSpec | None
) -> EntitySpec | None:
    m = c.mapping(raw, path, ENTITY_KEYS, {"name", "fields"} | (set() if (raw or {}).get("class") else {"path"}))
    if m is None:
        return None
    name = m.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        c.add((*path, "name"), f"entity names must be lower_snake_case identifiers, got {name!r}")
        name = str(name)
    label = path
    if isinstance(name, str):
        c.entity_names[path[-1]] = name
    entity_path = c.string(m.get("path"), (*label, "path"), "")
    if entity_path and not entity_path.startswith("/"):
        c.add((*label, "path"), f"must start with '/', got {entity_path!r}")
    records = m.get("records", "")
    if records is None:
        records = ""
    if records != "":
        _check_path(records, (*label, "records"), c)
    fields = _build_fields(m.get("fields"), (*label, "fields"), c)
    by_name = {f.name: f for f in fields}
    fields = _apply_filters(m.get("filters"), (*label, "filters"), c, by_name, fields, api.formats if api else {})
    pk = m.get("primary_key") or []
    if isinstance(pk, str):
        pk = [pk]
    if not isinstance(pk, list):
        c.add((*label, "primary_key"), "must be a field name or a list of field names")
        pk = []
    for key in pk:
        if key not in by_name:
            c.add((*label, "primary_key"), f"primary key field '{key}' is not declared in fields")
    incremental = None
    if m.get("incremental") is not None:
        inc = c.mapping(m["incremental"], (*label, "incremental"), {"field"}, {"field"})
        if inc is not None:
            incremental = inc.get("field")
            f = by_name.get(incremental)
            if f is None:
                c.add((*label, "incremental", "field"), f"field '{incremental}' is not declared in fields")
            elif f.type.kind not in ("timestamp", "date", "int64", "int32"):
                c.add(
                    (*label, "incremental", "field"),
                    f"the incremental field must be a timestamp, date or integer, not {f.type}",
                )
    select = None
    if m.get("select_fields_param") is not None:
        select = build_projection(m["select_fields_param"], (*label, "select_fields_param"), c.add)
    pagination = None
    if m.get("pagination") is not None:
        pagination = _build_pagination(m["pagination"], (*label, "pagination"), c, modules)
        if pagination is not None and pagination.duplicates in ("drop", "fail") and not pk:
            c.add(
                (*label, "pagination", "duplicates"),
                f"'{pagination.duplicates}' finds records read twice by primary key: declare primary_key "
                "on the entity, or use 'off'",
            )
    parent = None
    if m.get("parent") is not None:
        pm = c.mapping(m["parent"], (*label, "parent"), {"entity", "fields"}, {"entity", "fields"})
        if pm is not None:
            pf = pm.get("fields")
            if not isinstance(pf, dict) or not pf:
                c.add((*label, "parent", "fields"), "must map child field names to parent field names")
                pf = {}
            for child_field in pf:
                if child_field not in by_name:
                    c.add(
                        (*label, "parent", "fields", child_field),
                        f"child field '{child_field}' is not declared in fields",
                    )
            parent = ParentSpec(str(pm.get("entity")), {str(k): str(v) for k, v in pf.items()})
    for placeholder in PLACEHOLDER_RE.findall(entity_path or ""):
        scope, _, key = placeholder.partition(".")
        if scope == "parent":
            if parent is None:
                c.add((*label, "path"), f"placeholder {{{placeholder}}} needs a 'parent' declaration")
            elif key not in parent.fields.values():
                c.add((*label, "path"), f"placeholder {{{placeholder}}} names no parent field in parent.fields")
        elif scope == "config":
            if api is not None and key not in api.settings:
                c.add((*label, "path"), f"placeholder {{{placeholder}}} names no setting in api.settings")
        else:
            c.add((*label, "path"), f"unknown placeholder {{{placeholder}}}; use {{parent.x}} or {{config.x}}")
    params = m.get("params") or {}
    if not isinstance(params, dict):
        c.add((*label, "params"), "must map query parameter names to fixed values")
        params = {}
    splits = _build_splits(m.get("splits"), (*label, "splits"), c, by_name, parent)
    partitions = _build_partitions(m.get("partitions"), (*label, "partitions"), c, by_name, splits)
    writes: dict[str, WriteOpSpec] = {}
    if m.get("write") is not None:
        wm = c.mapping(m["write"], (*label, "write"), WRITE_OPS)
        for op, spec in (wm or {}).items():
            if op not in WRITE_OPS:
                continue
            om = c.mapping(spec, (*label, "write", op), {"method", "path", "body_path"}, {"method", "path"})
            if om is None:
                continue
            method = str(om.get("method", "")).upper()
            if op == "delete":
                if method != "DELETE":
                    c.add((*label, "write", op, "method"), f"must be DELETE, got {om.get('method')!r}")
                if om.get("body_path") is not None:
                    c.add((*label, "write", op, "body_path"), "a delete sends no body")
            elif method not in ("POST", "PUT", "PATCH"):
                c.add((*label, "write", op, "method"), f"must be POST, PUT or PATCH, got {om.get('method')!r}")
            wpath = c.string(om.get("path"), (*label, "write", op, "path"), "")
            for ph in PLACEHOLDER_RE.findall(wpath or ""):
                if ph not in by_name:
                    c.add((*label, "write", op, "path"), f"placeholder {{{ph}}} names no declared field")
            if op in ("update", "upsert", "delete") and not pk:
                c.add((*label, "write", op), f"'{op}' needs a primary_key on the entity")
            if op == "delete" and pk and not set(PLACEHOLDER_RE.findall(wpath or "")) & set(pk):
                c.add((*label, "write", op, "path"), "must name the record by its primary key, e.g. /things/{id}")
            writes[op] = WriteOpSpec(method, wpath or "", om.get("body_path"))
    get_path = None
    if m.get("get") is not None:
        gm = c.mapping(m["get"], (*label, "get"), {"path"}, {"path"})
        if gm is not None:
            get_path = c.string(gm.get("path"), (*label, "get", "path"))
            for ph in PLACEHOLDER_RE.findall(get_path or ""):
                if ph not in by_name:
                    c.add((*label, "get", "path"), f"placeholder {{{ph}}} names no declared field")
    hooks: dict[str, str] = {}
    if m.get("hooks") is not None:
        hm = c.mapping(m["hooks"], (*label, "hooks"), HOOK_KINDS)
        for kind, ref in (hm or {}).items():
            if kind in HOOK_KINDS and c.hook(ref, (*label, "hooks", kind), modules):
                hooks[kind] = ref
    reader = None
    if m.get("class") is not None:
        reader = c.hook(m["class"], (*label, "class"), modules)
    count = build_count(m.get("count"), (*label, "count"), c, parent, reader)
    sort = build_sort(m.get("sort"), (*label, "sort"), c, by_name)
    search = build_search(m.get("search"), (*label, "search"), c, by_name)
    on_invalid = m.get("on_invalid_value", "error")
    if on_invalid not in ("error", "null"):
        c.add((*label, "on_invalid_value"), f"must be 'error' or 'null', got {on_invalid!r}")
    return EntitySpec(
        name=name,
        description=str(m.get("description") or ""),
        path=entity_path or "",
        records=records if isinstance(records, str) else "",
        fields=tuple(fields),
        primary_key=tuple(pk),
        pagination=pagination,
        parent=parent,
        params={str(k): str(v) for k, v in params.items()},
        incremental_field=incremental,
        select_param=select,
        splits=splits,
        partitions=partitions,
        count=count,
        writes=writes,
        get_path=get_path,
        hooks=hooks,
        reader=reader,
        on_invalid_value=on_invalid,
        sort=sort,
        search=search,
    )


def _build_fields(raw: Any, path: tuple[Any, ...], c: _Checker) -> list[FieldSpec]:
    m = c.mapping(raw, path)
    if m is None:
        return []
    if not m:
        c.add(path, "an entity needs at least one field")
    out: list[FieldSpec] = []
    for fname, fraw in m.items():
        fpath = (*path, fname)
        if not isinstance(fname, str) or not NAME_RE.match(fname):
            c.add(fpath, f"field names must be lower_snake_case identifiers, got {fname!r}")
            continue
        decl = {"type": fraw} if isinstance(fraw, str) else fraw
        fm = c.mapping(decl, fpath, FIELD_KEYS, {"type"})
        if fm is None:
            continue
        try:
            ftype = parse_type(fm if fm.get("type") in ("object", "list") else fm.get("type"))
        except TypeParseError as exc:
            c.add((*fpath, "type"), str(exc))
            continue
        fpath_text = _check_path(fm.get("path", fname), (*fpath, "path"), c) or fname
        out.append(
            FieldSpec(
                name=fname,
                type=ftype,
                path=fpath_text,
                nullable=c.boolean(fm.get("nullable"), (*fpath, "nullable"), True),
                description=str(fm.get("description") or ""),
                writable=c.boolean(fm.get("writable"), (*fpath, "writable"), False),
            )
        )
    return out


def _build_param(raw: Any, path: tuple[Any, ...], c: _Checker) -> ParamSpec | None:
    if isinstance(raw, str):
        raw = {"param": raw}
    m = c.mapping(raw, path, {"param", "join", "value", "exact", "reserved", "escape", "nulls"} | PARAM_KEYS, {"param"})
    if m is None:
        return None
    fmt = m.get("format", "auto")  # checked against the field's type by shared.spec.formats.with_format
    join = m.get("join")
    if join is not None and not isinstance(join, str):
        c.add((*path, "join"), "must be a separator string such as ','")
    reserved = m.get("reserved")
    if reserved is not None and not isinstance(reserved, str):
        c.add((*path, "reserved"), "must be a string of the characters the API gives meaning to, such as ',*'")
    escape = m.get("escape")
    if escape is not None and (not isinstance(escape, str) or len(escape) != 1):
        c.add((*path, "escape"), "must be one character, the API's escape character (such as a backslash)")
    return ParamSpec(
        param=str(m.get("param")),
        format=fmt if isinstance(fmt, str) else "literals",
        join=join,
        value=None if m.get("value") is None else str(m["value"]),
        exact=c.boolean(m.get("exact"), (*path, "exact"), True),
        reserved=reserved if isinstance(reserved, str) else None,
        escape=escape if isinstance(escape, str) and len(escape) == 1 else None,
        nulls=_check_nulls(m.get("nulls"), path, c),
    )


NULLS = ("included", "excluded")


def _check_nulls(raw: Any, path: tuple[Any, ...], c: _Checker) -> str | None:
    """``nulls`` belongs to ``not_in`` and must be said there: it decides whether "none of these" may be pushed
    for the catch-all partition, which owns the records whose field is null."""
    is_not_in = bool(path) and path[-1] == Op.NOT_IN.value
    if raw is None:
        if is_not_in:
            c.add(path, "a not_in filter needs 'nulls: included' or 'nulls: excluded' (does the API's answer keep "
                  "records whose field is null or missing?)")  # fmt: skip
        return None
    if not is_not_in:
        c.add((*path, "nulls"), "'nulls' belongs to a not_in filter")
        return None
    if raw not in NULLS:
        c.add((*path, "nulls"), f"must be one of {', '.join(NULLS)}, got {raw!r}")
        return None
    return str(raw)


def _apply_filters(
    raw: Any,
    path: tuple[Any, ...],
    c: _Checker,
    by_name: dict[str, FieldSpec],
    fields: list[FieldSpec],
    formats: dict[str, Any] | None = None,
) -> list[FieldSpec]:
    if raw is None:
        return fields
    m = c.mapping(raw, path)
    if m is None:
        return fields
    from dataclasses import replace

    updated = dict(by_name)
    for fname, ops in m.items():
        fpath = (*path, fname)
        if fname not in by_name:
            c.add(fpath, f"filter on undeclared field '{fname}'")
            continue
        om = c.mapping(ops, fpath)
        if om is None:
            continue
        ftype = by_name[fname].type
        filters: dict[Op, ParamSpec] = {}
        for op_name, praw in om.items():
            try:
                op = Op(op_name)
            except ValueError:
                c.add(
                    (*fpath, op_name),
                    f"unknown operator '{op_name}'; use one of {', '.join(o.value for o in Op)}",
                )
                continue
            if op in RANGE_OPS and not ftype.is_orderable:
                c.add((*fpath, op_name), f"range operator '{op_name}' does not apply to a {ftype} field")
                continue
            if not ftype.is_scalar or ftype.kind == "json":
                c.add((*fpath, op_name), f"cannot filter a {ftype} field")
                continue
            if op is Op.BETWEEN:
                bm = c.mapping(praw, (*fpath, op_name), {"low", "high"}, {"low", "high"})
                if bm is None:
                    continue
                low = _build_param(bm.get("low"), (*fpath, op_name, "low"), c)
                high = _build_param(bm.get("high"), (*fpath, op_name, "high"), c)
                if low:
                    low = with_format(low, bm.get("low"), ftype, formats or {}, (*fpath, op_name, "low"), c)
                if high:
                    high = with_format(high, bm.get("high"), ftype, formats or {}, (*fpath, op_name, "high"), c)
                if low and high:
                    filters[Op.GE] = filters.get(Op.GE) or low
                    filters[Op.LE] = filters.get(Op.LE) or high
                continue
            param = _build_param(praw, (*fpath, op_name), c)
            if param is not None:
                filters[op] = with_format(param, praw, ftype, formats or {}, (*fpath, op_name), c)
        updated[fname] = replace(by_name[fname], filters=filters)
    by_name.update(updated)
    return [updated[f.name] for f in fields]


def _build_splits(
    raw: Any, path: tuple[Any, ...], c: _Checker, by_name: dict[str, FieldSpec], parent: ParentSpec | None
) -> SplitSpec | None:
    if raw is None:
        return None
    keys = {"by", "field", "start", "end", "step", "count", "max_splits", "max_ids_per_split"}
    m = c.mapping(raw, path, keys, {"by"})
    if m is None:
        return None
    by = m.get("by")
    max_splits = c.number(m.get("max_splits"), (*path, "max_splits"), 64, minimum=1, integer=True)
    if by == "parent":
        if parent is None:
            c.add((*path, "by"), "splitting by parent needs a 'parent' declaration on the entity")
        per = c.number(m.get("max_ids_per_split"), (*path, "max_ids_per_split"), 200, minimum=1, integer=True)
        return SplitSpec("parent", max_splits=max_splits, max_ids_per_split=per)
    if by not in ("time_window", "id_range"):
        c.add((*path, "by"), f"unknown split kind {by!r}; use time_window, id_range or parent")
        return None
    fname = m.get("field")
    f = by_name.get(fname) if isinstance(fname, str) else None
    if f is None:
        c.add((*path, "field"), f"split field {fname!r} is not declared in fields")
        return None
    if f.nullable:
        c.add(
            (*path, "field"),
            f"split field '{fname}' must be declared nullable: false (a null would fall in no split)",
        )
    lower_ok = Op.GE in f.filters or Op.GT in f.filters
    upper_ok = Op.LT in f.filters or Op.LE in f.filters
    if not (lower_ok and upper_ok):
        c.add(
            (*path, "field"),
            f"split field '{fname}' needs server-side lower and upper bound filters "
            "(ge/gt and lt/le) declared under filters",
        )
    if by == "time_window":
        if f.type.kind not in ("timestamp", "date"):
            c.add((*path, "field"), f"time_window splits need a timestamp or date field, '{fname}' is {f.type}")
        for key in ("start", "end"):
            value = m.get(key)
            if value is None and key == "start":
                c.add((*path, key), "time_window splits need a 'start' timestamp")
            elif value is not None and value != "now":
                try:
                    parse_timestamp(value if isinstance(value, str) else str(value))
                except CoercionError as exc:
                    c.add((*path, key), str(exc))
        try:
            step = parse_duration(str(m.get("step", "P30D")))
        except DurationError as exc:
            c.add((*path, "step"), str(exc))
            step = None
        return SplitSpec("time_window", fname, m.get("start"), m.get("end", "now"), step, None, max_splits)
    if f.type.kind not in ("int32", "int64"):
        c.add((*path, "field"), f"id_range splits need an integer field, '{fname}' is {f.type}")
    start = m.get("start")
    end = m.get("end")
    for key, value in (("start", start), ("end", end)):
        if not isinstance(value, int) or isinstance(value, bool):
            c.add((*path, key), f"id_range splits need an integer '{key}'")
    count = m.get("count")
    step = m.get("step")
    if (count is None) == (step is None):
        c.add(path, "id_range splits need exactly one of 'count' or 'step'")
    for key, value in (("count", count), ("step", step)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            c.add((*path, key), f"must be a positive integer, got {value!r}")
    return SplitSpec("id_range", fname, start, end, step, count, max_splits)


def _build_partitions(
    raw: Any, path: tuple[Any, ...], c: _Checker, by_name: dict[str, FieldSpec], splits: SplitSpec | None
) -> PartitionSpec | None:
    """``partitions: {field, values}``: a field with a known value set, each value read with ``field = value``."""
    if raw is None:
        return None
    m = c.mapping(raw, path, {"field", "values", "exhaustive"}, {"field", "values"})
    if m is None:
        return None
    fname = m.get("field")
    f = by_name.get(fname) if isinstance(fname, str) else None
    if "field" in m and f is None:
        c.add((*path, "field"), f"partition field {fname!r} is not declared in fields")
    if f is not None:
        if f.type.kind not in PARTITION_KINDS:
            c.add(
                (*path, "field"),
                f"partition field '{fname}' is {f.type}; partitions need a string, integer, boolean, date or "
                "decimal field (values compared for equality)",
            )
            f = None
        elif Op.EQ not in f.filters and Op.IN not in f.filters:
            c.add(
                (*path, "field"),
                f"partition field '{fname}' needs a server-side eq or in filter declared under filters "
                "(each partition is read with field = value)",
            )
    if splits is not None and splits.by == "parent":
        c.add(
            path,
            "partitions cannot be combined with splits by parent: every partition would read every parent again; "
            "keep one of the two",
        )
    elif splits is not None and splits.field is not None and splits.field == fname:
        c.add(path, f"the partition field '{fname}' is also the split field; partition by another field")
    raw_values = m.get("values")
    values: list[Any] = []
    if "values" in m and (not isinstance(raw_values, list) or not raw_values):
        c.add((*path, "values"), "must be a non-empty list of the field's values")
        raw_values = []
    elif isinstance(raw_values, list) and len(raw_values) > MAX_PARTITIONS:
        c.add(
            (*path, "values"),
            f"{len(raw_values)} values; at most {MAX_PARTITIONS} partitions (the layout cannot page or spill)",
        )
    seen: dict[Any, int] = {}
    for i, value in enumerate(raw_values or []):
        vpath = (*path, "values", i)
        if value is None:
            c.add(vpath, "null is not a partition value (rows with a null field are read by the catch-all partition)")
            continue
        if isinstance(value, dict | list):
            c.add(vpath, f"must be a single value, got {value!r}")
            continue
        if f is None:
            continue
        try:
            typed = coerce(value, f.type)
        except CoercionError as exc:
            c.add(vpath, f"value {value!r} does not fit the partition field '{fname}': {exc}")
            continue
        if f.type.kind == "string" and not isinstance(value, str):
            c.add(vpath, f"value {value!r} must be a string (quote it) for the string field '{fname}'")
            continue
        key = (type(typed).__name__, typed)
        if key in seen:
            c.add(vpath, f"duplicate partition value {value!r} (also values[{seen[key]}])")
            continue
        seen[key] = i
        values.append(typed)
    exhaustive = build_exhaustive(m.get("exhaustive"), (*path, "exhaustive"), c, f)
    if f is None or not values:
        return None
    return PartitionSpec(f.name, tuple(values), exhaustive)


def _check_entities(entities: list[EntitySpec], raw: list[Any], c: _Checker) -> None:
    names: dict[str, int] = {}
    for i, e in enumerate(entities):
        if e.name in names:
            c.add(("entities", i, "name"), f"duplicate entity name '{e.name}' (also entities[{names[e.name]}])")
        names.setdefault(e.name, i)
    by_name = {e.name: e for e in entities}
    for i, e in enumerate(entities):
        if e.parent is None:
            continue
        parent = by_name.get(e.parent.entity)
        if parent is None:
            c.add(("entities", i, "parent", "entity"), f"parent entity '{e.parent.entity}' is not declared")
            continue
        if parent.name == e.name:
            c.add(("entities", i, "parent", "entity"), "an entity cannot be its own parent")
            continue
        for child_field, parent_field in e.parent.fields.items():
            if parent_field not in parent.field_names:
                c.add(
                    ("entities", i, "parent", "fields", child_field),
                    f"parent field '{parent_field}' is not declared on '{parent.name}'",
                )
        seen = {e.name}
        cur: EntitySpec | None = parent
        while cur is not None and cur.parent is not None:
            if cur.name in seen:
                c.add(("entities", i, "parent"), "parent declarations form a cycle")
                break
            seen.add(cur.name)
            cur = by_name.get(cur.parent.entity)


def resolve_hook(ref: str, modules: tuple[str, ...]) -> Callable[..., Any]:
    """Import ``module:name`` only when the module is one the spec declares (never arbitrary code)."""
    import importlib

    module_name, _, attr = ref.partition(":")
    if not any(module_name == m or module_name.startswith(m + ".") for m in modules):
        raise SpecError([SpecProblem("<hooks>", ref, "hook module is not declared in api.hooks.modules")])
    try:
        module = importlib.import_module(module_name)
        return getattr(module, attr)
    except (ImportError, AttributeError) as exc:
        raise SpecError([SpecProblem("<hooks>", ref, f"cannot load hook: {exc}")]) from None


__all__ = ["bundled_spec_names", "load_spec", "load_spec_text", "resolve_hook"]
