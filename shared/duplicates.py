"""Records read twice in one read, found by primary key: dropped, refused, or let through as the spec says.

The client's overlap guard (``shared.client``) drops the repeats that positional paging produces at a page
boundary; an API can also repeat a record in the middle of a page, or one from pages back (a cursor over a
moving sort key, a buggy backend). This module finds those over the whole read:

* **Athena** (one split = one invocation): every key read so far, in memory, as 64-bit hashes
  (:func:`process_key`: Python's hash of the key tuple; exact for integer keys below 2**61, SipHash for strings).
* **AppFlow** (a run = QueryData calls chained by nextToken, each its own invocation): the keys of this call in
  memory, plus the last :data:`TOKEN_KEYS` keys of the run carried in the nextToken (:func:`encode_keys`, 8 bytes
  a key) as stable 64-bit hashes (:func:`stable_key`: BLAKE2b of the key's JSON text). Detection is exact for the
  whole run while it has read at most :data:`TOKEN_KEYS` distinct records; past that, a repeat is found when it
  is in the same call or among the run's last :data:`TOKEN_KEYS` records, and the run says so once in its log.

Both are exact sets of hashes, never a probabilistic filter: a false positive would drop a real record. Two keys
collide with odds 2**-64 per pair; over a read of n records that is about n**2 / 2**65 (1M records: 3e-8); a
record is dropped only when its key equals one actually read. What cannot be kept does not turn into a guess:
past :data:`MAX_KEYS` in one process, new keys are no longer remembered (still no false drop) and a warning says
from which record on detection is partial. A record whose key has a null value cannot be identified and is never
treated as a repeat.

Modes (``pagination.duplicates``): ``drop`` (the default where the entity declares a primary key) keeps the first
occurrence and logs how many were dropped; ``fail`` stops the read with a :class:`PaginationError` naming the
entity, page and key; ``off`` leaves only the overlap guard.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from shared.errors import InvalidTokenError, PaginationError
from shared.paths import compile_path
from shared.spec.model import EntitySpec, SourceSpec
from shared.tokens import key_text

log = logging.getLogger(__name__)

MODES = ("drop", "fail", "off")
TOKEN_KEYS = 1024  # keys an AppFlow nextToken carries: 8 bytes each, about 11,000 characters in the token at most
MAX_KEYS = 2_000_000  # keys one process remembers for one read (a Python set: about 80 bytes a key)
_KEY_SHOWN = 200  # characters of a key value shown in an error


def duplicate_mode(spec: SourceSpec, entity: EntitySpec) -> str:
    """The entity's ``pagination.duplicates``; by default ``drop`` with a primary key, else ``off``."""
    declared = spec.pagination_for(entity).duplicates
    if not entity.primary_key:
        return "off"  # the loader refuses drop/fail on the entity's own pagination without a primary key
    return declared or "drop"


def raw_key_getter(entity: EntitySpec) -> Callable[[dict[str, Any]], list[Any]] | None:
    """The primary key values of an API record (the fields' paths), or None without a primary key."""
    if not entity.primary_key:
        return None
    getters = [compile_path(entity.field(name).path) for name in entity.primary_key]
    if len(getters) == 1:
        only = getters[0]
        return lambda record: [only(record)]
    return lambda record: [get(record) for get in getters]


def stable_key(values: Sequence[Any]) -> int:
    """A 64-bit hash of key values, the same in every process (carried in AppFlow tokens)."""
    return int.from_bytes(hashlib.blake2b(key_text(list(values)).encode(), digest_size=8).digest(), "big")


def process_key(values: Sequence[Any]) -> int:
    """A 64-bit hash of key values for one process (Athena's split): Python's own, several times cheaper."""
    try:
        return hash(tuple(values))
    except TypeError:  # a list or object inside a key value
        return stable_key(values)


