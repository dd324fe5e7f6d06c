"""Cheap deterministic randomness: a record's values are a pure function of (seed, stream, index).

``random.Random(seed)`` costs ~5 µs per seeding, too much per record at a million rows, so each record
instead gets a 64-byte BLAKE2b digest of (seed, stream, index) and draws values from its bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

_DIGEST = 64


class Stream:
    """A keyed family of digests: ``Stream(seed, "contacts").draws(17)`` is the same on every run."""

    __slots__ = ("_base",)

    def __init__(self, seed: int, name: str) -> None:
        self._base = hashlib.blake2b(f"{seed}:{name}".encode(), digest_size=_DIGEST)

    def digest(self, index: int) -> bytes:
        h = self._base.copy()
        h.update(index.to_bytes(16, "little", signed=True))
        return h.digest()

    def draws(self, index: int) -> Draws:
        return Draws(self.digest(index))


class Draws:
    """Reads successive values out of a digest, extending it by re-hashing when exhausted."""

    __slots__ = ("_buf", "_pos")

    def __init__(self, buf: bytes) -> None:
        self._buf = buf
        self._pos = 0

    def _take(self, n: int) -> int:
        p = self._pos
        end = p + n
        if end > len(self._buf):
            self._buf += hashlib.blake2b(self._buf[-_DIGEST:], digest_size=_DIGEST).digest()
        self._pos = end
        return int.from_bytes(self._buf[p:end], "little")

    def below(self, n: int) -> int:
        """An int in ``[0, n)``; ``n`` at most 2**32."""
        if n <= 256:
            return (self._take(1) * n) >> 8
        if n <= 65536:
            return (self._take(2) * n) >> 16
        return (self._take(4) * n) >> 32

    def between(self, lo: int, hi: int) -> int:
        """An int in ``[lo, hi]`` inclusive."""
        return lo + self.below(hi - lo + 1)

    def unit(self) -> float:
        """A float in ``[0, 1)`` with 16 bits of resolution."""
        return self._take(2) / 65536.0

    def chance(self, percent: int) -> bool:
        """True with probability ``percent``/100 (to within 1/256)."""
        return self._take(1) * 100 < percent * 256

    def pick(self, seq: Sequence[T]) -> T:
        return seq[self.below(len(seq))]

    def sample(self, seq: Sequence[T], k: int) -> list[T]:
        """``k`` distinct items of ``seq`` in draw order."""
        pool = list(seq)
        out: list[T] = []
        for _ in range(min(k, len(pool))):
            out.append(pool.pop(self.below(len(pool))))
        return out

    def digits(self, n: int) -> str:
        return "".join(str(self.below(10)) for _ in range(n))
