"""The WSGI application: routing plus the cross-cutting steps every API request goes through.

API request pipeline: latency sleep -> global rate limit -> fault pick (slow / reset / status /
rate_limit act here) -> authentication -> handler -> body faults (truncate / malformed).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.wrappers import Request, Response

from . import fault_effects
from .admin import Admin
from .api import Api
from .auth import Authenticator, Credentials
from .context import RequestContext
from .data import Dataset, Sizes
from .errors import ApiError
from .faults import FaultSchedule
from .ratelimit import TokenBucket
from .responses import error_response
from .routes import ROUTES, Route, build_map
from .settings import Settings
from .stats import Stats
from .store import Store

log = logging.getLogger("demo_api")
_ROUTE_PARAM = re.compile(r"<(?:[^:>]*:)?(\w+)>")  # "<int(min=1):record_id>" -> "{record_id}"

WSGIApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


class DemoApp:
    """``DemoApp(scale=0.1, api_key="k")`` or ``DemoApp(Settings(...))``; a WSGI callable."""

    def __init__(self, settings: Settings | None = None, **overrides: Any) -> None:
        self.settings = replace(settings or Settings(), **overrides)
        s = self.settings
        self.dataset = Dataset(s.seed, Sizes.resolve(s.scale, s.rows))
        self.store = Store(self.dataset, live_clock=s.live_clock)
        self.auth = Authenticator(Credentials(s.api_key, s.client_id, s.client_secret, s.token_ttl_s))
        self.faults = FaultSchedule()
        self.limiter = TokenBucket(s.rate_limit)
        self.stats = Stats()
        self.api = Api(self.store, self.auth, s)
        self.admin = Admin(self.store, self.faults, self.stats, self.auth, self.limiter, s, self.api.pages)
        self.url_map = build_map()

    def close(self) -> None:
        """Stop background work (the page prefetcher)."""
        self.api.close()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        app, status, route_rule = self._dispatch(request)
        if not request.path.startswith("/_admin"):
            self.stats.record(request.method, request.path, route_rule, status)
        return app(environ, start_response)

    def _dispatch(self, request: Request) -> tuple[WSGIApp, int, str]:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            rule, args = adapter.match(return_rule=True)
        except MethodNotAllowed as exc:
            allowed = ", ".join(sorted(exc.valid_methods or []))
            error = ApiError(405, "method_not_allowed", f"{request.method} not allowed here", {"Allow": allowed})
            return error_response(error), 405, "<unmatched>"
        except NotFound:
            error = ApiError(404, "not_found", f"no route for {request.method} {request.path}")
            return error_response(error), 404, "<unmatched>"
        except HTTPException as exc:  # e.g. a routing redirect
            error = ApiError(exc.code or 400, "bad_request", exc.description or "bad request")
            return error_response(error), error.status, "<unmatched>"
        route = ROUTES[str(rule.endpoint)]
        ctx = RequestContext(request)
        try:
            if route.area in ("api", "oauth"):
                app: WSGIApp = self._serve_api(ctx, route, args)
            else:
                handler = getattr(self.admin if route.area == "admin" else self.api, route.handler)
                app = handler(ctx, **args)
        except ApiError as exc:
            app = self._body_faults(ctx, error_response(exc))
        except Exception:
            log.exception("unhandled error on %s %s", request.method, request.path)
            app = error_response(ApiError(500, "internal_error", "unexpected server error"))
        status = app.status_code if isinstance(app, Response) else getattr(app, "status_code", 200)
        return app, status, _ROUTE_PARAM.sub(r"{\1}", str(rule.rule))

    def _serve_api(self, ctx: RequestContext, route: Route, args: dict[str, Any]) -> WSGIApp:
        request = ctx.request
        if self.settings.latency_ms > 0:
            time.sleep(self.settings.latency_ms / 1000)
        if not self.limiter.acquire():
            self.stats.note_rate_limited()
            raise ApiError(429, "rate_limited", "rate limit exceeded", {"Retry-After": "1"})
        ctx.fired = self.faults.pick(route.entity, request.method, request.path, route.faults)
        for fired in ctx.fired:
            if fired.kind == "slow":
                time.sleep(fired.rule.get("delay_s"))
        if ctx.fault("reset"):
            fault_effects.reset_connection(request.environ)
            return Response(b"", status=500)
        if (fired := ctx.fault("redirect")) is not None:
            return fault_effects.redirect(request, fired.rule)
        if (fired := ctx.fault("status")) is not None:
            raise fault_effects.status_error(fired.rule)
        if (fired := ctx.fault("rate_limit")) is not None:
            raise fault_effects.rate_limit_error(fired.rule)
        if route.area == "api":
            ctx.auth = self.auth.authenticate(request)
        response: Response = getattr(self.api, route.handler)(ctx, **args)
        return self._body_faults(ctx, response)

    @staticmethod
    def _body_faults(ctx: RequestContext, response: Response) -> WSGIApp:
        if ctx.fault("truncate"):
            return fault_effects.TruncatedResponse(response)
        if ctx.fault("malformed"):
            return fault_effects.malformed(response)
        return response


def create_app(settings: Settings | None = None, **overrides: Any) -> DemoApp:
    return DemoApp(settings, **overrides)
