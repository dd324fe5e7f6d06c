"""Serve the demo API over real HTTP: ``DemoServer`` (a context manager for tests) and the CLI ``main``."""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Sequence
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import DemoApp
from .faults import parse_rules
from .settings import (
    DEFAULT_API_KEY,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_SEED,
    Settings,
)
from .store import Store
from .timeutil import parse_ts

Record = dict[str, Any]


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class DemoServer:
    """The demo API on a background thread.

    >>> with DemoServer(port=0, scale=0.1) as srv:          # doctest: +SKIP
    ...     requests.get(f"{srv.base_url}/me", headers={"X-API-Key": srv.api_key})
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        scale: float = 1.0,
        rows: dict[str, int] | None = None,
        seed: int = DEFAULT_SEED,
        api_key: str = DEFAULT_API_KEY,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        token_ttl_s: float = 3600.0,
        latency_ms: float = 0.0,
        rate_limit: float | None = None,
        prefetch: bool = False,
        quiet: bool = True,
        live_clock: bool = False,
    ) -> None:
        settings = Settings(
            seed=seed,
            scale=scale,
            rows=dict(rows or {}),
            api_key=api_key,
            client_id=client_id,
            client_secret=client_secret,
            token_ttl_s=token_ttl_s,
            latency_ms=latency_ms,
            rate_limit=rate_limit,
            prefetch=prefetch,
            live_clock=live_clock,
        )
        self.app = DemoApp(settings)
        self.host = host
        self.port = port
        self._quiet = quiet
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> DemoServer:
        if self._server is not None:
            return self
        handler = _QuietHandler if self._quiet else WSGIRequestHandler
        self._server = make_server(self.host, self.port, self.app, threaded=True, request_handler=handler)
        self.port = int(self._server.socket.getsockname()[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"demo-api:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self.app.close()

    def wait(self) -> None:
        """Block until the server stops (Ctrl-C raises KeyboardInterrupt here)."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(0.5)

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses and credentials ----------------------------------------------------------------
    @property
    def root_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/api/v1"

    @property
    def token_url(self) -> str:
        return f"{self.root_url}/oauth/token"

    @property
    def admin_url(self) -> str:
        return f"{self.root_url}/_admin"

    @property
    def api_key(self) -> str:
        return self.app.settings.api_key

    @property
    def client_id(self) -> str:
        return self.app.settings.client_id

    @property
    def client_secret(self) -> str:
        return self.app.settings.client_secret

    @property
    def store(self) -> Store:
        return self.app.store

    # -- admin shortcuts (same effect as the /_admin endpoints) ------------------------------------
    def set_faults(self, faults: list[Record] | Record, append: bool = False) -> None:
        self.app.faults.set(parse_rules(faults), append=append)

    def clear_faults(self) -> None:
        self.app.faults.clear()

    def pending_faults(self) -> list[Record]:
        return self.app.faults.pending()

    def mutate(
        self, entity: str, ids: list[int] | None = None, count: int | None = None, changes: Record | None = None
    ) -> list[Record]:
        return self.app.store.mutate(entity, ids=ids, count=count, changes=changes)

    def set_clock(self, now: str) -> None:
        self.app.store.clock.set(int(parse_ts(now)))

    def expire_tokens(self, revoke_refresh: bool = False) -> int:
        return self.app.auth.expire_all(revoke_refresh=revoke_refresh)

    def configure(self, **options: float | None) -> None:
        """``latency_ms=...`` and/or ``rate_limit=...`` (None = unlimited)."""
        for key, value in options.items():
            if key == "latency_ms":
                self.app.settings.latency_ms = float(value or 0)
            elif key == "rate_limit":
                self.app.settings.rate_limit = value or None
                self.app.limiter.configure(value or None)
            else:
                raise TypeError(f"unknown option {key!r}")

    def reset(self) -> None:
        """Forget writes, mutations, faults and stats; restart the clock."""
        self.app.store.reset()
        self.app.faults.clear()
        self.app.faults.reset_stats()
        self.app.stats.reset()


def _rows(values: Sequence[str]) -> dict[str, int]:
    rows = {}
    for item in values:
        name, sep, number = item.partition("=")
        if not sep or not number.strip().isdigit():
            raise argparse.ArgumentTypeError(f"--rows expects ENTITY=N, got {item!r}")
        rows[name.strip()] = int(number)
    return rows