def encode_keys(keys: Iterable[int]) -> str:
    """Keys as unpadded base64url of 8-byte big-endian integers (random hashes do not compress)."""
    raw = b"".join(k.to_bytes(8, "big") for k in keys)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_keys(text: str) -> list[int]:
    """The keys :func:`encode_keys` wrote; a token whose key list is not that is refused."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidTokenError("the next token is corrupt: 'd' must be base64url key hashes") from None
    if len(raw) % 8 or len(raw) > 8 * TOKEN_KEYS:
        raise InvalidTokenError(f"the next token is corrupt: 'd' must hold at most {TOKEN_KEYS} 8-byte key hashes")
    return [int.from_bytes(raw[i : i + 8], "big") for i in range(0, len(raw), 8)]


class SeenKeys:
    """Key hashes read so far in one read: an exact set, and the most recent ones in order (for a token)."""

    def __init__(self, earlier: Iterable[int] = (), *, window: int = 0, limit: int = MAX_KEYS) -> None:
        ordered = list(earlier)
        self._set: set[int] = set(ordered)
        self._recent: deque[int] = deque(ordered if window else (), maxlen=window or None)
        self._window = window
        self.limit = limit
        self.full = False

    def __contains__(self, key: int) -> bool:
        return key in self._set

    def __len__(self) -> int:
        return len(self._set)

    def add(self, key: int) -> None:
        if self._window:
            self._recent.append(key)
        if len(self._set) < self.limit:
            self._set.add(key)
        else:
            self.full = True

    def recent(self) -> list[int]:
        return list(self._recent)


class DuplicateCheck:
    """One read's detection: :meth:`repeat` says whether a record was read before (or raises, in fail mode);
    :meth:`remember` records a key once the record is consumed (AppFlow may stop before a record it looked at)."""

    def __init__(self, entity: EntitySpec, mode: str, seen: SeenKeys, *, where: str = "read") -> None:
        self.entity = entity
        self.mode = mode
        self.seen = seen
        self.where = where
        self.dropped = 0
        self.remembered = 0
        self._warned_full = False

    def repeat(self, key: int | None, values: Sequence[Any], page: int) -> bool:
        """True when the record is a repeat to drop; raises :class:`PaginationError` in fail mode."""
        if key is None or key not in self.seen:
            return False
        if self.mode == "fail":
            shown = ", ".join(
                f"{name}={value!r}"[:_KEY_SHOWN] for name, value in zip(self.entity.primary_key, values, strict=False)
            )
            raise PaginationError(
                f"the API returned record {shown} again in the same {self.where} (duplicates: fail); stopping "
                "rather than delivering it twice (set pagination.duplicates to drop to keep the first occurrence)",
                entity=self.entity.name,
                page=page,
            )
        self.dropped += 1
        return True

    def remember(self, key: int | None) -> None:
        if key is not None:
            self.seen.add(key)
            self.remembered += 1
        if self.seen.full and not self._warned_full:
            self._warned_full = True
            log.warning(
                "entity %s: more than %d distinct records in one %s: records after these are no longer "
                "remembered, so a later repeat of one of them is not detected (none is dropped by mistake)",
                self.entity.name,
                self.seen.limit,
                self.where,
            )

    def keep_new(
        self, records: list[dict[str, Any]], key_values: Callable[[dict[str, Any]], list[Any]], page: int
    ) -> list[dict[str, Any]]:
        """``records`` without those read before in this read, each remembered: Athena's step per page. The
        steps of :meth:`repeat` and :meth:`remember` are written out: this runs for every row of a split."""
        kept: list[dict[str, Any]] = []
        seen = self.seen
        for record in records:
            values = key_values(record)
            if None in values:
                kept.append(record)
                continue
            key = process_key(values)
            if key in seen:
                self.repeat(key, values, page)
                continue
            seen.add(key)
            kept.append(record)
        if seen.full:
            self.remember(None)
        return kept

    def report(self) -> None:
        """One log line for what this read dropped (nothing silent)."""
        if self.dropped:
            log.warning(
                "entity %s: the API returned %d record(s) already read in this %s; dropped the repeats "
                "(pagination.duplicates: drop)",
                self.entity.name,
                self.dropped,
                self.where,
                extra={"duplicates_dropped": self.dropped},
            )
