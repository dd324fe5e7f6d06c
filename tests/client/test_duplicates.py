"""shared.duplicates: exact key sets, the keys an AppFlow token carries, and the spec setting."""

from __future__ import annotations

import pytest

from appflow_connector.tokens import QueryToken
from shared.duplicates import (
    TOKEN_KEYS,
    DuplicateCheck,
    SeenKeys,
    decode_keys,
    duplicate_mode,
    encode_keys,
    raw_key_getter,
    stable_key,
)
from shared.errors import InvalidTokenError, PaginationError, SpecError
from shared.spec.loader import load_spec_text
from shared.tokens import MAX_TOKEN_CHARS
from tests.support.fake_saas import fake_spec_text


def _spec(pagination_extra: str = "", entity_extra: str = ""):
    text = fake_spec_text("http://127.0.0.1:9", "cursor", entity_extra=entity_extra)
    if pagination_extra:
        text = text.replace("page_size: 10}", f"page_size: 10, {pagination_extra}}}", 1)
    return load_spec_text(text)


def test_modes_default_to_drop_with_a_primary_key_and_follow_the_spec() -> None:
    spec = _spec()
    assert duplicate_mode(spec, spec.entity("items")) == "drop"
    for mode in ("fail", "off", "drop"):
        spec = _spec(f"duplicates: {mode}")
        assert duplicate_mode(spec, spec.entity("items")) == mode


def test_the_spec_refuses_an_unknown_mode() -> None:
    with pytest.raises(SpecError, match="duplicates.*must be one of drop, fail, off"):
        _spec("duplicates: maybe")


def test_keys_round_trip_through_a_token_and_a_bad_key_list_is_refused() -> None:
    keys = [stable_key([i]) for i in range(TOKEN_KEYS)]
    assert decode_keys(encode_keys(keys)) == keys
    with pytest.raises(InvalidTokenError, match="'d'"):
        decode_keys(encode_keys(keys[:3])[:-2])  # not a whole number of 8-byte keys
    with pytest.raises(InvalidTokenError, match="'d'"):
        decode_keys(encode_keys([*keys, 1]))


def test_a_full_token_window_fits_the_token_limit_and_resumes_exactly() -> None:
    """1,024 keys beside a long upstream token: within the 16,384-character limit, and decoded exactly."""
    token = QueryToken(
        "f" * 16, "sc1." + "x" * 2000, emitted=5, keys=[stable_key([i]) for i in range(5000)][-TOKEN_KEYS:]
    )
    token.distinct, token.resume = 5000, 3
    text = token.encode()
    assert len(text) <= MAX_TOKEN_CHARS
    back = QueryToken.decode(text, "f" * 16)
    assert (back.keys, back.distinct, back.resume, back.emitted) == (token.keys, 5000, 3, 5)


def test_a_huge_upstream_token_shrinks_the_window_but_never_the_resume_keys(caplog: pytest.LogCaptureFixture) -> None:
    keys = [stable_key([i]) for i in range(TOKEN_KEYS)]
    token = QueryToken("f" * 16, "sc1." + "".join(f"{i:x}" for i in range(2500)), keys=keys)
    token.resume = 10
    text = token.encode()
    assert len(text) <= MAX_TOKEN_CHARS
    back = QueryToken.decode(text, "f" * 16)
    assert 10 <= len(back.keys) < TOKEN_KEYS and back.keys == keys[-len(back.keys) :]
    assert "carries only the run's last" in caplog.text


def test_fail_names_entity_page_and_key_and_drop_counts() -> None:
    spec = _spec()
    entity = spec.entity("items")
    check = DuplicateCheck(entity, "drop", SeenKeys())
    getter = raw_key_getter(entity)
    assert getter is not None
    records = [{"id": 1}, {"id": 2}, {"id": 1}, {"id": None}, {"id": None}, {"id": 2}]
    kept = check.keep_new(records, getter, 3)
    assert kept == [{"id": 1}, {"id": 2}, {"id": None}, {"id": None}]  # a null key is never taken for a repeat
    assert check.dropped == 2
    failing = DuplicateCheck(entity, "fail", SeenKeys(), where="split")
    with pytest.raises(PaginationError, match=r"entity 'items', page 7: .*record id=5 again in the same split"):
        failing.keep_new([{"id": 5}, {"id": 6}, {"id": 5}], getter, 7)


def test_past_its_limit_a_key_set_forgets_new_keys_but_never_drops_a_new_record() -> None:
    spec = _spec()
    entity = spec.entity("items")
    getter = raw_key_getter(entity)
    assert getter is not None
    check = DuplicateCheck(entity, "drop", SeenKeys(limit=3))
    first = [{"id": i} for i in range(10)]
    assert check.keep_new(first, getter, 1) == first
    again = check.keep_new([{"id": 0}, {"id": 9}, {"id": 10}], getter, 2)
    assert again == [{"id": 9}, {"id": 10}]  # 0 is remembered and dropped; 9 was not remembered: kept
    assert check.seen.full
