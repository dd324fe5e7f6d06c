"""Handlers of the public API (``/api/v1/...``, ``/oauth/token``, ``/health``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Response

from . import fault_effects
from .auth import Authenticator
from .context import RequestContext
from .data import CONTACT_FIELDS
from .errors import not_found
from .faults import ServedPages
from .filters import parse_query
from .ordering import parse_sort
from .pages import Page, Pager
from .params import encode_token, required_int, token_param
from .responses import dumps, json_response, raw_json_response
from .settings import Settings
from .store import Store
from .writes import ContactValidator, json_body

Record = dict[str, Any]

MAX_PAGE = 1000
MAX_PER_PAGE = 500


def _envelope(**fields: bytes) -> bytes:
    """A JSON object from already-serialised member values (same bytes as ``dumps`` of the dict)."""
    return b"{" + b",".join(dumps(name) + b":" + value for name, value in fields.items()) + b"}"


def _with_params(ctx: RequestContext, **params: Any) -> str:
    """This request's absolute URL with ``params`` replaced (other query parameters kept, in order)."""
    request = ctx.request
    pairs = [(k, v) for k, v in request.args.items(multi=True) if k not in params]
    pairs += [(k, str(v)) for k, v in params.items()]
    return f"{request.host_url.rstrip('/')}{request.path}?{urlencode(pairs)}"


