"""No silent truncation: a full first page that gives no way to continue fails the read, naming the path looked up
and what the body holds there, unless the spec says the API may end that way (``on_missing_next: stop``); a wrong
records path lists where the lists of objects are; configuration mistakes fail at once, without retries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.client import SaaSClient
from shared.errors import ConfigError, PaginationError, SaaSResponseError, SpecError
from shared.spec import load_spec_text
from tests.cli.conftest import run_main
from tests.support.clock import FakeClock
from tests.support.fake_saas import API_KEY, HEADER_KEY_AUTH, FakeSaaS, make_records, serve

SPEC = """
version: 1
api:
  name: fake
  base_url: {base}
  auth: {auth}
  retry: {{max_attempts: 4, base_delay_s: 0.1, max_delay_s: 1}}
  pagination: {pagination}
entities:
  - name: items
    path: /items
    records: {records}
    primary_key: [id]
    fields:
      id: {{type: int64, nullable: false}}
      name: string
"""

WRONG = {  # (server style, a pagination whose continuation path the server never writes, what the error names)
    "cursor": ("cursor", "{type: cursor, cursor_path: meta.next_cursor, cursor_param: after, size_param: limit}",
               ["'meta.next_cursor'", "'meta' is an object with keys next"]),
    "cursor_top": ("cursor", "{type: cursor, cursor_path: next, cursor_param: after, size_param: limit}",
                   ["'next'", "top level is an object with keys data, meta"]),
    "next_url": ("next_url", "{type: next_url, next_url_path: links.nxt, size_param: limit}",
                 ["'links.nxt'", "'links' is an object with keys next"]),
    "header_cursor": ("header_cursor", "{type: header_cursor, header: X-Next-Cursor, cursor_param: after, "
                      "size_param: limit}", ["'X-Next-Cursor'", "X-Next"]),
    "link_header": ("link_header", "{type: link_header, rel: following, size_param: limit}",
                    ['rel="following"', 'rel="next"']),
}  # fmt: skip


def client(base: str, pagination: str, records: str = "data") -> SaaSClient:
    text = SPEC.format(base=base, auth=HEADER_KEY_AUTH, pagination=pagination, records=records)
    return SaaSClient(load_spec_text(text, source="t.yaml"), {"api_key": API_KEY}, clock=FakeClock())


@pytest.mark.parametrize("case", sorted(WRONG))
def test_a_continuation_path_the_api_never_writes_fails_loudly(case: str) -> None:
    style, pagination, named = WRONG[case]
    app = FakeSaaS(make_records(25), style=style)
    with serve(app) as base:
        c = client(base, pagination)
        with pytest.raises(PaginationError) as info:
            list(c.iter_records(c.plan("items"), page_size=10))
        text = str(info.value)
        assert "entity 'items', page 1" in text and "first page is full (10 records" in text, text
        for part in named:
            assert part in text, text
        assert "on_missing_next: stop" in text
        # declaring that the API may end a full page that way reads the first page only, as asked
        stop = pagination[:-1] + ", on_missing_next: stop}"
        c = client(base, stop)
        assert [r["id"] for r in c.iter_records(c.plan("items"), page_size=10)] == list(range(1, 11))


@pytest.mark.parametrize("case", sorted(WRONG))
def test_a_short_page_without_a_continuation_ends_the_read(case: str) -> None:
    """Only a full page is suspicious: 7 records with a page size of 10 are all there is."""
    style, pagination, _ = WRONG[case]
    with serve(FakeSaaS(make_records(7), style=style)) as base:
        c = client(base, pagination)
        assert [r["id"] for r in c.iter_records(c.plan("items"), page_size=10)] == list(range(1, 8))


def test_an_explicit_null_cursor_on_a_full_page_is_the_end() -> None:
    """The fake writes ``meta.next: null`` on its last page: the API said so, so 10 of 10 records is right."""
    with serve(FakeSaaS(make_records(10), style="cursor")) as base:
        c = client(base, "{type: cursor, cursor_path: meta.next, cursor_param: after, size_param: limit}")
        assert len(list(c.iter_records(c.plan("items"), page_size=10))) == 10


def test_the_silent_truncation_of_the_issue_now_fails_the_read_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A typo in cursor_path read 1,000 of 2,500 records with exit 0; now `read` exits non-zero and says why."""
    with serve(FakeSaaS(make_records(2500), style="cursor")) as base:
        spec = tmp_path / "api.yaml"
        pagination = "{type: cursor, cursor_path: meta.nxt, cursor_param: after, size_param: limit, page_size: 1000}"
        spec.write_text(SPEC.format(base=base, auth=HEADER_KEY_AUTH, pagination=pagination, records="data"))
        monkeypatch.setenv("SAAS_API_KEY", API_KEY)
        run = run_main(["read", "items", "--spec", str(spec)], capsys)
    assert run.code != 0
    assert "'meta.nxt'" in run.err and "keys next" in run.err, run.err


def test_a_wrong_records_path_lists_the_lists_of_objects_first() -> None:
    with serve(FakeSaaS(make_records(3), style="cursor")) as base:
        c = client(base, "{type: cursor, cursor_path: meta.next, cursor_param: after}", records="items")
        with pytest.raises(SaaSResponseError) as info:
            list(c.iter_records(c.plan("items")))
    text = str(info.value)
    assert "lists of objects at 'data' (3)" in text and "other keys: meta" in text, text


def test_cursor_settings_are_validated_where_they_are() -> None:
    bad = SPEC.format(
        base="http://127.0.0.1:1",
        auth="{type: none}",
        pagination="{type: cursor, cursor_param: after, on_missing_next: maybe}",
        records="data",
    )
    with pytest.raises(SpecError) as info:
        load_spec_text(bad, source="t.yaml")
    text = str(info.value)
    assert "line 8: api.pagination.on_missing_next: must be 'error'" in text
    assert "exactly one of 'cursor_path'" in text


def test_https_against_a_plain_http_server_is_named_at_once() -> None:
    app = FakeSaaS(make_records(3), style="cursor")
    with serve(app) as base:
        clock = FakeClock()
        text = SPEC.format(base=base.replace("http://", "https://"), auth=HEADER_KEY_AUTH,
                           pagination="{type: none}", records="data")  # fmt: skip
        c = SaaSClient(load_spec_text(text, source="t.yaml"), {"api_key": API_KEY}, clock=clock)
        with pytest.raises(ConfigError) as info:
            list(c.iter_records(c.plan("items")))
    assert "plain HTTP" in str(info.value) and "https" in str(info.value)
    assert clock.sleeps == [], "a configuration error is not retried"
    assert json.dumps(str(info.value)).count(API_KEY) == 0
