"""AppFlow's ``nextToken``: the shared client's resumable token plus what this connector must remember.

* ``c``: the client's token (a position in the upstream read, possibly in the middle of a page);
* ``g``: an overlap guard, short hashes of the primary keys of the last records consumed, so that when
  records inserted ahead of a positional cursor push already-read records onto the next page, they are
  not delivered twice in one run;
* ``e``: records emitted so far (for ``LIMIT``);
* ``f``: a fingerprint of the entity and filter, so a token is never replayed against another query.

Tokens are self-contained (no server-side state), small, and replayable: AppFlow may retry a page.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from shared.tokens import decode_token, encode_token, fingerprint

GUARD_SIZE = 64  # primary-key hashes (shared.tokens.key_hash, 40 bits) of the last records consumed


def query_fingerprint(entity: str, filter_expression: str | None) -> str:
    return fingerprint("appflow", entity, " ".join((filter_expression or "").split()))


@dataclass
class QueryToken:
    fp: str
    client_token: str | None = None
    guard: deque[str] = field(default_factory=lambda: deque(maxlen=GUARD_SIZE))
    emitted: int = 0

    def seen(self, key: str) -> bool:
        return key in self.guard

    def remember(self, key: str) -> None:
        self.guard.append(key)

    def encode(self) -> str:
        return encode_token({"f": self.fp, "c": self.client_token, "g": list(self.guard), "e": self.emitted})

    @classmethod
    def decode(cls, token: str | None, fp: str) -> QueryToken:
        if not token:
            return cls(fp)
        payload = decode_token(token, fp)
        guard: deque[str] = deque((str(g) for g in payload.get("g") or []), maxlen=GUARD_SIZE)
        client = payload.get("c")
        return cls(fp, str(client) if client else None, guard, int(payload.get("e") or 0))