DEMO_API_EPILOG = """examples:
  saas-connectors demo-api                                 serve on http://127.0.0.1:8080/api/v1
  saas-connectors demo-api --port 0 --scale 0.1 --quiet    any free port, a tenth of the data, no request log
  saas-connectors demo-api --rows contacts=1000000         one million contacts
  saas-connectors demo-api --latency-ms 50 --rate-limit 20 a slower API that answers 429 above 20 requests/s
  curl -H 'X-API-Key: demo-secret-key' 'http://127.0.0.1:8080/api/v1/contacts?limit=2'

Then point the connectors at it, e.g.:
  export SAAS_SPEC=demo SAAS_BASE_URL=http://127.0.0.1:8080/api/v1 SAAS_API_KEY=demo-secret-key
  saas-connectors query "SELECT status, count(*) FROM contacts GROUP BY status"

More: demo_api/README.md (endpoints, data, faults, the admin API).
"""


def build_parser(prog: str = "python -m demo_api") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="Serve the demo SaaS CRM API (accounts, contacts, deals, activities) over HTTP on loopback, "
        "with API-key and OAuth2 authentication, cursor/offset/page pagination, rate limits and an admin API "
        "for faults, mutations and the clock.",
        epilog=DEMO_API_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="0 picks a free port (default 8080)")
    p.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="multiplies the default row counts (accounts 2,000, contacts 20,000, deals 10,000; default 1)",
    )
    p.add_argument(
        "--rows",
        action="append",
        default=[],
        metavar="ENTITY=N",
        help="exact rows of one entity, e.g. contacts=1000000",
    )
    p.add_argument(
        "--api-key", default=DEFAULT_API_KEY, help=f"the X-API-Key clients must send (default {DEFAULT_API_KEY})"
    )
    p.add_argument("--latency-ms", type=float, default=0.0, help="sleep this long in every API request (default 0)")
    p.add_argument(
        "--rate-limit",
        type=float,
        default=None,
        metavar="RPS",
        help="requests per second across all clients; above it the API answers 429 (default: unlimited)",
    )
    p.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"seed of the generated data (default {DEFAULT_SEED})"
    )
    p.add_argument(
        "--token-ttl",
        type=float,
        default=3600.0,
        metavar="SECONDS",
        help="lifetime of OAuth2 access tokens (default 3600)",
    )
    p.add_argument(
        "--prefetch", action="store_true", help="precompute a sequential reader's next page in the background"
    )
    p.add_argument("--quiet", action="store_true", help="do not log each request")
    p.add_argument(
        "--clock",
        choices=("live", "fixed"),
        default="live",
        help="live (default): writes are stamped with the real time, so incremental flows find them; fixed: "
        "the deterministic clock the tests use, starting at 2025-07-01 and advancing one second per write",
    )
    return p


def main(argv: Sequence[str] | None = None, prog: str = "python -m demo_api") -> int:
    """CLI: print the base URL and API key, serve until Ctrl-C. Returns the exit status."""
    args = build_parser(prog).parse_args(argv)
    try:
        rows = _rows(args.rows)
        srv = DemoServer(
            args.host,
            args.port,
            scale=args.scale,
            rows=rows,
            seed=args.seed,
            api_key=args.api_key,
            token_ttl_s=args.token_ttl,
            latency_ms=args.latency_ms,
            rate_limit=args.rate_limit,
            prefetch=args.prefetch,
            quiet=args.quiet,
            live_clock=args.clock == "live",
        )
    except (ValueError, argparse.ArgumentTypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    srv.start()
    sizes = srv.app.dataset.sizes
    print(f"Demo SaaS API: {srv.base_url}")
    print(f"API key:       {srv.api_key}   (header X-API-Key)")
    print(f"OAuth2:        POST {srv.token_url}  client_id={srv.client_id} client_secret={srv.client_secret}")
    print(f"Admin:         {srv.admin_url}")
    print(f"Rows:          accounts={sizes.accounts} contacts={sizes.contacts} deals={sizes.deals}  seed={args.seed}")
    print("Press Ctrl-C to stop.", flush=True)
    try:
        srv.wait()
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()
    return 0
