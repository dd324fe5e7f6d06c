"""AppFlow's ``nextToken``: the shared client's resumable token plus what this connector must remember.

* ``c``: the client's token (a position in the upstream read, possibly in the middle of a page);
* ``d``, ``dn`` (``pagination.duplicates`` drop or fail, the default with a primary key): the 64-bit key hashes
  of the run's last records consumed (up to ``shared.duplicates.TOKEN_KEYS``, base64url) and how many distinct
  records the run has consumed, so that a record the API returns again, here or in a later call, is found;
  ``dr``: how many of the last of those keys belong to records of the page the client token re-reads, taken
  already (a resume by key in the middle of a page, ``appflow_connector.records``);
* ``g`` (``duplicates: off``): an overlap guard, short hashes of the primary keys of the last 64 records consumed,
  so that when records inserted ahead of a positional cursor push already-read records onto the next page, they
  are not delivered twice in one run;
* ``e``: records emitted so far (for ``LIMIT``);
* ``f``: a fingerprint of the entity and filter, so a token is never replayed against another query.

Tokens are self-contained (no server-side state), small, and replayable: AppFlow may retry a page.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from shared.duplicates import decode_keys, encode_keys
from shared.errors import InvalidTokenError
from shared.tokens import decode_token, encode_token, fingerprint

log = logging.getLogger(__name__)

GUARD_SIZE = 64  # primary-key hashes (shared.tokens.key_hash, 40 bits) of the last records consumed


def query_fingerprint(entity: str, filter_expression: str | None) -> str:
    return fingerprint("appflow", entity, " ".join((filter_expression or "").split()))


@dataclass
class QueryToken:
    fp: str
    client_token: str | None = None
    guard: deque[str] = field(default_factory=lambda: deque(maxlen=GUARD_SIZE))
    emitted: int = 0
    keys: list[int] = field(default_factory=list)  # the run's most recent key hashes (shared.duplicates)
    distinct: int = 0  # distinct records the run has consumed
    resume: int = 0  # the last ``resume`` keys are records of the page the client token re-reads, taken already

    def seen(self, key: str) -> bool:
        return key in self.guard

    def remember(self, key: str) -> None:
        self.guard.append(key)

    def encode(self) -> str:
        payload: dict[str, Any] = {"f": self.fp, "c": self.client_token, "e": self.emitted}
        if self.guard:
            payload["g"] = list(self.guard)
        keys = self.keys
        while True:
            for key in ("d", "dn", "dr"):
                payload.pop(key, None)
            if keys:
                payload.update(d=encode_keys(keys), dn=self.distinct)
            if self.resume:
                payload["dr"] = self.resume
            try:
                return encode_token(payload)
            except InvalidTokenError:
                if not keys or len(keys) <= self.resume:  # the keys saying where to resume cannot be left out
                    raise
            # A long upstream token leaves less room: carry fewer (the most recent) keys, and say so.
            keys = keys[-max(len(keys) // 2, self.resume) :] if len(keys) > 1 else []
            log.warning("the nextToken carries only the run's last %d record keys (the token size limit)", len(keys))

    @classmethod
    def decode(cls, token: str | None, fp: str) -> QueryToken:
        if not token:
            return cls(fp)
        payload = decode_token(token, fp)
        guard: deque[str] = deque((str(g) for g in payload.get("g") or []), maxlen=GUARD_SIZE)
        client = payload.get("c")
        keys = decode_keys(payload["d"]) if isinstance(payload.get("d"), str) else []
        return cls(
            fp,
            str(client) if client else None,
            guard,
            int(payload.get("e") or 0),
            keys,
            int(payload.get("dn") or 0),
            min(int(payload.get("dr") or 0), len(keys)),
        )
