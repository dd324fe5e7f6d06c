"""The spec's ``sort`` and ``search`` declarations, the sort plan, and the LIKE search term's superset property."""

from __future__ import annotations

import functools

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from shared.errors import SpecError
from shared.search_pushdown import parse_like, search_term
from shared.sort_pushdown import SortKey, plan_sort
from shared.spec import load_spec, load_spec_text
from shared.spec.model import ParamSpec, SearchSpec, SourceSpec

BASE = """
version: 1
api: {name: t, base_url: "http://x", auth: {type: none}}
entities:
  - name: things
    path: /things
    fields: {id: int64, name: string, meta: json, at: {type: timestamp, nullable: false}}
"""


def _spec(extra: str) -> SourceSpec:
    return load_spec_text(BASE + extra)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("    sort: {param: s, fields: [nope]}\n", "sortable field 'nope' is not declared"),
        ("    sort: {param: s, fields: [meta]}\n", "cannot be sorted"),
        ("    sort: {param: s, fields: [id], nulls: middle}\n", "must be one of largest"),
        ("    sort: {param: s, fields: [id], asc: x, desc: x}\n", "one {field} placeholder"),
        ("    sort: {param: s, fields: [id], asc: '{field}', desc: '{field}'}\n", "asked for differently"),
        ("    sort: {param: s}\n", "missing required key 'fields'"),
        ("    search: {id: {param: q, match: prefix}}\n", "search applies to string fields"),
        ("    search: {name: {param: q, match: fuzzy}}\n", "must be one of prefix, contains, word"),
        ("    search: {nope: {param: q, match: prefix}}\n", "search on undeclared field 'nope'"),
        ("    search: {name: {param: q, match: prefix, min_length: 0}}\n", "min_length"),
    ],
)
def test_bad_declarations_are_refused_where_they_are(extra: str, message: str) -> None:
    with pytest.raises(SpecError, match="entities") as err:
        _spec(extra)
    assert message in str(err.value)


def test_the_demo_spec_declares_sort_and_search() -> None:
    accounts = load_spec("demo").entity("accounts")
    assert accounts.sort is not None and accounts.sort.join == "," and "name" in accounts.sort.fields
    assert [s.match for s in accounts.search["name"]] == ["prefix", "contains"]


def test_the_sort_plan_trusts_a_prefix_of_keys() -> None:
    e = load_spec("demo").entity("accounts")
    plan = plan_sort(e, [SortKey("employees", False, True), SortKey("name", True, False)])
    assert (plan.params, plan.trusted) == ((("sort", "-employees,name"),), 2)
    plan = plan_sort(e, [SortKey("name", True, True), SortKey("industry", True, False)])
    assert (plan.params, plan.trusted) == ((("sort", "name"),), 1)  # name is never null; industry unsortable
    assert "industry" in plan.why
    plan = plan_sort(e, [SortKey("employees", True, True)])
    assert plan.trusted == 0 and "NULLs first" in plan.why
    spec = _spec("    sort: {param: s, fields: [name, at], collation: case_insensitive}\n").entity("things")
    assert plan_sort(spec, [SortKey("name", True, False)]).trusted == 0  # text order not Athena's
    assert plan_sort(spec, [SortKey("at", False, False), SortKey("name", True, False)]).trusted == 1  # no join


# -- LIKE: the pattern, and the search term's superset property --------------------------------------------


def like_matches(value: str, pattern: str, escape: str | None) -> bool:
    tokens: list[tuple[str, str]] = []
    i = 0
    while i < len(pattern):
        if escape is not None and pattern[i] == escape:
            tokens.append(("lit", pattern[i + 1]))
            i += 2
            continue
        ch = pattern[i]
        tokens.append(("any", "") if ch == "%" else ("one", "") if ch == "_" else ("lit", ch))
        i += 1

    @functools.cache
    def match(v: int, t: int) -> bool:
        if t == len(tokens):
            return v == len(value)
        kind, ch = tokens[t]
        if kind == "any":
            return match(v, t + 1) or (v < len(value) and match(v + 1, t))
        return v < len(value) and (kind == "one" or value[v] == ch) and match(v + 1, t + 1)

    return match(0, 0)


ALPHABET = "aAbB É é%_!,* \nΣ\u03c3ς"  # Greek capital, small and final sigma
ENTITY = _spec("").entity("things")


def api_finds(value: str, match: str, case_sensitive: bool, term: str) -> bool:
    """What an API with this search does (case-insensitive: both sides lower-cased)."""
    if not case_sensitive:
        value, term = value.lower(), term.lower()
    if match == "prefix":
        return value.startswith(term)
    if match == "contains":
        return term in value
    words = "".join(ch if ch.isalnum() else " " for ch in value).split()
    return any(w.startswith(term) for w in words)


@settings(max_examples=600, deadline=None)
@example(value="aΣb", pattern="aΣ%", match="prefix", case_sensitive=False, reserved=None)  # final sigma
@given(
    value=st.text(ALPHABET, max_size=8),
    pattern=st.text(ALPHABET, max_size=6),
    match=st.sampled_from(["prefix", "contains", "word"]),
    case_sensitive=st.booleans(),
    reserved=st.sampled_from([None, "", ",*"]),
)
def test_the_search_term_finds_every_value_the_pattern_matches(
    value: str, pattern: str, match: str, case_sensitive: bool, reserved: str | None
) -> None:
    if pattern.count("!") and not _valid_escapes(pattern):
        return
    escape = "!" if "!" in pattern else None
    parsed = parse_like(pattern, escape)
    regex_hit = pc.match_substring_regex(pa.array([value]), pattern=parsed.regex())[0].as_py()
    assert regex_hit == like_matches(value, pattern, escape)
    spec = SearchSpec(ParamSpec("q", "raw", reserved=reserved), match, case_sensitive)
    term = search_term(ENTITY, "name", spec, parsed)
    if term is not None and like_matches(value, pattern, escape):
        assert api_finds(value, match, case_sensitive, term), (value, pattern, term)


def _valid_escapes(pattern: str) -> bool:
    i = 0
    while i < len(pattern):
        if pattern[i] == "!":
            if i + 1 >= len(pattern) or pattern[i + 1] not in "%_!":
                return False
            i += 2
        else:
            i += 1
    return True
