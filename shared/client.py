"""The SaaS client both connectors share.

The primitive is :meth:`SaaSClient.fetch_page`: one page of an entity for a query plan and an opaque
token, returning records and the next token. Nothing is kept between calls but the token, so a fresh
Lambda resumes exactly where the previous one stopped (AppFlow's nextToken, a re-tried Athena split).
:meth:`SaaSClient.iter_pages` reads page after page, with ``concurrency`` > 1 fetching ahead of the caller
(``shared.concurrent_pages``) while returning exactly the pages and tokens of the one-at-a-time read.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from shared.auth import Authenticator, build_auth
from shared.clock import SYSTEM_CLOCK, Clock
from shared.concurrent_pages import RequestWindow, read_ahead
from shared.counts import parse_count
from shared.credentials import CredentialsProvider, StaticCredentials, credentials_from_environment
from shared.deadline import Deadline
from shared.errors import (
    ConfigError,
    DeadlineExceededError,
    PaginationError,
    SaaSClientError,
    SaaSResponseError,
    UnknownEntityError,
)
from shared.paginators import Paginator, Predictable, State, build_paginator
from shared.paths import compile_path
from shared.predicates import Predicate
from shared.pushdown import QueryPlan, plan_query
from shared.records import Extractor, select_records
from shared.spec.loader import load_spec, resolve_hook
from shared.spec.model import EntitySpec, SourceSpec
from shared.templating import render
from shared.tokens import decode_token, encode_token, fingerprint, key_hash, state_hash
from shared.transport import Call, Transport, TransportStats, make_session

log = logging.getLogger(__name__)

LOOP_HISTORY = 8
MAX_EMPTY_HOPS = 50
OVERLAP_GUARD = 64  # primary-key hashes of the last records read, carried in the token
POSITIONAL_PAGINATION = frozenset({"offset", "page_number", "link_header"})


@dataclass
class Page:
    """One page of records and how to continue after all (or some) of them."""

    records: list[dict[str, Any]]
    next_token: str | None
    stats: TransportStats
    number: int
    _after: Callable[[int], str | None] = field(repr=False, default=lambda k: None)

    def token_after(self, count: int) -> str | None:
        """A token that resumes after the first ``count`` records of this page (mid-page resume)."""
        if count >= len(self.records):
            return self.next_token
        return self._after(count)


class SaaSClient:
    def __init__(
        self,
        spec: SourceSpec,
        credentials: CredentialsProvider | Mapping[str, str] | None = None,
        *,
        settings: Mapping[str, Any] | None = None,
        clock: Clock = SYSTEM_CLOCK,
        session: requests.Session | None = None,
        base_url: str | None = None,
    ) -> None:
        self.spec = spec
        if credentials is None:
            credentials = credentials_from_environment()
        elif isinstance(credentials, Mapping):
            credentials = StaticCredentials(credentials)
        self.credentials = credentials
        self.settings = self._settings(settings or {})
        self.clock = clock
        self.session = session or make_session()
        base = base_url or spec.api.base_url
        self.base_url = render(base, {"config": self.settings}, where="api.base_url")
        self._auth: Authenticator | None = None
        self._transport: Transport | None = None

    @classmethod
    def from_environment(cls, **kwargs: Any) -> SaaSClient:
        """``SAAS_SPEC`` / ``SAAS_BASE_URL`` / credentials from ``SAAS_SECRET_ARN`` or the environment."""
        return cls(load_spec(), **kwargs)

    def _settings(self, given: Mapping[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, decl in self.spec.api.settings.items():
            if name in given:
                values[name] = given[name]
            elif "default" in decl:
                values[name] = decl["default"]
        unknown = sorted(set(given) - set(self.spec.api.settings))
        if unknown:
            raise ConfigError(
                f"unknown setting(s) {', '.join(unknown)}; the spec declares: "
                f"{', '.join(self.spec.api.settings) or 'none'}"
            )
        return values

    @property
    def transport(self) -> Transport:
        if self._transport is None:
            timeout = (self.spec.api.connect_timeout_s, self.spec.api.read_timeout_s)
            credentials = self.credentials.get()
            self._auth = build_auth(
                self.spec.api.auth,
                credentials,
                self.settings,
                session=self.session,
                clock=self.clock,
                timeout=timeout,
                resolve_hook=self.hook,
            )
            self._transport = Transport(
                self.spec.api,
                self._auth,
                clock=self.clock,
                session=self.session,
                base_url=self.base_url,
                credentials=credentials,  # the shared quota is per credential (only a slow hash leaves memory)
            )
        return self._transport

    def hook(self, ref: str) -> Callable[..., Any]:
        return resolve_hook(ref, self.spec.api.hook_modules)

    def entity(self, name: str) -> EntitySpec:
        try:
            return self.spec.entity(name)
        except KeyError:
            raise UnknownEntityError(
                f"no entity '{name}' in spec '{self.spec.api.name}' (entities: {', '.join(self.spec.entity_names)})"
            ) from None

    @functools.cache  # noqa: B019 - one client per spec; paginators are stateless
    def paginator(self, entity_name: str) -> Paginator:
        return build_paginator(self.spec.pagination_for(self.entity(entity_name)), self.hook)

    def plan(
        self,
        entity: str,
        predicates: list[Predicate] | tuple[Predicate, ...] = (),
        fields: list[str] | tuple[str, ...] | None = None,
    ) -> QueryPlan:
        return plan_query(self.entity(entity), predicates, fields)

    def page_size(self, entity: EntitySpec, requested: int | None) -> int:
        pagination = self.spec.pagination_for(entity)
        size = requested or pagination.page_size
        if pagination.max_page_size:
            size = min(size, pagination.max_page_size)
        return max(1, size)

    # -- the primitive ---------------------------------------------------------------------------
    def fetch_page(
        self,
        plan: QueryPlan,
        token: str | None = None,
        page_size: int | None = None,
        deadline: Deadline | None = None,
    ) -> Page:
        """One page of ``plan``'s entity from ``token`` (None = the start). Records are the API's
        objects (after the transform hook); pushed predicates are applied by the API, the residual is not.
        """
        entity = self.entity(plan.entity)
        deadline = deadline or Deadline.none()
        payload = self._payload(entity, plan, token, page_size)
        if entity.parent is not None:
            return self._fetch_child(entity, plan, payload, deadline)
        if entity.reader:
            return self._fetch_custom(entity, plan, payload, deadline)
        return self._fetch_plain(entity, plan, payload, deadline, entity.path, {})

    def _payload(self, entity: EntitySpec, plan: QueryPlan, token: str | None, page_size: int | None) -> dict[str, Any]:
        """The token's content, or the start of the read without one."""
        fp = fingerprint(plan.entity, plan.params, plan.parent_keys)
        if token:
            return decode_token(token, fp)
        payload = {"f": fp, "s": None, "n": self.page_size(entity, page_size), "k": 0, "h": [], "i": 0}
        if entity.parent is not None:
            payload["ps"] = {"t": None, "q": list(plan.parent_keys or []), "c": None, "x": plan.parent_keys is not None}
        return payload

    def _page_call(
        self, entity: EntitySpec, plan: QueryPlan, path: str, state: State | None, size: int, number: int
    ) -> Call:
        """The request for the page at ``state`` (None: the first)."""
        paginator = self.paginator(entity.name)
        call = Call("GET", path, params=list(plan.params), entity=entity.name, page=number)
        if state is None:
            paginator.first(call, size)
        else:
            paginator.resume(state, call, size)
        if "prepare_request" in entity.hooks:
            self.hook(entity.hooks["prepare_request"])(call, settings=self.settings)
        return call

    def _fetch_plain(
        self,
        entity: EntitySpec,
        plan: QueryPlan,
        payload: dict[str, Any],
        deadline: Deadline,
        path: str,
        inject: dict[str, Any],
        *,
        missing_is_empty: bool = False,
        window: RequestWindow | None = None,
    ) -> Page:
        paginator = self.paginator(entity.name)
        stats = TransportStats()
        state: State | None = payload["s"]
        size = int(payload["n"])
        number = int(payload["i"]) + 1
        call = self._page_call(entity, plan, path, state, size, number)
        try:
            early = window.take(call, stats) if window is not None else None
            body, response = early if early is not None else self.transport.json(call, deadline, stats)
        except SaaSClientError as exc:
            if missing_is_empty and exc.status == 404:
                return Page([], None, stats, number)
            raise
        if "parse_page" in entity.hooks:
            records = self.hook(entity.hooks["parse_page"])(body, response)
            if not isinstance(records, list):
                raise SaaSResponseError(
                    "the parse_page hook must return a list of records", entity=entity.name, page=number
                )
        else:
            records = select_records(body, entity.records, entity=entity.name, page=number)
        total = self._result_total(entity, response, body)
        if (
            early is not None
            and window is not None
            and (not isinstance(payload.get("t"), int) or total != payload["t"])
        ):
            # Sent together with the page before it, this page may have been answered first: with the result set
            # changed in between (or no total to tell), its records may not be where the previous page's count says.
            # Ask again now, after the previous page's answer, as the one-at-a-time read does; what was sent ahead
            # is stale too.
            window.clear()
            again = self._fetch_plain(entity, plan, payload, deadline, path, inject, missing_is_empty=missing_is_empty)
            again.stats.add(stats)
            return again
        rewound = self._check_total(entity, payload, state, total, number)
        if rewound is not None:  # the result set shrank under an offset read: read again from earlier
            # The offsets this read visits are no longer increasing, so the loop history and the previous
            # page's print no longer tell a loop (the overlap guard and the rewind budget bound this instead).
            again = {**payload, "s": rewound, "t": total, "h": [], "lp": None}
            return self._fetch_plain(
                entity, plan, again, deadline, path, inject, missing_is_empty=missing_is_empty, window=window
            )
        try:
            next_state = paginator.advance(state, response, body, records, size)
        except PaginationError as exc:
            if exc.entity is not None:
                raise
            raise PaginationError(str(exc), entity=entity.name, page=number) from None
        history: list[str] = list(payload["h"])
        page_print = state_hash([len(records), records[0], records[-1]]) if records else None
        if page_print is not None and state is not None and payload.get("lp") == page_print:
            raise PaginationError(
                "the API returned the same page twice in a row (does it ignore the pagination parameters?); "
                "stopping rather than reading it again",
                entity=entity.name,
                page=number,
            )
        if next_state is not None:
            self._guard(entity, next_state, state, history, number)
        if "transform" in entity.hooks:
            transform = self.hook(entity.hooks["transform"])
            records = [r for r in (transform(rec) for rec in records) if r is not None]
        if inject:
            records = [{**inject, **r} if any(k not in r for k in inject) else r for r in records]
        guard: list[str] = list(payload.get("g") or [])
        keyed = self._key_getter(entity.name) is not None
        if keyed and guard:
            records = self._drop_overlap(entity, records, guard)
        skip = int(payload["k"])
        out = records[skip:]
        new_history = ([*history, state_hash(next_state)][-LOOP_HISTORY:]) if next_state is not None else history
        base = {k: v for k, v in payload.items() if k not in ("s", "k", "h", "i", "g", "t", "rw")}
        if total is not None:
            base["t"] = total
        new_guard = [*guard, *self._key_hashes(entity, records[-OVERLAP_GUARD:])][-OVERLAP_GUARD:] if keyed else []
        next_payload = (
            None
            if next_state is None
            else {**base, "s": next_state, "k": 0, "h": new_history, "i": number, "lp": page_print, "g": new_guard}
        )
        before = {k: payload[k] for k in ("g", "t") if k in payload}

        def after(count: int) -> str | None:
            return encode_token({**base, **before, "s": state, "k": skip + count, "h": history, "i": number - 1})

        return Page(out, encode_token(next_payload) if next_payload else None, stats, number, after)

    @functools.cache  # noqa: B019 - one client per spec
    def _key_getter(self, entity_name: str) -> Callable[[dict[str, Any]], list[Any]] | None:
        entity = self.entity(entity_name)
        if not entity.primary_key:
            return None
        getters = [compile_path(entity.field(name).path) for name in entity.primary_key]
        return lambda record: [get(record) for get in getters]

    def _key_hashes(self, entity: EntitySpec, records: list[dict[str, Any]]) -> list[str]:
        """Short hashes of the records' primary keys (the entity declares one)."""
        getter = self._key_getter(entity.name)
        assert getter is not None
        return [key_hash(getter(r)) for r in records]

    def _drop_overlap(
        self, entity: EntitySpec, records: list[dict[str, Any]], guard: list[str]
    ) -> list[dict[str, Any]]:
        """The page without the records the guard says were delivered already.

        Records are re-served across a page boundary when earlier records were inserted or moved ahead of a
        position-based cursor (or an offset read went back after the result set shrank): they lead the page. So
        the page is checked a guard's length at a time from its start, going on past a window only while its
        last record was a repeat; hashing every record of every page cost more than building its Arrow columns.
        A shift of up to ``OVERLAP_GUARD`` records is caught exactly, as is any longer run of repeats that reaches
        into the first window."""
        seen = set(guard)
        window = max(len(guard), 1)
        kept: list[dict[str, Any]] = []
        start = 0
        while start < len(records):
            chunk = records[start : start + window]
            keys = self._key_hashes(entity, chunk)
            kept.extend(r for r, k in zip(chunk, keys, strict=True) if k not in seen)
            start += len(chunk)
            if keys[-1] not in seen:
                break
        if len(kept) == start:
            return records  # nothing repeated
        return [*kept, *records[start:]]

    @functools.cache  # noqa: B019 - one client per spec
    def _total_getter(self, entity_name: str) -> Callable[[requests.Response, Any], int | None] | None:
        """How many records the whole (filtered) read holds, for position-based paging that reports it."""
        pagination = self.spec.pagination_for(self.entity(entity_name))
        if pagination.type not in POSITIONAL_PAGINATION:
            return None
        path = pagination.options.get("total_path")
        header = pagination.options.get("total_header")
        if not path and not header:
            return None
        get = compile_path(path) if path else None

        def total(response: requests.Response, body: Any) -> int | None:
            return parse_count(get(body) if get is not None else response.headers.get(str(header)))

        return total

    def _result_total(self, entity: EntitySpec, response: requests.Response, body: Any) -> int | None:
        getter = self._total_getter(entity.name)
        return None if getter is None else getter(response, body)

    def _check_total(
        self, entity: EntitySpec, payload: dict[str, Any], state: State | None, total: int | None, number: int
    ) -> State | None:
        """Position-based paging only stays exact while the result set keeps its size. When it shrank since the
        last page (records deleted, or changed so they no longer match), records after the change moved onto
        pages already read: an offset read goes back by that many records (the overlap guard drops what it
        reads twice); other styles cannot, and stop with an error rather than skip records silently. A result
        set that grew needs nothing: records re-served across the boundary are dropped by the overlap guard."""
        previous = payload.get("t")
        if total is None or not isinstance(previous, int) or total >= previous or state is None:
            return None
        shrunk = previous - total
        pagination = self.spec.pagination_for(entity)
        offset = state.get("o") if isinstance(state, dict) else None
        if (
            pagination.type == "offset"
            and isinstance(offset, int)
            and int(payload.get("rw", 0)) + shrunk <= OVERLAP_GUARD
            and self._key_getter(entity.name) is not None
        ):
            log.info(
                "entity %s page %s: %s fewer records than the last page reported; reading back",
                entity.name,
                number,
                shrunk,
            )
            payload["rw"] = int(payload.get("rw", 0)) + shrunk  # records gone back, across rewinds of this page
            return {**state, "o": max(0, offset - shrunk)}
        raise PaginationError(
            f"the API reports {total} records where the previous page reported {previous}: records were deleted "
            "or stopped matching during the read, so position-based paging has moved later records onto pages "
            "already read; stopping rather than skipping them silently (run the read again)",
            entity=entity.name,
            page=number,
        )

    def _guard(
        self, entity: EntitySpec, next_state: State, state: State | None, history: list[str], number: int
    ) -> None:
        if next_state == state or state_hash(next_state) in history:
            raise PaginationError(
                "the API returned a next-page token it had already returned (a pagination "
                "loop); stopping rather than reading pages twice",
                entity=entity.name,
                page=number,
            )
        url = next_state.get("u")
        if isinstance(url, str):
            next_state["u"] = url = self.transport.auth.scrub_url(url)
            self.transport.check_origin(url, Call("GET", url, entity=entity.name, page=number), "next-page link")
        pagination = self.spec.pagination_for(entity)
        if pagination.max_pages and number >= pagination.max_pages:
            raise PaginationError(f"more than max_pages={pagination.max_pages} pages", entity=entity.name, page=number)

    def _fetch_custom(self, entity: EntitySpec, plan: QueryPlan, payload: dict[str, Any], deadline: Deadline) -> Page:
        """An entity implemented in Python: ``class`` returns (records, next_state) for a state."""
        reader = self.hook(entity.reader or "")(client=self, entity=entity)
        number = int(payload["i"]) + 1
        records, next_state = reader.fetch_page(
            plan=plan, state=payload["s"], page_size=int(payload["n"]), deadline=deadline
        )
        history = list(payload["h"])
        if next_state is not None:
            self._guard(entity, next_state, payload["s"], history, number)
        skip = int(payload["k"])
        base = {k: v for k, v in payload.items() if k not in ("s", "k", "h", "i")}
        nxt = (
            None
            if next_state is None
            else encode_token(
                {
                    **base,
                    "s": next_state,
                    "k": 0,
                    "h": [*history, state_hash(next_state)][-LOOP_HISTORY:],
                    "i": number,
                }
            )
        )

        def after(count: int) -> str | None:
            return encode_token({**base, "s": payload["s"], "k": skip + count, "h": history, "i": number - 1})

        return Page(list(records)[skip:], nxt, TransportStats(), number, after)

    def _fetch_child(self, entity: EntitySpec, plan: QueryPlan, payload: dict[str, Any], deadline: Deadline) -> Page:
        """A child resource: walk parent keys, then each parent's pages; the token holds both positions."""
        assert entity.parent is not None
        parent = self.entity(entity.parent.entity)
        totals = TransportStats()
        hops = 0
        explicit = plan.parent_keys is not None
        while True:
            ps = payload["ps"]
            if ps["c"] is None:
                if ps["q"]:
                    ps["c"] = ps["q"].pop(0)
                    payload.update(s=None, k=0, h=[])
                elif ps["x"]:
                    return Page([], None, totals, int(payload["i"]))
                else:
                    keys, ps["t"], stats = self._parent_keys(parent, entity, ps["t"], deadline)
                    totals.add(stats)
                    ps["q"] = keys
                    ps["x"] = ps["t"] is None
                    hops += 1
                    continue
            current = ps["c"]
            inject = {child: current.get(parent_field) for child, parent_field in entity.parent.fields.items()}
            path = render(
                entity.path,
                {"parent": current, "config": self.settings},
                url_quote=True,
                where=f"entity '{entity.name}' path",
            )
            page = self._fetch_plain(entity, plan, payload, deadline, path, inject, missing_is_empty=explicit)
            totals.add(page.stats)
            hops += 1
            records = page.records
            if page.next_token is None:
                ps_next = {**ps, "c": None}
                done = not ps_next["q"] and ps_next["x"]
                next_payload = (
                    None if done else {**payload, "ps": ps_next, "s": None, "k": 0, "h": [], "i": page.number}
                )
            else:
                inner = decode_token(page.next_token, payload["f"])
                next_payload = {**inner, "ps": ps}
            snapshot = {**payload, "ps": {**ps, "q": list(ps["q"])}}

            def after(count: int, _page: Page = page, _snap: dict[str, Any] = snapshot) -> str | None:
                inner_token = _page._after(count)
                inner_payload = decode_token(inner_token, _snap["f"]) if inner_token else None
                return encode_token({**(inner_payload or _snap), "ps": _snap["ps"]})

            next_token = encode_token(next_payload) if next_payload else None
            if records or next_token is None or hops >= MAX_EMPTY_HOPS or deadline.remaining() < 2.0:
                return Page(records, next_token, totals, page.number, after)
            payload = decode_token(next_token, payload["f"])

    def _parent_keys(
        self, parent: EntitySpec, child: EntitySpec, token: str | None, deadline: Deadline
    ) -> tuple[list[dict[str, Any]], str | None, TransportStats]:
        assert child.parent is not None
        wanted = sorted(set(child.parent.fields.values()))
        plan = plan_query(parent, (), wanted)
        page = self.fetch_page(plan, token, None, deadline)
        extractor = Extractor(parent, wanted)
        keys = [extractor.raw_row(r) for r in page.records]
        return keys, page.next_token, page.stats

    # -- conveniences over the primitive ----------------------------------------------------------
    def concurrency(self, entity_name: str) -> int:
        """The spec's ``pagination.concurrency`` for the entity: pages one read may have in flight."""
        return self.spec.pagination_for(self.entity(entity_name)).concurrency

    def iter_pages(
        self,
        plan: QueryPlan,
        *,
        token: str | None = None,
        page_size: int | None = None,
        deadline: Deadline | None = None,
        concurrency: int = 1,
    ) -> Iterator[Page]:
        """Pages from ``token`` on: the same pages and tokens as calling :meth:`fetch_page` in a loop.

        With ``concurrency`` > 1, requests overlap the caller's work on earlier pages: up to ``concurrency`` at
        once where the next requests are known in advance (a plain entity with offset or page-number pagination
        whose API reports the result's total), else the next page is fetched while the caller handles this one."""
        deadline = deadline or Deadline.none()
        if concurrency <= 1:
            while True:
                page = self.fetch_page(plan, token, page_size, deadline)
                yield page
                if page.next_token is None:
                    return
                token = page.next_token
        entity = self.entity(plan.entity)
        _ = self.transport  # built once here, not by racing workers
        paginator = self.paginator(entity.name)
        if (
            isinstance(paginator, Predictable)
            and entity.parent is None
            and not entity.reader
            and self._total_getter(entity.name) is not None
        ):
            yield from self._pages_ahead(entity, plan, paginator, token, page_size, deadline, concurrency)
        else:
            yield from read_ahead(lambda t: self.fetch_page(plan, t, page_size, deadline), token)

    def _pages_ahead(
        self,
        entity: EntitySpec,
        plan: QueryPlan,
        paginator: Predictable,
        token: str | None,
        page_size: int | None,
        deadline: Deadline,
        concurrency: int,
    ) -> Iterator[Page]:
        """Pages read in order, their requests sent up to ``concurrency`` at once.

        The first page is read alone: it tells the total, and nothing ahead competes with it for the quota. From
        then on nothing is asked past the total the last page reported, and without one, one page at a time."""

        def predicted(payload: dict[str, Any], previous: State | None) -> list[Call]:
            state, size, number, total = payload["s"], int(payload["n"]), int(payload["i"]) + 1, payload.get("t")
            if not isinstance(total, int):
                return []
            calls = [self._page_call(entity, plan, entity.path, state, size, number)]
            for n in range(1, concurrency):
                later = paginator.ahead(state, previous, n, size, total)
                if later is None:
                    break
                calls.append(self._page_call(entity, plan, entity.path, later, size, number + n))
            return calls

        window = RequestWindow(lambda call, stats: self.transport.json(call, deadline, stats), concurrency)
        try:
            payload = self._payload(entity, plan, token, page_size)
            # The first page is fetched here, not from the window: nothing before it can be answered later. A token
            # that carries the total lets the pages after it go out at once.
            window.keep(predicted(payload, payload["s"])[1:])
            while True:
                page = self._fetch_plain(entity, plan, payload, deadline, entity.path, {}, window=window)
                if page.next_token is None:
                    window.clear()
                    yield page
                    return
                following = decode_token(page.next_token, payload["f"])
                window.keep(predicted(following, payload["s"]))
                yield page
                payload = following
        finally:
            window.close()

    def iter_records(
        self,
        plan: QueryPlan,
        *,
        limit: int | None = None,
        page_size: int | None = None,
        deadline: Deadline | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Records of every page, stopping after ``limit`` or raising when the deadline has passed."""
        deadline = deadline or Deadline.none()
        count = 0
        for page in self.iter_pages(plan, page_size=page_size, deadline=deadline):
            for record in page.records:
                if limit is not None and count >= limit:
                    return
                count += 1
                yield record
            if limit is not None and count >= limit:
                return
            if page.next_token is not None and deadline.expired():
                raise DeadlineExceededError(
                    "the invocation ran out of time while reading", entity=plan.entity, page=page.number
                )

    def check_credentials(self, deadline: Deadline | None = None) -> None:
        """A cheap authenticated GET (``api.check.path``, else one record of the first entity)."""
        path = self.spec.api.check_path
        stats = TransportStats()
        if path:
            self.transport.json(Call("GET", path), deadline or Deadline.none(), stats)
            return
        first = next(e for e in self.spec.entities if e.parent is None)
        self.fetch_page(self.plan(first.name), None, 1, deadline)

    def get_record(
        self, entity_name: str, key: Mapping[str, Any], deadline: Deadline | None = None
    ) -> dict[str, Any] | None:
        """One record by primary key through ``get.path``; None when the API answers 404."""
        entity = self.entity(entity_name)
        if not entity.get_path:
            raise ConfigError(f"entity '{entity.name}' declares no 'get' path for reading by primary key")
        path = render(
            entity.get_path.replace("{", "{record."),
            {"record": key},
            url_quote=True,
            where=f"entity '{entity.name}' get.path",
        )
        try:
            body, _ = self.transport.json(
                Call("GET", path, entity=entity.name), deadline or Deadline.none(), TransportStats()
            )
        except SaaSClientError as exc:
            if exc.status == 404:
                return None
            raise
        if not isinstance(body, dict):
            raise SaaSResponseError("expected one record object", entity=entity.name)
        return body

    def write(
        self, entity_name: str, operation: str, record: Mapping[str, Any], deadline: Deadline | None = None
    ) -> dict[str, Any] | None:
        """Create, update, upsert or delete one record as the spec declares; returns the API's answer (a
        delete sends no body, and its answer is usually empty: None)."""
        entity = self.entity(entity_name)
        op = entity.writes.get(operation)
        if op is None:
            raise ConfigError(
                f"entity '{entity.name}' does not support '{operation}' "
                f"(supported: {', '.join(entity.writes) or 'none'})"
            )
        path = render(
            op.path.replace("{", "{record."),
            {"record": record},
            url_quote=True,
            where=f"entity '{entity.name}' write.{operation}.path",
        )
        key_fields = {ph for ph in entity.primary_key if "{" + ph + "}" in op.path}
        body: Any = {k: v for k, v in record.items() if k not in key_fields}
        if op.body_path:
            body = {op.body_path: body}
        if operation == "delete":
            body = None
        call = Call(op.method, path, json_body=body, entity=entity.name, idempotent=op.method in ("PUT", "DELETE"))
        answer, _ = self.transport.json(call, deadline or Deadline.none(), TransportStats())
        return answer if isinstance(answer, dict) else None
