"""URL variants that try to make one parser see the API's host and another the attacker's.

Each variant names both a trusted origin (``api``, ``host:port``) and an untrusted one (``evil``). Used by the
origin-check test (a small corpus) and ``benchmarks/fuzz_urls.py`` (a large one): whatever the variant, a request
must either be refused or reach the API, never the other host.
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from shared.auth import build_auth
from shared.clock import SYSTEM_CLOCK
from shared.deadline import Deadline
from shared.errors import PaginationError, SaaSRequestError
from shared.spec import load_spec_text
from shared.transport import Call, Transport, TransportStats, make_session
from tests.support.fake_saas import API_KEY, FakeSaaS, fake_spec_text, make_records, serve

# Authority tricks from the audit and from WHATWG-vs-RFC 3986 parser differentials.
TRICKS = (
    "{evil}\\@{api}",
    "{evil}\\\\@{api}",
    "{evil}/\\@{api}",
    "{evil}\\.{api}",
    "{api}\\@{evil}",
    "{api}@{evil}",
    "{evil}@{api}",
    "user@{evil}@{api}",
    "{api}:@{evil}",
    "{api}%40{evil}",
    "{evil}%5C@{api}",
    "{evil}\t@{api}",
    "{evil}\n@{api}",
    "{evil}\r\n@{api}",
    "{evil}\x00@{api}",
    "{evil}#@{api}",
    "{evil}?@{api}",
    "{evil};@{api}",
    "{api}#{evil}",
    "{evil}\u3002@{api}",
    "{evil}\uff03@{api}",
    " {evil}@{api}",
)
PREFIXES = ("http://", "HTTP://", "http:/", "http:\\\\", "http:\\/", "//", "http:///", "\\\\", "http://\t")
SUFFIXES = ("/api/v1/x", "\\api/v1/x", "/x?y=\\@{evil}", "", "#frag", "/%2e%2e/x")


def corpus(api: str, evil: str, size: int, seed: int = 0) -> Iterator[str]:
    """Every trick with the plain prefix first, then ``size`` random combinations in all."""
    rng = random.Random(seed)
    made = 0
    for trick in TRICKS:
        if made >= size:
            return
        yield "http://" + trick.format(api=api, evil=evil) + "/api/v1/x"
        made += 1
    while made < size:
        trick = rng.choice(TRICKS).format(api=api, evil=evil)
        if rng.random() < 0.3:  # stack two tricks
            trick = rng.choice(TRICKS).format(api=api, evil=trick)
        yield rng.choice(PREFIXES) + trick + rng.choice(SUFFIXES).format(evil=evil)
        made += 1


@dataclass
class Recorder:
    """Answers 200 with an empty page and records every request (headers included)."""

    requests: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.requests.append({"path": request.full_path, "headers": dict(request.headers)})
        body = json.dumps({"data": [], "results": [], "items": [], "id": 1})
        return Response(body, content_type="application/json")(environ, start_response)


@contextmanager
def other_host() -> Iterator[tuple[Recorder, str]]:
    """A recording server on its own loopback port: the attacker's host. Yields it and its ``host:port``."""
    recorder = Recorder()
    server = make_server("127.0.0.1", 0, recorder, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield recorder, f"127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


def api_transport(base: str) -> Transport:
    """A transport for the fake API at ``base`` with its key, one attempt per request."""
    spec = load_spec_text(fake_spec_text(base, "offset", attempts=1))
    session = make_session()
    auth = build_auth(
        spec.api.auth,
        {"api_key": API_KEY},
        {},
        session=session,
        clock=SYSTEM_CLOCK,
        timeout=(1.0, 2.0),
        resolve_hook=_no_hooks,
    )
    return Transport(spec.api, auth, clock=SYSTEM_CLOCK, session=session, base_url=base)


def _no_hooks(ref: str) -> Any:
    raise AssertionError(f"no hooks here ({ref})")


def send_corpus(size: int, seed: int = 0) -> tuple[Counter[str], list[dict[str, Any]], list[Any]]:
    """Send ``size`` variants through a real transport to a fake API, with a recording other host beside it.

    Returns the outcomes, what reached the other host (must be nothing), and the requests that reached the API."""
    outcomes: Counter[str] = Counter()
    app = FakeSaaS(make_records(3))
    with other_host() as (recorder, evil), serve(app) as base:
        transport = api_transport(base)
        for url in corpus(base.split("://", 1)[1], evil, size, seed):
            try:
                transport.send(Call("GET", url), Deadline.in_seconds(5.0), TransportStats())
                outcomes["reached the API"] += 1
            except PaginationError:
                outcomes["refused"] += 1
            except SaaSRequestError as exc:
                outcomes[f"failed otherwise ({type(exc).__name__})"] += 1
        return outcomes, list(recorder.requests), list(app.requests)
