"""``/_admin`` handlers: mutations, fault schedule, stats, clock, tokens, config, dumps. No auth."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from werkzeug.wrappers import Response

from .auth import Authenticator
from .context import RequestContext
from .data import ENTITIES, TABLE_ENTITIES
from .errors import ApiError, not_found
from .faults import FaultSchedule, FaultSpecError, parse_rules
from .pages import Pager
from .ratelimit import TokenBucket
from .responses import JSON_MIMETYPE, dumps, json_response
from .settings import Settings
from .stats import Stats
from .store import Store
from .timeutil import format_ts, parse_ts
from .writes import ContactValidator

Record = dict[str, Any]
_READ_ONLY = ("id", "created_at", "updated_at")


def _body(ctx: RequestContext, *, required: bool = True) -> Any:
    raw = ctx.request.get_data()
    if not raw.strip():
        if required:
            raise ApiError(400, "bad_request", "a JSON body is required")
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "bad_request", "request body is not valid JSON") from None


def _object(ctx: RequestContext, *, required: bool = True) -> Record:
    body = _body(ctx, required=required)
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", "request body must be a JSON object")
    return body


def _number(body: Record, key: str) -> float | None:
    value = body[key]
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise ApiError(400, "bad_request", f"{key} must be a number >= 0 or null")
    return float(value)


class Admin:
    def __init__(
        self,
        store: Store,
        faults: FaultSchedule,
        stats: Stats,
        auth: Authenticator,
        limiter: TokenBucket,
        settings: Settings,
        pages: Pager,
    ) -> None:
        self.store = store
        self.schedule = faults
        self.counters = stats
        self.auth = auth
        self.limiter = limiter
        self.settings = settings
        self.pages = pages
        self._contacts = ContactValidator(store.tables["accounts"].exists)

    def mutate(self, ctx: RequestContext) -> Response:
        body = _object(ctx)
        entity = body.get("entity")
        if entity not in TABLE_ENTITIES:
            raise ApiError(400, "bad_request", f"entity must be one of {', '.join(TABLE_ENTITIES)}")
        ids, count = body.get("ids"), body.get("count")
        if (ids is None) == (count is None):
            raise ApiError(400, "bad_request", "give exactly one of 'ids' (list of ints) or 'count' (int)")
        if ids is not None and (
            not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids)
        ):
            raise ApiError(400, "bad_request", "'ids' must be a list of integers")
        if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 0):
            raise ApiError(400, "bad_request", "'count' must be an integer >= 0")
        changes = self._changes(entity, body.get("set"))
        changed = self.store.mutate(entity, ids=ids, count=count, changes=changes)
        return json_response(
            {
                "entity": entity,
                "ids": [rec["id"] for rec in changed],
                "mutated": [{"id": rec["id"], "updated_at": rec["updated_at"]} for rec in changed],
                "now": self.store.clock.now_iso(),
            }
        )

    def _changes(self, entity: str, changes: Any) -> Record | None:
        """Explicit field values to set (validated like API writes for contacts)."""
        if changes is None:
            return None
        if not isinstance(changes, dict):
            raise ApiError(400, "bad_request", "'set' must be an object of field values")
        if entity == "contacts":
            return self._contacts.for_update(changes, path_id=-1)
        sample = self.store.get(entity, 1) or {}
        unknown = sorted(k for k in changes if k not in sample or k in _READ_ONLY)
        if unknown:
            raise ApiError(400, "bad_request", f"'set': unknown or read-only field(s) {', '.join(unknown)}")
        return dict(changes)

    def faults(self, ctx: RequestContext) -> Response:
        method = ctx.request.method
        if method == "POST":
            body = _body(ctx)
            append = isinstance(body, dict) and bool(body.get("append"))
            try:
                rules = parse_rules(body)
            except FaultSpecError as exc:
                raise ApiError(400, "bad_request", str(exc)) from None
            self.schedule.set(rules, append=append)
        elif method == "DELETE":
            self.schedule.clear()
        return json_response({"faults": self.schedule.pending()})

    def stats(self, ctx: RequestContext) -> Response:
        if ctx.request.method == "DELETE":
            self.counters.reset()
            self.schedule.reset_stats()
        snapshot = self.counters.snapshot()
        snapshot["faults_fired"] = dict(self.schedule.counts)
        snapshot["faults_fired_total"] = sum(self.schedule.counts.values())
        snapshot["fault_events"] = list(self.schedule.log)
        snapshot["tokens_issued"] = self.auth.tokens_issued
        snapshot["prefetch_hits"] = self.pages.prefetcher.hits
        return json_response(snapshot)

    def clock(self, ctx: RequestContext) -> Response:
        if ctx.request.method == "POST":
            body = _object(ctx)
            now = body.get("now")
            try:
                epoch = parse_ts(now) if isinstance(now, str) else None
            except ValueError:
                epoch = None
            if epoch is None:
                raise ApiError(400, "bad_request", "'now' must be an ISO-8601 timestamp")
            self.store.clock.set(int(epoch))
        return json_response({"now": self.store.clock.now_iso()})

    def expire_tokens(self, ctx: RequestContext) -> Response:
        body = _object(ctx, required=False)
        expired = self.auth.expire_all(revoke_refresh=bool(body.get("revoke_refresh")))
        return json_response({"expired": expired, "refresh_tokens_revoked": bool(body.get("revoke_refresh"))})

    def config(self, ctx: RequestContext) -> Response:
        if ctx.request.method == "POST":
            body = _object(ctx)
            unknown = sorted(set(body) - {"latency_ms", "rate_limit"})
            if unknown:
                raise ApiError(400, "bad_request", f"unknown config key(s) {', '.join(unknown)}")
            if "latency_ms" in body:
                self.settings.latency_ms = _number(body, "latency_ms") or 0.0
            if "rate_limit" in body:
                self.settings.rate_limit = _number(body, "rate_limit") or None
                self.limiter.configure(self.settings.rate_limit)
        return json_response({"latency_ms": self.settings.latency_ms, "rate_limit": self.settings.rate_limit})

    def dump(self, ctx: RequestContext, entity: str) -> Response:
        if entity not in ENTITIES:
            raise not_found(f"unknown entity {entity!r}")
        return Response(_json_array(self.store, entity), content_type=f"{JSON_MIMETYPE}; charset=utf-8")

    def reset(self, ctx: RequestContext) -> Response:
        """Back to the freshly generated state: no writes, no faults, zeroed stats, clock restarted."""
        self.store.reset()
        self.schedule.clear()
        self.schedule.reset_stats()
        self.counters.reset()
        return json_response({"reset": True, "now": format_ts(self.store.clock.now())})


def _json_array(store: Store, entity: str, chunk: int = 1000) -> Iterator[bytes]:
    """Stream every record as one JSON array, a chunk at a time."""
    yield b"["
    batch: list[Record] = []
    sep = b""
    for rec in store.iter_records(entity, chunk):
        batch.append(rec)
        if len(batch) == chunk:
            yield sep + dumps(batch)[1:-1]
            sep, batch = b",", []
    if batch:
        yield sep + dumps(batch)[1:-1]
    yield b"]"