class Api:
    def __init__(self, store: Store, auth: Authenticator, settings: Settings) -> None:
        self.store = store
        self.auth = auth
        self.settings = settings
        self.contacts = ContactValidator(store.tables["accounts"].exists)
        self.pages = Pager(store, prefetch=settings.prefetch)
        self.served = ServedPages()

    def close(self) -> None:
        self.pages.close()

    # -- helpers ----------------------------------------------------------------------------------
    def _records_out(self, ctx: RequestContext, entity: str, records: list[Record]) -> list[Record]:
        fired = ctx.fault("drift")
        return fault_effects.drift(entity, records, fired.rule) if fired else records

    def _after_page(self, ctx: RequestContext, entity: str, records: list[Record]) -> None:
        fired = ctx.fault("mutate_between_pages")
        if fired and records:
            changed = self.store.mutate_after(entity, records[-1]["id"], fired.rule.get("n"))
            fired.event["mutated_ids"] = [rec["id"] for rec in changed]
        fired = ctx.fault("delete_between_pages")
        if fired and records:
            gone = [rec["id"] for rec in records[-fired.rule.get("n") :]]
            fired.event["deleted_ids"] = self.store.delete_ids(entity, gone)

    def _records_json(self, ctx: RequestContext, entity: str, page: Page, scope: Any) -> bytes:
        """The page's records as a JSON array (pre-serialised unless a fault alters them). ``scope`` names the
        query the page belongs to: ``repeat_record`` repeats a record of the same query's earlier pages."""
        records = page.records
        repeat = ctx.fault("repeat_record")
        if repeat is not None:
            back = repeat.rule.get("back")
            earlier = self.served.back((entity, scope), back) if back else None
            records, again = fault_effects.repeat_record(records, earlier)
            repeat.event["repeated_id"] = None if again is None else again["id"]
        self.served.note((entity, scope), page.records)
        fired = ctx.fault("drift")
        if fired:
            return dumps(fault_effects.drift(entity, records, fired.rule))
        return page.json() if records is page.records else dumps(records)

    @staticmethod
    def _next_url(ctx: RequestContext, url: str | None, would_be: str) -> str | None:
        fired = ctx.fault("foreign_next")
        if fired:
            return fault_effects.foreign_url(url or would_be, fired.rule.get("host"))
        return url

    def _one(self, ctx: RequestContext, entity: str, record_id: int) -> Response:
        rec = self.store.get(entity, record_id)
        if rec is None:
            raise not_found(f"{entity[:-1]} {record_id} not found")
        return json_response(self._records_out(ctx, entity, [rec])[0])

    # -- public -----------------------------------------------------------------------------------
    def health(self, ctx: RequestContext) -> Response:
        return json_response({"status": "ok"})

    def token(self, ctx: RequestContext) -> Response:
        return json_response(self.auth.token(ctx.request), headers={"Cache-Control": "no-store"})

    def me(self, ctx: RequestContext) -> Response:
        return json_response(
            {
                "tenant": self.settings.tenant,
                "plan": self.settings.plan,
                "auth": ctx.auth,
                "server_time": self.store.clock.now_iso(),
            }
        )

    # -- accounts: offset pagination ----------------------------------------------------------------
    def list_accounts(self, ctx: RequestContext) -> Response:
        args = ctx.request.args
        offset = required_int(args, "offset", 0, 0)
        limit = required_int(args, "limit", 100, 1, MAX_PAGE)
        query = parse_query("accounts", args)
        sort = parse_sort("accounts", args)
        if sort is None:
            page = self.pages.at("accounts", query, offset, limit)
        else:
            records, total = self.store.sorted_page("accounts", query, sort, offset, limit)
            page = Page(records, more=offset + limit < total, total=total)
        self._after_page(ctx, "accounts", page.records)
        body = _envelope(
            data=self._records_json(ctx, "accounts", page, query.key),
            total=dumps(page.total),
            offset=dumps(offset),
            limit=dumps(limit),
        )
        response = raw_json_response(body)
        if page.more and sort is None:
            self.pages.prefetch_at("accounts", query, offset + limit, limit)
        return response

    def get_account(self, ctx: RequestContext, record_id: int) -> Response:
        return self._one(ctx, "accounts", record_id)

    # -- contacts: cursor pagination, writable ------------------------------------------------------
    def list_contacts(self, ctx: RequestContext) -> Response:
        args = ctx.request.args
        page_size = required_int(args, "page_size", 100, 1, MAX_PAGE)
        query = parse_query("contacts", args)
        sort = parse_sort("contacts", args)
        if sort is not None:  # a sorted list is paged by position: the cursor carries it
            return self._sorted_contacts(ctx, query, sort, page_size)
        after = token_param(args, "cursor", "contacts")
        page = self.pages.after("contacts", query, after, page_size)
        assert page is not None
        self._after_page(ctx, "contacts", page.records)
        next_cursor = encode_token("contacts", page.records[-1]["id"]) if page.more else None
        if ctx.fault("repeat_token"):  # a broken API: the next cursor is the one this request sent
            next_cursor = args.get("cursor") or encode_token("contacts", 0)
        body = _envelope(
            results=self._records_json(ctx, "contacts", page, query.key),
            meta=dumps({"next_cursor": next_cursor}),
        )
        response = raw_json_response(body)
        if page.more:
            self.pages.prefetch_after("contacts", query, page.records[-1]["id"], page_size)
        return response

    def _sorted_contacts(self, ctx: RequestContext, query: Any, sort: Any, page_size: int) -> Response:
        position = token_param(ctx.request.args, "cursor", "contacts-sorted")
        records, total = self.store.sorted_page("contacts", query, sort, position, page_size)
        more = position + page_size < total
        self._after_page(ctx, "contacts", records)
        page = Page(records, more=more)
        next_cursor = encode_token("contacts-sorted", position + page_size) if more else None
        body = _envelope(
            results=self._records_json(ctx, "contacts", page, (query.key, sort)),
            meta=dumps({"next_cursor": next_cursor}),
        )
        return raw_json_response(body)

    def count_contacts(self, ctx: RequestContext) -> Response:
        """``{"count": N}``: how many contacts the same filters as the list would return (for split sizing)."""
        query = parse_query("contacts", ctx.request.args)
        return json_response({"count": self.store.count("contacts", query)})

    def get_contact(self, ctx: RequestContext, record_id: int) -> Response:
        return self._one(ctx, "contacts", record_id)

    def create_contact(self, ctx: RequestContext) -> Response:
        values = self.contacts.for_create(json_body(ctx.request))
        rec = self.store.create("contacts", values, CONTACT_FIELDS)
        location = f"{ctx.request.host_url.rstrip('/')}{ctx.request.path}/{rec['id']}"
        return json_response(rec, status=201, headers={"Location": location})

    def patch_contact(self, ctx: RequestContext, record_id: int) -> Response:
        body = json_body(ctx.request)
        if self.store.get("contacts", record_id) is None:
            raise not_found(f"contact {record_id} not found")
        rec = self.store.update("contacts", record_id, self.contacts.for_update(body, record_id))
        if rec is None:  # deleted meanwhile
            raise not_found(f"contact {record_id} not found")
        return json_response(rec)

    def put_contact(self, ctx: RequestContext, record_id: int) -> Response:
        values = self.contacts.for_create(json_body(ctx.request), path_id=record_id)
        rec, created = self.store.replace("contacts", record_id, values, CONTACT_FIELDS)
        return json_response(rec, status=201 if created else 200)

    def delete_contact(self, ctx: RequestContext, record_id: int) -> Response:
        if not self.store.delete("contacts", record_id):
            raise not_found(f"contact {record_id} not found")
        return Response(status=204)

    # -- deals: page numbers + Link header ----------------------------------------------------------
    def list_deals(self, ctx: RequestContext) -> Response:
        args = ctx.request.args
        page_no = required_int(args, "page", 1, 1)
        per_page = required_int(args, "per_page", 50, 1, MAX_PER_PAGE)
        query = parse_query("deals", args)
        offset = (page_no - 1) * per_page
        page = self.pages.at("deals", query, offset, per_page)
        self._after_page(ctx, "deals", page.records)
        headers = {"X-Total-Count": str(page.total)}
        would_be = _with_params(ctx, page=page_no + 1, per_page=per_page)
        link = self._next_url(ctx, would_be if page.more else None, would_be)
        if ctx.fault("repeat_token"):  # a broken API: the next link is this very page again
            link = _with_params(ctx, page=page_no, per_page=per_page)
        if link:
            headers["Link"] = f'<{link}>; rel="next"'
        response = raw_json_response(self._records_json(ctx, "deals", page, query.key), headers=headers)
        if page.more:
            self.pages.prefetch_at("deals", query, offset + per_page, per_page)
        return response

    def get_deal(self, ctx: RequestContext, record_id: int) -> Response:
        return self._one(ctx, "deals", record_id)

    # -- activities: next-URL pagination ------------------------------------------------------------
    def _activities(self, ctx: RequestContext, contact_id: int | None) -> Response:
        args = ctx.request.args
        limit = required_int(args, "limit", 100, 1, MAX_PAGE)
        after = token_param(args, "page_token", "activities")
        query = parse_query("activities", args)
        page = self.pages.after("activities", query, after, limit, contact_id)
        if page is None:
            raise not_found(f"contact {contact_id} not found")
        last = page.records[-1]["id"] if page.records else after
        would_be = _with_params(ctx, limit=limit, page_token=encode_token("activities", last))
        next_url = self._next_url(ctx, would_be if page.more else None, would_be)
        if ctx.fault("repeat_token"):  # a broken API: the next link is this very page again
            next_url = _with_params(ctx, limit=limit, page_token=encode_token("activities", after))
        body = _envelope(
            items=self._records_json(ctx, "activities", page, (contact_id, query.key)), links=dumps({"next": next_url})
        )
        response = raw_json_response(body)
        if page.more:
            self.pages.prefetch_after("activities", query, last, limit, contact_id)
        return response

    def list_activities(self, ctx: RequestContext) -> Response:
        return self._activities(ctx, None)

    def contact_activities(self, ctx: RequestContext, record_id: int) -> Response:
        return self._activities(ctx, record_id)
