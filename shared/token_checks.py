"""The shape of a resume token's payload, checked before any of it is used.

A token's fingerprint ties it to one query but is no secret (anyone can compute it), so a token's internals can
be forged: a skip of -5 would deliver the last five records of a page again, an offset of -1 or a page size of
10**9 would go to the API as they are, a string where a count belongs would fail deep in the client with a
bare ValueError. Every key the shared client (``shared.client``) and the AppFlow connector
(``appflow_connector.tokens``) write is listed here with the values it may hold; keys not listed are left to
their readers. A mismatch is an :class:`InvalidTokenError` naming the key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.errors import InvalidTokenError

MAX_COUNT = 10**12  # records, pages, offsets: far beyond any real read, small enough for every consumer
MAX_PAGE_SIZE = 1_000_000
MAX_LIST = 4096
MAX_TEXT = 16_384  # a token is at most 16,384 characters (shared.tokens.MAX_TOKEN_CHARS)


def _count(low: int, high: int = MAX_COUNT) -> Callable[[Any], bool]:
    return lambda v: type(v) is int and low <= v <= high


def _text(v: Any) -> bool:
    return isinstance(v, str) and len(v) <= MAX_TEXT


def _optional(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda v: v is None or check(v)


def _texts(v: Any) -> bool:
    return isinstance(v, list) and len(v) <= MAX_LIST and all(_text(x) for x in v)


def _objects(v: Any) -> bool:
    return isinstance(v, list) and len(v) <= MAX_COUNT and all(isinstance(x, dict) for x in v)


_PAGINATOR_STATE: dict[str, tuple[Callable[[Any], bool], str]] = {
    "o": (_count(0), "a non-negative offset"),
    "p": (_count(0), "a non-negative page number"),
    "c": (_text, "a cursor string"),
    "u": (_text, "a URL string"),
}


def _state(v: Any) -> bool:
    if v is None:
        return True
    if not isinstance(v, dict):
        return False
    return all(check(v[key]) for key, (check, _) in _PAGINATOR_STATE.items() if key in v)


def _parent_state(v: Any) -> bool:
    """``ps``: the parent walk of a child entity (its token ``t``, queued keys ``q``, current key ``c``)."""
    return (
        isinstance(v, dict)
        and _optional(_text)(v.get("t"))
        and _objects(v.get("q"))
        and _optional(lambda c: isinstance(c, dict))(v.get("c"))
        and isinstance(v.get("x"), bool)
    )


PAYLOAD_KEYS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "s": (_state, "null or a paginator state object (offset/page >= 0, cursor/URL strings)"),
    "n": (_count(1, MAX_PAGE_SIZE), f"a page size from 1 to {MAX_PAGE_SIZE}"),
    "k": (_count(0), "a non-negative number of records to skip"),
    "i": (_count(0), "a non-negative page index"),
    "h": (_texts, "a list of page hashes"),
    "g": (_texts, "a list of record key hashes"),
    "t": (_optional(_count(0)), "null or a non-negative total"),
    "rw": (_count(0), "a non-negative number of records gone back"),
    "lp": (_optional(_text), "null or a page hash"),
    "ps": (_parent_state, "a parent walk {t, q, c, x}"),
    "c": (_optional(_text), "null or the client's token"),
    "e": (_count(0), "a non-negative number of records emitted"),
}


def check_payload(payload: dict[str, Any]) -> None:
    """Raise InvalidTokenError for the first key whose value is not what this code writes there."""
    for key, (check, expected) in PAYLOAD_KEYS.items():
        if key in payload and not check(payload[key]):
            raise InvalidTokenError(f"the next token is corrupt: '{key}' must be {expected}")
