"""Construction-time options of the demo server (``latency_ms`` and ``rate_limit`` stay adjustable)."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_API_KEY = "demo-secret-key"
DEFAULT_CLIENT_ID = "demo-client"
DEFAULT_CLIENT_SECRET = "demo-client-secret"
DEFAULT_SEED = 42


@dataclass
class Settings:
    seed: int = DEFAULT_SEED
    scale: float = 1.0
    rows: dict[str, int] = field(default_factory=dict)  # explicit per-entity base counts
    api_key: str = DEFAULT_API_KEY
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    token_ttl_s: float = 3600.0
    latency_ms: float = 0.0  # sleep per API request
    rate_limit: float | None = None  # requests/second across all clients; None = unlimited
    prefetch: bool = False  # compute a sequential reader's next page in the background
    live_clock: bool = False  # stamp writes with at least the real time (see clock.py)
    tenant: str = "acme-demo"
    plan: str = "enterprise"
