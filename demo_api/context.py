"""Per-request state handed to handlers: the request, the faults it fired, how it authenticated."""

from __future__ import annotations

from dataclasses import dataclass, field

from werkzeug.wrappers import Request

from .faults import Fired


@dataclass
class RequestContext:
    request: Request
    fired: list[Fired] = field(default_factory=list)
    auth: str | None = None

    def fault(self, kind: str) -> Fired | None:
        return next((f for f in self.fired if f.kind == kind), None)
