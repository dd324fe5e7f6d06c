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

from shared.paths import compile_path
from shared.spec.model import PaginationSpec
from shared.transport import Call

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
    """A cursor from a body path sent back as a parameter; state ``{"c": cursor}``."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.cursor = compile_path(options["cursor_path"])
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
        cursor = self.cursor(body)
        if cursor is None or cursor == "" or cursor is False:
            return None
        return {"c": str(cursor)}


class HeaderCursorPaginator(CursorPaginator):
    """A cursor in a response header (e.g. ``X-Next-Cursor``)."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.header = options["header"]
        self.cursor_param = options["cursor_param"]
        self.size_param = options.get("size_param")

    def advance(
        self, state: State | None, response: requests.Response, body: Any, records: list[Any], page_size: int
    ) -> State | None:
        cursor = response.headers.get(self.header)
        return {"c": cursor} if cursor else None


class _UrlPaginator:
    """Next page is a URL (absolute or relative to the current response); state ``{"u": url}``.

    The transport refuses a URL on another origin, so a lying API cannot redirect our credentials.
    """

    def __init__(self, size_param: str | None, find: Callable[[requests.Response, Any], str | None]) -> None:
        self.size_param = size_param
        self.find = find

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
            return None
        return {"u": urljoin(response.url, url)}


def NextUrlPaginator(options: dict[str, Any]) -> _UrlPaginator:
    """A full next-page URL at a body path (``links.next``)."""
    path = compile_path(options["next_url_path"])

    def find(response: requests.Response, body: Any) -> str | None:
        value = path(body)
        return value if isinstance(value, str) and value else None

    return _UrlPaginator(options.get("size_param"), find)


def LinkHeaderPaginator(options: dict[str, Any]) -> _UrlPaginator:
    """RFC 8288 ``Link: <...>; rel="next"`` (parsed by requests)."""
    rel = options.get("rel", "next")

    def find(response: requests.Response, body: Any) -> str | None:
        link = response.links.get(rel)
        return link.get("url") if link else None

    return _UrlPaginator(options.get("size_param"), find)


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
