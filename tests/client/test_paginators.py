"""Every paginator over real HTTP: complete reads, resuming from a token in a fresh client, mid-page
resume, loop guards and page-size caps."""

from __future__ import annotations

import pytest

from shared.client import SaaSClient
from shared.errors import PaginationError
from shared.spec import load_spec_text
from tests.support.clock import FakeClock
from tests.support.fake_saas import (
    API_KEY,
    PAGINATION,
    SERVER_STYLE,
    FakeSaaS,
    fake_spec_text,
    make_records,
    serve,
)

STYLES = sorted(PAGINATION)


def client_for(base: str, pagination: str, **kwargs: object) -> SaaSClient:
    spec = load_spec_text(fake_spec_text(base, pagination), source="fake.yaml")
    return SaaSClient(spec, {"api_key": API_KEY}, clock=FakeClock(), **kwargs)


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("count", [0, 1, 10, 37])
def test_reads_every_record_exactly_once(style: str, count: int) -> None:
    records = make_records(count)
    app = FakeSaaS(records, style=SERVER_STYLE.get(style, style))
    with serve(app) as base:
        client = client_for(base, style)
        got = [r["id"] for r in client.iter_records(client.plan("items"))]
    assert got == [r["id"] for r in records]


@pytest.mark.parametrize("style", [s for s in STYLES if s != "none"])
def test_a_fresh_client_resumes_from_the_token(style: str) -> None:
    records = make_records(45)
    app = FakeSaaS(records, style=SERVER_STYLE.get(style, style))
    with serve(app) as base:
        ids: list[int] = []
        token = None
        pages = 0
        while True:
            client = client_for(base, style)  # a new Lambda each time: only the token survives
            page = client.fetch_page(client.plan("items"), token)
            ids.extend(r["id"] for r in page.records)
            pages += 1
            token = page.next_token
            if token is None:
                break
    assert ids == list(range(1, 46))
    assert pages >= 5


@pytest.mark.parametrize("style", [s for s in STYLES if s != "none"])
def test_mid_page_resume_neither_skips_nor_repeats(style: str) -> None:
    records = make_records(33)
    app = FakeSaaS(records, style=SERVER_STYLE.get(style, style))
    with serve(app) as base:
        ids: list[int] = []
        token = None
        take = 3
        while True:
            client = client_for(base, style)
            page = client.fetch_page(client.plan("items"), token)
            ids.extend(r["id"] for r in page.records[:take])
            token = page.token_after(take)
            take = take % 7 + 2
            if token is None:
                break
    assert ids == list(range(1, 34))


def test_page_size_is_capped_by_the_server_without_losing_records() -> None:
    # The server silently returns 4 records whatever we ask; with no total, a short page is not the end.
    records = make_records(25)
    app = FakeSaaS(records, style="offset", max_page_size=4, total=False)
    with serve(app) as base:
        client = client_for(base, "offset_no_total")
        got = [r["id"] for r in client.iter_records(client.plan("items"))]
    assert got == list(range(1, 26))


def test_a_repeated_cursor_is_a_loop_error_not_an_endless_read() -> None:
    app = FakeSaaS(make_records(50), style="cursor", repeat_token=True)
    with serve(app) as base:
        client = client_for(base, "cursor")
        with pytest.raises(PaginationError, match="already returned|same page twice"):
            list(client.iter_records(client.plan("items")))


@pytest.mark.parametrize("style", ["next_url", "link_header"])
def test_a_next_link_to_another_host_is_refused(style: str) -> None:
    app = FakeSaaS(make_records(30), style=style, foreign_next=True)
    with serve(app) as base:
        client = client_for(base, style)
        with pytest.raises(PaginationError, match="evil.invalid") as err:
            list(client.iter_records(client.plan("items")))
    assert err.value.entity == "items"
    assert err.value.page == 1
    assert API_KEY not in str(err.value)
    assert len(app.requests) == 1  # nothing was sent to the other host, and nothing more to ours


def test_limit_stops_early() -> None:
    app = FakeSaaS(make_records(100), style="offset")
    with serve(app) as base:
        client = client_for(base, "offset")
        got = list(client.iter_records(client.plan("items"), limit=15))
    assert [r["id"] for r in got] == list(range(1, 16))
    assert len(app.requests) == 2


def test_an_api_that_ignores_the_offset_is_stopped_not_read_forever() -> None:
    app = FakeSaaS(make_records(5), style="none")  # answers the same page whatever offset we send
    with serve(app) as base:
        client = client_for(base, "offset_no_total")
        with pytest.raises(PaginationError, match="same page twice"):
            list(client.iter_records(client.plan("items")))
    assert len(app.requests) == 2


def _read_with_inserts_after_first_page(shift: int, page_size: int = 200) -> tuple[list[int], int]:
    """Offset pages of ``page_size``; after the first page, ``shift`` new records are inserted ahead of the
    cursor, so the second page starts with the first page's last ``shift`` records again."""
    records = make_records(1000)
    app = FakeSaaS(records, style="offset")
    with serve(app) as base:
        text = fake_spec_text(base, "offset_no_total").replace("page_size: 10", f"page_size: {page_size}")
        client = SaaSClient(load_spec_text(text, source="fake.yaml"), {"api_key": API_KEY}, clock=FakeClock())
        plan = client.plan("items")
        first = client.fetch_page(plan)
        inserted = [{**r, "id": 10_000 + r["id"]} for r in make_records(shift)]
        app.records = inserted + app.records
        ids = [r["id"] for r in first.records]
        token = first.next_token
        while token is not None:
            page = client.fetch_page(plan, token)
            ids.extend(r["id"] for r in page.records)
            token = page.next_token
        return ids, len(app.requests)


@pytest.mark.parametrize("shift", [1, 37, 63, 64])
def test_records_pushed_onto_the_next_page_are_delivered_once(shift: int) -> None:
    ids, _ = _read_with_inserts_after_first_page(shift)
    assert sorted(i for i in ids if i < 10_000) == list(range(1, 1001))
    assert len(ids) == len(set(ids))


def test_a_run_of_repeats_longer_than_the_guard_is_dropped_where_the_guard_remembers_it() -> None:
    """100 records pushed over: the guard remembers the last 64 delivered, so those are dropped (the run of repeats
    crosses the guard's window of the page and is followed); the 36 before them are beyond what it remembers."""
    ids, _ = _read_with_inserts_after_first_page(100)
    originals = [i for i in ids if i < 10_000]
    assert sorted(set(originals)) == list(range(1, 1001))
    repeated = sorted(i for i in set(originals) if originals.count(i) > 1)
    assert repeated == list(range(101, 137))
