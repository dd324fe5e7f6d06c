"""``spec infer URL``: a starter spec a SaaS engineer can keep, from a few requests to one endpoint.

What it keeps from the command line: the base URL with its path (``https://host/api/v2``, so an existing
``SAAS_BASE_URL`` is not doubled), the headers and query parameters that made the request work (a credential
header or parameter becomes the spec's ``auth`` with a ``{secret.NAME}`` placeholder; its value is never written),
and the rest as ``headers`` / ``params``. What it finds in the answers: the records (the largest list of objects,
naming the other candidates), the pagination (next cursors, next URLs, totals, ``Link`` headers, has-more flags),
equality filters it verified with one probe request each, and field types and nullability over every sampled
page. It ends by reading two pages through the shared client with the spec it wrote.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests

from saas_cli.errors import CliError, UsageError
from saas_cli.output import say
from shared.paths import compile_path
from shared.records import list_paths

SECRET_HEADER = re.compile(r"(api[-_]?key|token|secret|auth|session|password|key$)", re.IGNORECASE)
SECRET_PARAM = re.compile(r"^(api[-_]?key|apikey|key|token|access[-_]?token|auth[-_]?token|secret)$", re.IGNORECASE)
CURSOR_KEYS = ("next_cursor", "nextCursor", "next_page_token", "nextPageToken", "cursor", "after", "next", "end_time")
NEXT_URL_KEYS = ("next_url", "nextRecordsUrl", "next_page_url", "next_page", "next", "nextLink", "href")
TOTAL_KEYS = ("total", "total_count", "totalCount", "count", "totalResults", "filtered_table_rows_count")
HAS_MORE_KEYS = ("has_more", "hasMore", "more")
DONE_KEYS = ("done", "end_of_stream", "last", "is_last")
SIZE_PARAMS = ("limit", "page_size", "per_page", "pageSize", "_size", "size", "maxResults", "_limit", "count", "top")
OFFSET_PARAMS = (("offset", "limit"), ("startAt", "maxResults"), ("skip", "take"), ("_start", "_limit"))
CURSOR_PARAM_FOR = {"next_cursor": "cursor", "nextCursor": "cursor", "next_page_token": "page_token",
                    "nextPageToken": "pageToken", "next": "cursor", "end_time": "start_time"}  # fmt: skip
PROBE_SIZE = 2
MAX_FILTER_PROBES = 8
SAMPLE_PAGES = 3


@dataclass
class Request:
    """What the command line gave: where, with which headers and parameters."""

    base_url: str
    path: str
    headers: dict[str, str]
    params: list[tuple[str, str]]
    session: requests.Session = field(default_factory=requests.Session)

    def get(self, params: list[tuple[str, str]] | None = None, url: str | None = None) -> tuple[Any, Any]:
        target = url or self.base_url + self.path
        try:
            response = self.session.get(
                target, params=None if url else (params if params is not None else self.params),
                headers=self.headers, timeout=30,
            )  # fmt: skip
        except requests.RequestException as exc:
            raise CliError(f"cannot reach {target}: {type(exc).__name__}") from None
        if response.status_code >= 400:
            raise CliError(f"{target} answered HTTP {response.status_code}: {response.text[:200]}")
        try:
            return response.json(), response
        except ValueError:
            raise CliError(f"{target} did not answer JSON") from None


def split_url(url: str, base_url: str | None, params: list[tuple[str, str]]) -> tuple[str, str, list[tuple[str, str]]]:
    """(base URL with its path, the entity's path, query parameters): the base ends before the last segment."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + params
    root = f"{parts.scheme}://{parts.netloc}"
    if base_url:
        base = base_url.rstrip("/")
        if not url.startswith(base + "/"):
            raise UsageError(f"--base-url {base_url} is not a prefix of {url}")
        return base, "/" + url[len(base) + 1 :].split("?", 1)[0], query
    path = parts.path.rstrip("/") or "/"
    head, _, last = path.rpartition("/")
    return root + head, "/" + last, query


def entity_name(path: str) -> str:
    from saas_cli.spec_tools import snake

    last = path.rstrip("/").rsplit("/", 1)[-1] or "records"
    return snake(last.split(".", 1)[0] or "records")


@dataclass
class Auth:
    yaml: str = "{type: none}"
    secrets: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # the non-secret headers
    params: list[tuple[str, str]] = field(default_factory=list)  # the non-secret parameters


def classify_auth(headers: dict[str, str], params: list[tuple[str, str]]) -> Auth:
    """Which given header or parameter is the credential; it becomes ``auth`` with a placeholder."""
    out = Auth()
    for name, value in headers.items():
        if name.lower() == "authorization" and out.yaml == "{type: none}":
            scheme, _, credential = value.partition(" ")
            if scheme.lower() == "bearer":
                out.yaml, out.secrets["token"] = '{type: bearer, token: "{secret.token}"}', credential
                continue
            if scheme.lower() == "basic":
                import base64

                user, _, password = base64.b64decode(credential).decode("utf-8", "replace").partition(":")
                out.yaml = '{type: basic, username: "{secret.username}", password: "{secret.password}"}'
                out.secrets.update(username=user, password=password)
                continue
        if SECRET_HEADER.search(name) and out.yaml == "{type: none}":
            out.yaml = f'{{type: api_key, in: header, name: {name}, value: "{{secret.api_key}}"}}'
            out.secrets["api_key"] = value
            continue
        out.headers[name] = value
    for name, value in params:
        if SECRET_PARAM.match(name) and out.yaml == "{type: none}":
            out.yaml = f'{{type: api_key, in: query, name: {name}, value: "{{secret.api_key}}"}}'
            out.secrets["api_key"] = value
            continue
        out.params.append((name, value))
    return out


def choose_records(body: Any) -> tuple[list[dict[str, Any]], str, list[tuple[str, int]]]:
    """The largest list of objects (records path, and the other candidates with their lengths)."""
    if isinstance(body, list):
        return [r for r in body if isinstance(r, dict)], "", []
    candidates = list_paths(body)
    if not candidates:
        raise CliError("cannot find a list of objects in the response; pass --records PATH")
    path = candidates[0][0]
    records = compile_path(path)(body)
    return records, path, candidates[1:]


def records_at(body: Any, path: str) -> list[dict[str, Any]]:
    """The list at the chosen records path (probes are read where the first page's records were)."""
    found = compile_path(path)(body) if path else body
    if not isinstance(found, list):
        raise CliError(f"no list at '{path}' in a probe's answer")
    return [r for r in found if isinstance(r, dict)]


def _find_key(body: Any, keys: tuple[str, ...], want: Any, depth: int = 3) -> str | None:
    """The first dotted path (shallowest first) whose last key is in ``keys`` and whose value passes ``want``."""
    level: list[tuple[str, Any]] = [("", body)]
    for _ in range(depth):
        nxt: list[tuple[str, Any]] = []
        for prefix, value in level:
            if not isinstance(value, dict):
                continue
            for key in keys:
                if key in value and want(value[key]):
                    return f"{prefix}.{key}" if prefix else key
            nxt += [(f"{prefix}.{k}" if prefix else k, v) for k, v in value.items() if isinstance(v, dict)]
        level = nxt
    return None


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and (value.startswith(("http://", "https://")) or value.startswith("/"))


def _is_token(value: Any) -> bool:
    return (isinstance(value, str) and bool(value) and not _is_url(value)) or (
        isinstance(value, int) and not isinstance(value, bool)
    )


@dataclass
class Pagination:
    yaml: str
    note: str
    size_param: str | None = None


def detect_pagination(request: Request, body: Any, response: Any, count: int, records_path: str) -> Pagination:
    """Propose a paginator from what the first answer shows (one or two probe requests to confirm a guess)."""
    size = _size_param(request, count, records_path)
    if size and not _continues(body, response):  # one page held everything: look at a small page instead
        body, response = request.get([*[(k, v) for k, v in request.params if k != size], (size, str(PROBE_SIZE))])
        count = PROBE_SIZE
    size_yaml = f", size_param: {size}" if size else ""
    link = response.links.get("next")
    total_header = next((h for h in ("X-Total-Count", "X-Total") if h in response.headers), None)
    url_path = _find_key(body, NEXT_URL_KEYS, _is_url)
    cursor_path = _find_key(body, CURSOR_KEYS, _is_token)
    if cursor_path:
        value = str(compile_path(cursor_path)(body))
        next_url = compile_path(url_path)(body) if url_path else (link or {}).get("url")
        param = None
        if next_url:
            param = next((k for k, v in parse_qsl(urlsplit(next_url).query) if v == value), None)
        param = param or CURSOR_PARAM_FOR.get(cursor_path.rsplit(".", 1)[-1], "cursor")
        flags = _flags(body)
        return Pagination(
            f"{{type: cursor, cursor_path: {cursor_path}, cursor_param: {param}{size_yaml}{flags}}}",
            f"a next cursor at '{cursor_path}', sent back as '{param}'",
            size,
        )
    if url_path:
        return Pagination(
            f"{{type: next_url, next_url_path: {url_path}{size_yaml}{_flags(body)}}}",
            f"a next-page URL at '{url_path}'",
            size,
        )
    if link:
        total = f", total_header: {total_header}" if total_header else ""
        return Pagination(f"{{type: link_header{size_yaml}{total}}}", 'a Link header with rel="next"', size)
    total_path = _find_key(body, TOTAL_KEYS, lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= count)
    if total_path or total_header:
        given = {k for k, _ in request.params}
        offset, limit = next(((o, lim) for o, lim in OFFSET_PARAMS if o in given or lim in given or lim == size),
                             OFFSET_PARAMS[0])  # fmt: skip
        total = f"total_path: {total_path}" if total_path else f"total_header: {total_header}"
        return Pagination(
            f"{{type: offset, offset_param: {offset}, limit_param: {limit}, {total}}}",
            f"a total at '{total_path or total_header}': offset pagination with {offset}/{limit} (check the names)",
            limit,
        )
    return Pagination("{type: none}", "no next cursor, next URL, Link header or total: one request reads all", None)


def _continues(body: Any, response: Any) -> bool:
    """Whether the answer shows a way to a next page (a cursor, a next URL or a Link header)."""
    return bool(
        response.links.get("next") or _find_key(body, NEXT_URL_KEYS, _is_url) or _find_key(body, CURSOR_KEYS, _is_token)
    )


def _flags(body: Any) -> str:
    has_more = _find_key(body, HAS_MORE_KEYS, lambda v: isinstance(v, bool))
    if has_more:
        return f", has_more_path: {has_more}"
    done = _find_key(body, DONE_KEYS, lambda v: isinstance(v, bool))
    return f", done_path: {done}" if done else ""


def _size_param(request: Request, count: int, records_path: str) -> str | None:
    """The page-size parameter: one given on the command line, else the first common name that the API obeys."""
    for name, _ in request.params:
        if name in SIZE_PARAMS:
            return name
    if count <= PROBE_SIZE:
        return None
    for name in SIZE_PARAMS[:7]:
        try:
            body, _ = request.get([*request.params, (name, str(PROBE_SIZE))])
            records = records_at(body, records_path)
        except CliError:
            continue
        if len(records) == PROBE_SIZE:
            return name
    return None


def probe_filters(
    request: Request, records: list[dict[str, Any]], fields: dict[str, Any], records_path: str
) -> list[tuple[str, str]]:
    """Equality filters ``?field=value`` the API applies: one probe each, kept when every record returned has
    the value and some sampled records do not (the probe returned a subset)."""
    found: list[tuple[str, str]] = []
    probes = 0
    for key, kind in fields.items():
        if probes >= MAX_FILTER_PROBES:
            break
        if kind not in ("string", "int64", "boolean") or key in {k for k, _ in request.params}:
            continue
        values = [r.get(key) for r in records]
        counts: dict[Any, int] = {}
        for v in values:
            if v is not None and not isinstance(v, dict | list):
                counts[v] = counts.get(v, 0) + 1
        shared = [v for v, n in counts.items() if 1 < n < len(values)] or [
            v for v, n in counts.items() if n < len(values)
        ]
        if not shared or len(counts) == len(values):
            continue  # unique values (an id, a name) or one value everywhere: nothing to verify a filter with
        value = shared[0]
        text = str(value).lower() if isinstance(value, bool) else str(value)
        probes += 1
        try:
            body, _ = request.get([*request.params, (key, text)])
            got = records_at(body, records_path)
        except CliError:
            continue
        if got and all(r.get(key) == value for r in got):
            found.append((key, key))
    return found


def say_err(text: str) -> None:
    say(text, stream=sys.stderr)


# -- the whole flow ------------------------------------------------------------------------------------------
def infer_from_url(
    url: str,
    *,
    headers: dict[str, str],
    params: list[tuple[str, str]],
    base_url: str | None,
    entity: str | None,
    records_path: str | None,
) -> str:
    """The YAML of a whole starter spec for ``url``, verified by reading two pages through the client."""
    from saas_cli.spec_tools import infer_fields, snake
    from shared.client import SaaSClient
    from shared.errors import SaaSConnectorError
    from shared.spec import load_spec_text

    base, path, query = split_url(url, base_url, params)
    auth = classify_auth(headers, query)
    request = Request(base, path, headers, query)
    body, response = request.get()
    if records_path is not None:
        records = compile_path(records_path)(body) if records_path else body
        if not isinstance(records, list):
            raise CliError(f"no list of records at '{records_path}' in the response")
        others: list[tuple[str, int]] = []
    else:
        records, records_path, others = choose_records(body)
    if not records:
        raise CliError("the first page has no records to infer from")
    seen = "; other lists of objects: " + ", ".join(f"'{p}' ({n})" for p, n in others) if others else ""
    say_err(f"records: '{records_path}' ({len(records)} objects, the largest list){seen}")
    pagination = detect_pagination(request, body, response, len(records), records_path)
    say_err(f"pagination: {pagination.note}")
    name = snake(entity) if entity else entity_name(path)
    used = {pagination.size_param}
    entity_params = [(k, v) for k, v in auth.params if k not in used]

    def text(fields: dict[str, Any], nonnull: set[str], filters: list[tuple[str, str]]) -> str:
        return spec_yaml(name, base, path, records_path or "", auth, pagination, entity_params, fields, nonnull,
                         filters)  # fmt: skip

    draft = load_spec_text(text(infer_fields(records), set(), []), source="<inferred draft>")
    sample: list[dict[str, Any]] = []
    try:
        client = SaaSClient(draft, auth.secrets)
        for number, page in enumerate(client.iter_pages(client.plan(name)), start=1):
            sample += page.records
            if number >= SAMPLE_PAGES:
                break
    except SaaSConnectorError as exc:
        raise CliError(f"reading with the proposed pagination failed: {exc}") from None
    fields = infer_fields(sample)
    nonnull = {k for k in fields if all(r.get(k) is not None for r in sample)}
    filters = probe_filters(request, sample, fields, records_path)
    if filters:
        say_err(f"filters verified with one probe each: {', '.join(k for k, _ in filters)}")
    out = text(fields, nonnull, filters)
    spec = load_spec_text(out, source="<inferred>")
    try:
        client = SaaSClient(spec, auth.secrets)
        pages = []
        for page in client.iter_pages(client.plan(name)):
            pages.append(len(page.records))
            if len(pages) == 2:
                break
    except SaaSConnectorError as exc:
        raise CliError(f"the inferred spec does not read: {exc}") from None
    say_err(
        f"checked: read {sum(pages)} records in {len(pages)} page(s) through the client with this spec "
        f"(types from {len(sample)} records in up to {SAMPLE_PAGES} pages)"
    )
    if auth.secrets:
        names = ", ".join(sorted(auth.secrets))
        say_err(f"credentials are not written: give them as SAAS_CREDENTIALS (a JSON object with {names})"
                + (" or SAAS_API_KEY" if "api_key" in auth.secrets else ""))  # fmt: skip
    return out


def _quote(value: str) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


def spec_yaml(
    name: str,
    base: str,
    path: str,
    records_path: str,
    auth: Auth,
    pagination: Pagination,
    params: list[tuple[str, str]],
    fields: dict[str, Any],
    nonnull: set[str],
    filters: list[tuple[str, str]],
) -> str:
    from saas_cli.spec_tools import NAME_OK, _field_yaml, snake

    lines = ["version: 1", "api:", f"  name: {name}_api", f"  base_url: {base}", f"  auth: {auth.yaml}"]
    if auth.headers:
        lines.append("  headers: {" + ", ".join(f"{k}: {_quote(v)}" for k, v in auth.headers.items()) + "}")
    lines += [f"  pagination: {pagination.yaml}", "entities:", f"  - name: {name}", f"    path: {path}",
              f"    records: {_quote(records_path)}"]  # fmt: skip
    if "id" in fields:
        lines.append("    primary_key: [id]")
    if params:
        lines.append("    params: {" + ", ".join(f"{k}: {_quote(v)}" for k, v in params) + "}")
    lines.append("    fields:")
    for key, t in fields.items():
        if isinstance(t, str) and key in nonnull:
            column = key if NAME_OK.match(key) else snake(key)
            where = "" if column == key else f", path: {key}"
            lines.append(f"      {column}: {{type: {_quote(t) if ',' in t else t}, nullable: false{where}}}")
        else:
            lines += _field_yaml(key, t, 6)
    if filters:
        lines.append("    filters:")
        for key, param in filters:
            column = key if NAME_OK.match(key) else snake(key)
            lines.append(f"      {column}: {{eq: {_quote(param)}}}")
    return "\n".join(lines) + "\n"
