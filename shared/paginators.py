"""Paginators: each turns "where we are" into a small JSON-able state, so a fresh Lambda resumes exactly.

Every paginator has the same three verbs (after dlt's): ``first`` prepares the first request,
``resume`` prepares a request from a saved state, ``advance`` reads a response and returns the next
state or None at the end. The state always round-trips through ``shared.tokens``.

Paginators whose later requests are known before the earlier answers arrive (offset, page number) also
have ``ahead`` (:class:`Predictable`): the state some pages further on, so a read can send those requests
at once. It is only a guess; the read uses a response fetched ahead only when its request is exactly the
one ``advance`` leads to (see ``shared.concurrent_pages``).

Example (cursor in the body)::

    pagination: {type: cursor, cursor_path: meta.next_cursor, cursor_param: cursor, size_param: page_size}
    # GET /contacts?page_size=500 -> {"results": [...], "meta": {"next_cursor": "abc"}}
    # state {"c": "abc"} -> GET /contacts?page_size=500&cursor=abc
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urljoin

import requests

from shared.errors import PaginationError
from shared.paths import compile_path
from shared.spec.model import PaginationSpec
from shared.transport import Call
from shared.truncation import describe_path, must_check, refuse_truncation

State = dict[str, Any]


class Paginator(Protocol):
    def first(self, call: Call, page_size: int) -> None: ...

    def resume(self, state: State, call: Call, page_size: int) -> None: ...

    def advance(
        self, state: State | None, response: requests.Response, body: Any, records: list[Any], page_size: int
    ) -> State | None: ...


@runtime_checkable
class Predictable(Protocol):
    def ahead(
        self, state: State | None, previous: State | None, pages: int, page_size: int, total: int | None
    ) -> State | None:
        """The state ``pages`` pages after ``state``, if each page holds as many records as the one read before it
        (from ``previous`` to ``state``; None stands for the first page's state, as in ``advance``) or else
        ``page_size``; None when that page would start at or past ``total`` records."""
        ...


def _set_param(call: Call, name: str | None, value: Any) -> None:
    if name is None:
        return
    call.params = [(k, v) for k, v in call.params if k != name]
    call.params.append((name, str(value)))


class NoPaginator:
    """One request returns everything."""

    def first(self, call: Call, page_size: int) -> None:
        return None

    def resume(self, state: State, call: Call, page_size: int) -> None:
        return None

    def advance(
        self, state: State | None, response: requests.Response, body: Any, records: list[Any], page_size: int
    ) -> State | None:
        return None


class _StopRules:
    """Shared end-of-data rules for offset and page-number styles.

    Without a total or has-more flag, a short page is not trusted as the end (APIs silently cap page
    sizes), so the read ends on an empty page unless the spec says short pages are final.
    """

    def __init__(self, options: dict[str, Any]) -> None:
        self.total = compile_path(options["total_path"]) if options.get("total_path") else None
        self.has_more = compile_path(options["has_more_path"]) if options.get("has_more_path") else None
        self.short_is_end = bool(options.get("stop_on_short_page", False))

    def ended(self, body: Any, count: int, page_size: int, position_after: int) -> bool:
        if count == 0:
            return True
        if self.has_more is not None:
            flag = self.has_more(body)
            if isinstance(flag, bool):
                return not flag
        if self.total is not None:
            total = self.total(body)
            if isinstance(total, int) and not isinstance(total, bool):
                return position_after >= total
        return self.short_is_end and count < page_size


class OffsetPaginator:
    """``?offset=N&limit=M``; state ``{"o": next_offset}``."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.offset_param = options.get("offset_param", "offset")
        self.limit_param = options.get("limit_param", "limit")
        self.stop = _StopRules(options)

    def first(self, call: Call, page_size: int) -> None:
        self.resume({"o": 0}, call, page_size)

    def resume(self, state: State, call: Call, page_size: int) -> None:
        _set_param(call, self.offset_param, int(state["o"]))
        _set_param(call, self.limit_param, page_size)

    def advance(
        self, state: State | None, response: requests.Response, body: Any, records: list[Any], page_size: int
    ) -> State | None:
        after = int((state or {"o": 0})["o"]) + len(records)
        return None if self.stop.ended(body, len(records), page_size, after) else {"o": after}

    def ahead(
        self, state: State | None, previous: State | None, pages: int, page_size: int, total: int | None
    ) -> State | None:
        at = int((state or {"o": 0})["o"])
        served = at - int((previous or {"o": 0})["o"])
        step = served if 0 < served < page_size else page_size  # a silent cap on the page size: expect it again
        target = at + pages * step
        if total is not None and target >= total:
            return None
        return {"o": target}


class PageNumberPaginator:
    """``?page=N&per_page=M``; state ``{"p": next_page}``."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.page_param = options.get("page_param", "page")
        self.size_param = options.get("size_param", "per_page")
        self.start = int(options.get("start", 1))
        self.total_pages = compile_path(options["total_pages_path"]) if options.get("total_pages_path") else None
        self.stop = _StopRules(options)

    def first(self, call: Call, page_size: int) -> None:
        self.resume({"p": self.start}, call, page_size)

    def resume(self, state: State, call: Call, page_size: int) -> None:
        _set_param(call, self.page_param, int(state["p"]))
        _set_param(call, self.size_param, page_size)

    def advance(
        self, state: State | None, response: requests.Response, body: Any, records: list[Any], page_size: int
    ) -> State | None:
        page = int((state or {"p": self.start})["p"])
        if self.total_pages is not None:
            total = self.total_pages(body)
            if isinstance(total, int) and page - self.start + 1 >= total:
                return None
        seen = (page - self.start) * page_size + len(records)
        return None if self.stop.ended(body, len(records), page_size, seen) else {"p": page + 1}

    def ahead(
        self, state: State | None, previous: State | None, pages: int, page_size: int, total: int | None
    ) -> State | None:
        target = int((state or {"p": self.start})["p"]) + pages
        if total is not None and (target - self.start) * page_size >= total:
            return None
        return {"p": target}


class CursorPaginator:
    """A cursor sent back as a parameter; state ``{"c": cursor}``.

    The cursor is a body path (``cursor_path``) or a path inside the page's last record (``cursor_from_record``,
    Stripe's ``starting_after``). ``has_more_path`` / ``done_path`` name a flag that ends the read when false / true.
    """

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        self.cursor_path = options.get("cursor_path")
        self.cursor = compile_path(self.cursor_path) if self.cursor_path else None
        self.from_record = compile_path(options["cursor_from_record"]) if options.get("cursor_from_record") else None
        self.has_more = compile_path(options["has_more_path"]) if options.get("has_more_path") else None
        self.done = compile_path(options["done_path"]) if options.get("done_path") else None
        self.cursor_param = options["cursor_param"]
        self.size_param = options.get("size_param")

    def first(self, call: Call, page_size: int) -> None:
        _set_param(call, self.size_param, page_size)

    def resume(self, state: State, call: Call, page_size: int) -> None:
        _set_param(call, self.size_param, page_size)
        _set_param(call, self.cursor_param, state["c"])

    def advance(
        self, state: State | None, response: requests.Response, body: Any, records: list[Any], page_size: int
    ) -> State | None:
        more = _flag(self.has_more, self.done, body)
        if more is False:
            return None
        if self.from_record is not None:
            cursor = self.from_record(records[-1]) if records else None
        else:
            assert self.cursor is not None
            cursor = self.cursor(body)
        if cursor is not None and cursor != "" and cursor is not False:
            return {"c": str(cursor)}
        if more is True and records:
            where = self.options.get("has_more_path") or self.options.get("done_path")
            raise PaginationError(
                f"the API says more records follow ('{where}') but gives no cursor at "
                f"'{self.cursor_path or self.options.get('cursor_from_record')}'"
            )
        if must_check(state, records, page_size, self.options):
            if self.cursor_path:
                present, detail = describe_path(body, self.cursor_path)
                if present and more is None:
                    return None  # an explicit null or empty cursor: the API says this is the end
                refuse_truncation(f"no cursor at '{self.cursor_path}'", detail, len(records), page_size)
            if self.options.get("has_more_path") or self.options.get("done_path"):
                flag = str(self.options.get("has_more_path") or self.options.get("done_path"))
                refuse_truncation(
                    f"no true/false flag at '{flag}'", describe_path(body, flag)[1], len(records), page_size
                )
        return None


def _flag(has_more: Callable[[Any], Any] | None, done: Callable[[Any], Any] | None, body: Any) -> bool | None:
    """True: the API says more pages follow; False: it says this is the last; None: it says nothing."""
    if has_more is not None and isinstance(has_more(body), bool):
        return bool(has_more(body))
    if done is not None and isinstance(done(body), bool):
        return not done(body)
    return None


class HeaderCursorPaginator(CursorPaginator):
    """A cursor in a response header (e.g. ``X-Next-Cursor``)."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        self.header = options["header"]
        self.cursor_param = options["cursor_param"]
        self.size_param = options.get("size_param")

    def advance(
        self, state: State | None, response: requests.Response, body: Any, records: list[Any], page_size: int
    ) -> State | None:
        cursor = response.headers.get(self.header)
        if cursor:
            return {"c": cursor}
        if cursor is None and must_check(state, records, page_size, self.options):
            names = ", ".join(sorted(response.headers)) or "none"
            refuse_truncation(f"no '{self.header}' header", f"the response's headers: {names}", len(records), page_size)
        return None


class _UrlPaginator:
    """Next page is a URL (absolute or relative to the current response); state ``{"u": url}``.

    The transport refuses a URL on another origin, so a lying API cannot redirect our credentials. ``explain``
    says why a full first page has no next URL (None: the API said it is the end) for the truncation check.
    """

    def __init__(
        self,
        options: dict[str, Any],
        find: Callable[[requests.Response, Any], str | None],
        explain: Callable[[requests.Response, Any, int], tuple[str, str] | None],
    ) -> None:
        self.options = options
        self.size_param = options.get("size_param")
        self.find = find
        self.explain = explain

    def first(self, call: Call, page_size: int) -> None:
        _set_param(call, self.size_param, page_size)

    def resume(self, state: State, call: Call, page_size: int) -> None:
        call.url = state["u"]
        call.params = []

    def advance(
        self, state: State | None, response: requests.Response, body: Any, records: list[Any], page_size: int
    ) -> State | None:
        url = self.find(response, body)
        if not url:
            if must_check(state, records, page_size, self.options):
                why = self.explain(response, body, len(records))
                if why is not None:
                    refuse_truncation(why[0], why[1], len(records), page_size)
            return None
        return {"u": urljoin(response.url, url)}


def NextUrlPaginator(options: dict[str, Any]) -> _UrlPaginator:
    """A full next-page URL at a body path (``links.next``, Salesforce's ``nextRecordsUrl``)."""
    where = options["next_url_path"]
    path = compile_path(where)
    has_more = compile_path(options["has_more_path"]) if options.get("has_more_path") else None
    done = compile_path(options["done_path"]) if options.get("done_path") else None

    def find(response: requests.Response, body: Any) -> str | None:
        if _flag(has_more, done, body) is False:
            return None
        value = path(body)
        return value if isinstance(value, str) and value else None

    def explain(response: requests.Response, body: Any, count: int) -> tuple[str, str] | None:
        more = _flag(has_more, done, body)
        present, detail = describe_path(body, where)
        if more is False or (present and more is None):
            return None  # the API said so: a flag, or an explicit null or empty link
        return f"no next-page URL at '{where}'", detail

    return _UrlPaginator(options, find, explain)


def LinkHeaderPaginator(options: dict[str, Any]) -> _UrlPaginator:
    """RFC 8288 ``Link: <...>; rel="next"`` (parsed by requests)."""
    rel = options.get("rel", "next")
    total_path = compile_path(options["total_path"]) if options.get("total_path") else None
    total_header = options.get("total_header")

    def find(response: requests.Response, body: Any) -> str | None:
        link = response.links.get(rel)
        return link.get("url") if link else None

    def explain(response: requests.Response, body: Any, count: int) -> tuple[str, str] | None:
        total = total_path(body) if total_path is not None else response.headers.get(str(total_header or ""))
        if isinstance(total, str) and total.strip().isdigit():
            total = int(total)
        if isinstance(total, int) and not isinstance(total, bool) and total <= count:
            return None  # the reported total says this page holds everything
        header = response.headers.get("Link")
        return f'no Link header with rel="{rel}"', f"Link: {header}" if header else "the response has no Link header"

    return _UrlPaginator(options, find, explain)


_KINDS: dict[str, Callable[[dict[str, Any]], Paginator]] = {
    "none": lambda o: NoPaginator(),
    "offset": OffsetPaginator,
    "page_number": PageNumberPaginator,
    "cursor": CursorPaginator,
    "header_cursor": HeaderCursorPaginator,
    "next_url": NextUrlPaginator,
    "link_header": LinkHeaderPaginator,
}


def build_paginator(spec: PaginationSpec, resolve_hook: Callable[[str], Callable[..., Any]]) -> Paginator:
    if spec.type == "hook":
        return resolve_hook(spec.options["factory"])(spec.options)
    return _KINDS[spec.type](spec.options)
