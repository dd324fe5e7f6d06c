"""A tiny API that reproduces the demo connector behind ``tests/fixtures/appflow-vectors`` (entity ``orders``,
25 rows ``o0..o24``, ``amount = 1.5 * i``, ``updated_at = 2024-01-(i+1)``), so the vectors' responses can be
compared with ours record for record. ``blobs`` serves large records for the byte-budget tests.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

ORDERS_KEY = "orders-vector-key-123"

SPEC = """
version: 1
api:
  name: orders_demo
  title: Orders (vector demo)
  base_url: {base}
  auth: {{type: api_key, in: header, name: X-API-Key, value: "{{secret.api_key}}"}}
  retry: {{max_attempts: 2, base_delay_s: 0.01, max_delay_s: 0.05, retry_after_cap_s: 0.1}}
  check: {{path: /me}}
  pagination: {{type: offset, offset_param: offset, limit_param: limit, total_path: total,
               page_size: 100, max_page_size: 1000}}
entities:
  - name: orders
    description: Orders
    path: /orders
    records: data
    primary_key: [id]
    fields:
      id: {{type: string, nullable: false}}
      amount: number
      updated_at: {{type: timestamp, nullable: false}}
    filters:
      updated_at: {{ge: {{param: updated_since}}}}
    incremental: {{field: updated_at}}
    get: {{path: "/orders/{{id}}"}}
  - name: blobs
    description: Large records
    path: /blobs
    records: data
    primary_key: [id]
    fields:
      id: {{type: int64, nullable: false}}
      payload: string
"""


def orders() -> list[dict[str, Any]]:
    return [{"id": f"o{i}", "amount": i * 1.5, "updated_at": f"2024-01-{i + 1:02d}T00:00:00Z"} for i in range(25)]


class OrdersApp:
    def __init__(self, blob_count: int = 0, blob_bytes: int = 0, delay_s: float = 0.0) -> None:
        self.orders = orders()
        self.blobs = [{"id": i, "payload": ("x" * (blob_bytes - 8)) + f"{i:08d}"} for i in range(1, blob_count + 1)]
        self.delay_s = delay_s
        self.requests = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.requests += 1
        if self.delay_s:
            time.sleep(self.delay_s)
        if request.headers.get("X-API-Key") != ORDERS_KEY:
            return self._json({"message": "invalid api key"}, 401)(environ, start_response)
        path = request.path.removeprefix("/v1")
        if path == "/me":
            return self._json({"ok": True})(environ, start_response)
        if path.startswith("/orders/"):
            wanted = path.rsplit("/", 1)[-1]
            for rec in self.orders:
                if rec["id"] == wanted:
                    return self._json(rec)(environ, start_response)
            return self._json({"message": "not found"}, 404)(environ, start_response)
        if path in ("/orders", "/blobs"):
            rows = self.orders if path == "/orders" else self.blobs
            since = request.args.get("updated_since")
            if since:
                rows = [r for r in rows if r["updated_at"] >= since.replace(".000Z", "Z")]
            offset, limit = int(request.args.get("offset", 0)), int(request.args.get("limit", 100))
            return self._json({"data": rows[offset : offset + limit], "total": len(rows)})(environ, start_response)
        return self._json({"message": "no route"}, 404)(environ, start_response)

    @staticmethod
    def _json(body: Any, status: int = 200) -> Response:
        return Response(json.dumps(body), status=status, content_type="application/json")


@contextmanager
def serve_orders(tmp_dir: Path, app: OrdersApp | None = None) -> Iterator[tuple[OrdersApp, str, Path]]:
    """Serve ``app`` on loopback; yield (app, base URL, spec file path)."""
    app = app or OrdersApp()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    port = server.socket.getsockname()[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}/v1"
    spec_path = tmp_dir / "orders.yaml"
    spec_path.write_text(SPEC.format(base=base))
    try:
        yield app, base, spec_path
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
