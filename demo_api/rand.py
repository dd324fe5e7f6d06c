"""Cheap deterministic randomness: a record's values are a pure function of (seed, stream, index).

``random.Random(seed)`` costs ~5 µs per seeding, too much per record at a million rows, so each record
instead gets a 64-byte BLAKE2b digest of (seed, stream, index) and draws values from its bytes.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

_DIGEST = 64
_WORDS = struct.Struct(f"<{_DIGEST // 2}H").unpack


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
        h = self._base.copy()
        h.update(index.to_bytes(16, "little", signed=True))
        return Draws(h.digest())


class Draws:
    """Reads successive 16-bit values out of a digest, extending it by re-hashing when exhausted."""

    __slots__ = ("_buf", "_it")

    def __init__(self, buf: bytes) -> None:
        self._buf = buf
        self._it = iter(_WORDS(buf))

    def _refill(self) -> int:
        self._buf = hashlib.blake2b(self._buf, digest_size=_DIGEST).digest()
        self._it = iter(_WORDS(self._buf))
        return next(self._it)

    def below(self, n: int) -> int:
        """An int in ``[0, n)``; ``n`` at most 2**32."""
        v = next(self._it, -1)
        if v < 0:
            v = self._refill()
        if n <= 65536:
            return (v * n) >> 16
        w = next(self._it, -1)
        if w < 0:
            w = self._refill()
        return (((v << 16) | w) * n) >> 32

    def between(self, lo: int, hi: int) -> int:
        """An int in ``[lo, hi]`` inclusive."""
        return lo + self.below(hi - lo + 1)

    def unit(self) -> float:
        """A float in ``[0, 1)`` with 16 bits of resolution."""
        v = next(self._it, -1)
        if v < 0:
            v = self._refill()
        return v / 65536.0

    def chance(self, percent: int) -> bool:
        """True with probability ``percent``/100."""
        v = next(self._it, -1)
        if v < 0:
            v = self._refill()
        return v * 100 < percent * 65536

    def pick(self, seq: Sequence[T]) -> T:
        v = next(self._it, -1)
        if v < 0:
            v = self._refill()
        return seq[(v * len(seq)) >> 16]

    def sample(self, seq: Sequence[T], k: int) -> list[T]:
        """``k`` distinct items of ``seq`` in draw order."""
        pool = list(seq)
        return [pool.pop(self.below(len(pool))) for _ in range(min(k, len(pool)))]

    def digits(self, n: int) -> str:
        """``n`` (at most 9) random decimal digits."""
        return f"{self.below(10**n):0{n}d}"
