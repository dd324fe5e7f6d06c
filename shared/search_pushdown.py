"""LIKE pushdown, the API side: SQL LIKE patterns, and the search term that selects a superset of their rows.

A LIKE pattern (Trino's rules: ``%`` any run of characters, ``_`` exactly one, no escape character unless the
query names one with ``ESCAPE``) is split into literal text and wildcards. What a row must contain follows:

* ``prefix`` search: the literal text before the first wildcard (``'Acme%'`` -> ``Acme``);
* ``contains`` search: the longest literal run anywhere (``'%corp_ltd%'`` -> ``corp``);
* ``word`` search (a word of the field starts with the term): the first word of the literal prefix, cut at
  the first character that is not an ASCII letter or digit (``'Acme Co%'`` -> ``Acme``).

Each is shortened until the API can read it unambiguously (``shared.pushdown.param_text``: reserved
characters escaped or avoided, no edge white space) and kept only when at least ``min_length`` long. A
case-insensitive search receives only ASCII terms: the case folding of other text differs between systems
(a Greek final sigma, a Turkish dotted I), and a term folded differently would lose rows. The pattern itself
is always applied exactly by the connector; the search only narrows what the API sends.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.pushdown import param_text
from shared.spec.model import EntitySpec, SearchSpec

ANY = "%"
ONE = "_"
_REGEX_SPECIAL = set("\\.^$|?*+()[]{}-/")


class LikePatternError(ValueError):
    """A pattern Trino would refuse (an escape character followed by something other than % _ or itself)."""


@dataclass(frozen=True)
class LikePattern:
    """``parts``: literal runs (str) and wildcards (``ANY``/``ONE`` as one-item tuples), in order."""

    parts: tuple[str | tuple[str], ...]

    @property
    def literal_prefix(self) -> str:
        first = self.parts[0] if self.parts else ""
        return first if isinstance(first, str) else ""

    @property
    def literal_runs(self) -> list[str]:
        return [p for p in self.parts if isinstance(p, str) and p]

    def regex(self) -> str:
        """An anchored RE2 pattern matching exactly the strings LIKE matches (``%`` crosses newlines)."""
        out = ["(?s)^"]
        for p in self.parts:
            if isinstance(p, tuple):
                out.append(".*" if p[0] == ANY else ".")
            else:
                out.append("".join("\\" + ch if ch in _REGEX_SPECIAL else ch for ch in p))
        out.append("$")
        return "".join(out)


def parse_like(pattern: str, escape: str | None = None) -> LikePattern:
    if escape is not None and len(escape) != 1:
        raise LikePatternError(f"the LIKE escape must be one character, got {escape!r}")
    parts: list[str | tuple[str]] = []
    text: list[str] = []
    chars = iter(pattern)
    for ch in chars:
        if escape is not None and ch == escape:
            nxt = next(chars, None)
            if nxt not in (ANY, ONE, escape):
                raise LikePatternError(
                    f"LIKE pattern {pattern!r}: the escape character must be followed by %, _ or itself"
                )
            text.append(nxt)  # type: ignore[arg-type]
        elif ch in (ANY, ONE):
            if text:
                parts.append("".join(text))
                text = []
            parts.append((ch,))
        else:
            text.append(ch)
    if text:
        parts.append("".join(text))
    return LikePattern(tuple(parts))


def _word(prefix: str) -> str:
    end = 0
    while end < len(prefix) and prefix[end].isascii() and prefix[end].isalnum():
        end += 1
    return prefix[:end]


def _sendable(term: str, spec: SearchSpec, entity: EntitySpec, field: str, *, shrink_left: bool) -> str | None:
    """The longest piece of ``term`` the API can read (cut from the end, and from the start when allowed)."""
    f = entity.field(field)
    starts = range(len(term)) if shrink_left else range(1)
    best: str | None = None
    for start in starts:
        for end in range(len(term), start, -1):
            piece = term[start:end]
            if best is not None and len(piece) <= len(best):
                break
            if not spec.case_sensitive and not piece.isascii():
                continue
            if len(piece) >= spec.min_length and param_text(piece, spec.param, f) is not None:
                best = piece
                break
    return best


def search_term(entity: EntitySpec, field: str, spec: SearchSpec, pattern: LikePattern) -> str | None:
    """The term for ``spec`` whose results hold every row matching ``pattern``, or None if there is none."""
    if spec.match == "prefix":
        return _sendable(pattern.literal_prefix, spec, entity, field, shrink_left=False)
    if spec.match == "word":
        return _sendable(_word(pattern.literal_prefix), spec, entity, field, shrink_left=False)
    best: str | None = None
    for run in sorted(pattern.literal_runs, key=len, reverse=True):
        if best is not None and len(run) <= len(best):
            break
        found = _sendable(run, spec, entity, field, shrink_left=True)
        if found is not None and (best is None or len(found) > len(best)):
            best = found
    return best


@dataclass(frozen=True)
class SearchPlan:
    params: tuple[tuple[str, str], ...]
    notes: tuple[str, ...]


def plan_search(
    entity: EntitySpec, likes: list[tuple[str, LikePattern]], used: set[str] | frozenset[str] = frozenset()
) -> SearchPlan:
    """Search parameters for ANDed LIKEs: for each, the declared search whose term is longest, one per param."""
    params: list[tuple[str, str]] = []
    notes: list[str] = []
    taken = set(used)
    for field, pattern in likes:
        best: tuple[SearchSpec, str] | None = None
        for spec in entity.search.get(field, ()):
            if spec.param.param in taken:
                continue
            term = search_term(entity, field, spec, pattern)
            if term is not None and (best is None or len(term) > len(best[1])):
                best = (spec, term)
        if best is None:
            if field in entity.search:
                notes.append(f"LIKE on '{field}' not searched at the API: no term the API can read selects a superset")
            continue
        spec, term = best
        text = param_text(term, spec.param, entity.field(field))
        assert text is not None
        taken.add(spec.param.param)
        params.append((spec.param.param, text))
        notes.append(f"LIKE on '{field}' searched at the API: {spec.param.param}={text} ({spec.match}; superset)")
    return SearchPlan(tuple(params), tuple(notes))
