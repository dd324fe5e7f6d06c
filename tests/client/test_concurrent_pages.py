"""Pages fetched concurrently within one read (``SaaSClient.iter_pages(concurrency=K)``) against the fake API over
real HTTP: for every paginator the same records, order, page numbers and tokens (mid-page ones too) as the
sequential read; K requests at once only where the next requests are known in advance, one ahead elsewhere; a page
failing in flight retried or failing the read, never skipped; records inserted or deleted while pages are in
flight (and answered out of order) neither lost nor repeated."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from shared.client import Page, SaaSClient
from shared.errors import PaginationError, SaaSClientError
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
AT_ONCE = {"offset", "page_number_total"}  # the next requests are known and the API reports the total
WAIT_S = 10.0  # generous upper bound for "eventually"


def client_for(base: str, style: str, page_size: int = 10) -> SaaSClient:
    text = fake_spec_text(base, style).replace("page_size: 10", f"page_size: {page_size}")
    return SaaSClient(load_spec_text(text, source="fake.yaml"), {"api_key": API_KEY}, clock=FakeClock())


def snapshot(pages: Iterator[Page]) -> list[tuple[int, list[int], str | None, str | None]]:
    """Everything a caller can see of each page: its number, records, next token and a mid-page token."""
    return [(p.number, [r["id"] for r in p.records], p.next_token, p.token_after(3)) for p in pages]


def read_from(base: str, style: str, concurrency: int) -> list[Any]:
    """A whole read by a fresh client (next-link tokens hold the server's address: compare reads of one server)."""
    client = client_for(base, style)
    return snapshot(client.iter_pages(client.plan("items"), concurrency=concurrency))


def read(app: FakeSaaS, style: str, concurrency: int) -> list[Any]:
    with serve(app) as base:
        return read_from(base, style, concurrency)


def ids_of(pages: list[Any]) -> list[int]:
    return [i for _, page_ids, _, _ in pages for i in page_ids]


def app_for(style: str, records: list[dict[str, Any]], **kwargs: Any) -> FakeSaaS:
    return FakeSaaS(records, style=SERVER_STYLE.get(style, style), **kwargs)


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("count", [0, 1, 10, 37, 95])
@pytest.mark.parametrize("concurrency", [2, 4])
def test_a_concurrent_read_is_the_sequential_read(style: str, count: int, concurrency: int) -> None:
    records = make_records(count)
    with serve(app_for(style, records)) as base:
        sequential = read_from(base, style, 1)
        concurrent = read_from(base, style, concurrency)
    assert concurrent == sequential
    assert ids_of(concurrent) == [r["id"] for r in records]


@pytest.mark.parametrize("style", [s for s in STYLES if s != "none"])
def test_a_concurrent_read_resumes_from_a_token_like_a_sequential_one(style: str) -> None:
    with serve(app_for(style, make_records(63))) as base:
        client = client_for(base, style)
        plan = client.plan("items")
        pages = list(client.iter_pages(plan))
        token = pages[1].token_after(4)  # mid-page, as AppFlow's nextToken may be
        sequential = snapshot(client.iter_pages(plan, token=token))
        concurrent = snapshot(client_for(base, style).iter_pages(plan, token=token, concurrency=4))
    assert concurrent == sequential
    assert [i for _, ids, _, _ in concurrent for i in ids] == list(range(15, 64))


@pytest.mark.parametrize("style", [s for s in STYLES if s != "none"])
def test_k_requests_at_once_only_where_the_next_requests_are_known(style: str) -> None:
    app = app_for(style, make_records(95), delay_s=0.05)
    with serve(app) as base:
        client = client_for(base, style)
        pages = list(client.iter_pages(client.plan("items"), concurrency=4))
    assert app.max_active == (4 if style in AT_ONCE else 1)
    # Never a request past the end: pages beyond the API's total are not guessed, the page after the last not asked.
    assert len(app.requests) == len(pages)


@pytest.mark.parametrize("count", [0, 1, 15])
def test_a_short_read_sends_nothing_past_its_end(count: int) -> None:
    """The first page is read alone: it tells the total, and nothing is asked past it."""
    app = FakeSaaS(make_records(count), style="offset")
    with serve(app) as base:
        got = read_from(base, "offset", 4)
        assert got == read_from(base, "offset", 1)
    assert ids_of(got) == list(range(1, count + 1))
    assert len(app.requests) == 2 * len(got)


@pytest.mark.parametrize("style", [s for s in STYLES if s not in AT_ONCE | {"none"}])
def test_the_next_page_is_fetched_while_the_caller_works_on_this_one(style: str) -> None:
    """Without a read ahead, waiting for the next request before asking for the next page would never end."""
    app = app_for(style, make_records(40))
    with serve(app) as base:
        expected = read_from(base, style, 1)
        app.requests.clear()
        client = client_for(base, style)
        pages = client.iter_pages(client.plan("items"), concurrency=2)
        seen = 0
        for page in pages:
            seen += 1
            if page.next_token is None:
                break
            end = time.monotonic() + WAIT_S
            while len(app.requests) <= seen:
                assert time.monotonic() < end, f"page {seen + 1} was not requested while page {seen} was in hand"
                time.sleep(0.005)
    assert seen == len(expected)


@pytest.mark.parametrize("style", [s for s in STYLES if s != "none"])
@pytest.mark.parametrize("fault", ["500", "503", "truncate", "malformed"])
@pytest.mark.parametrize("request_number", [1, 3, 5])
def test_a_page_failing_in_flight_is_retried(style: str, fault: str, request_number: int) -> None:
    app = app_for(style, make_records(95), delay_s=0.01)
    with serve(app) as base:
        expected = read_from(base, style, 1)
        app.faults = {len(app.requests) + request_number: fault}
        before = len(app.requests)
        assert read_from(base, style, 4) == expected
    assert len(app.requests) - before == len(expected) + 1  # the failed request, then the same one again


@pytest.mark.parametrize("style", [s for s in STYLES if s != "none"])
@pytest.mark.parametrize("request_number", [1, 3, 5])
def test_a_page_refused_in_flight_fails_the_read_and_nothing_after_it_is_delivered(
    style: str, request_number: int
) -> None:
    app = app_for(style, make_records(95), delay_s=0.01)
    got: list[Any] = []
    with serve(app) as base:
        expected = read_from(base, style, 1)
        app.faults = {len(app.requests) + request_number: "400"}
        client = client_for(base, style)
        with pytest.raises(SaaSClientError) as err:
            for page in client.iter_pages(client.plan("items"), concurrency=4):
                got.append(page)
    assert err.value.status == 400
    # The pages delivered are the read's first ones, in order: the refused one is not skipped, and none after it
    # is delivered (which page got request number N depends on the order the requests went out in).
    assert snapshot(iter(got)) == expected[: len(got)]
    assert len(got) < len(expected)


@dataclasses.dataclass
class Reordering(FakeSaaS):
    """Answers page 1 first, page 2 late (after ``hold_s``) and changes the data right after answering page 3, so
    pages sent together are answered out of order around a change: page 3 from before it, page 2 from after it."""

    hold_s: float = 0.3
    change: Any = None
    changed: bool = False
    first_answered: threading.Event = dataclasses.field(default_factory=threading.Event)

    def _page(self, request: Request) -> Response:
        size = int(request.args.get("limit", request.args.get("per_page", 10)))
        position = int(request.args["offset"]) // size + 1 if "offset" in request.args else int(request.args["page"])
        if position != 1:
            assert self.first_answered.wait(WAIT_S)
        if position == 2:
            time.sleep(self.hold_s)
        response = super()._page(request)
        if position == 1:
            self.first_answered.set()
        if position == 3 and not self.changed:
            self.changed = True
            self.records = self.change(self.records)
        return response


def _inserted(shift: int) -> Any:
    return lambda rows: [{**r, "id": 10_000 + r["id"]} for r in make_records(shift)] + rows


@pytest.mark.parametrize("style", sorted(AT_ONCE))
@pytest.mark.parametrize("shift", [1, 4, 9])
def test_records_inserted_while_pages_are_in_flight_are_not_lost_or_repeated(style: str, shift: int) -> None:
    """Records inserted ahead of the read push later records onto the next page: read one at a time, the overlap
    guard drops the repeats. With page 3 answered before the insert and page 2 after it, page 3's records are from
    an older result set than page 2's; the totals tell, and page 3 is asked again after page 2 (a page-number read
    would otherwise stop with 'records were deleted', and an offset read would go back and read again)."""
    records = make_records(95)
    app = Reordering(records, style=SERVER_STYLE.get(style, style), change=_inserted(shift))
    assert ids_of(read(app, style, 4)) == list(range(1, 96))
    assert app.changed


@pytest.mark.parametrize("deleted", [1, 3, 9])
def test_records_deleted_while_offset_pages_are_in_flight_are_not_lost_or_repeated(deleted: int) -> None:
    """Deleting records already read pulls later ones onto earlier offsets: the offset read notices the smaller total
    and goes back that many records (the overlap guard drops what it reads twice), as the sequential read does."""
    app = Reordering(make_records(95), style="offset", change=lambda rows: rows[deleted:])
    assert ids_of(read(app, "offset", 4)) == list(range(1, 96))
    sequential_app = Reordering(make_records(95), style="offset", change=lambda rows: rows[deleted:])
    assert ids_of(read(sequential_app, "offset", 1)) == list(range(1, 96))


def test_a_shrinking_page_number_read_fails_the_same_way_concurrently() -> None:
    def outcome(concurrency: int) -> str:
        app = Reordering(make_records(95), style="page_number", change=lambda rows: rows[3:], hold_s=0.0)
        with pytest.raises(PaginationError) as err:
            read(app, "page_number_total", concurrency)
        return str(err.value)

    # Which page notices depends on the order the pages were answered in; that the read stops does not.
    assert "records were deleted" in outcome(1)
    assert "records were deleted" in outcome(4)


@pytest.mark.parametrize("style", ["offset_no_total", "offset", "page_number_total"])
def test_an_api_that_ignores_the_position_is_stopped_with_concurrency(style: str) -> None:
    app = FakeSaaS(make_records(5), style="none")  # the same page whatever is asked
    with serve(app) as base:
        client = client_for(base, style)
        with pytest.raises(PaginationError, match="same page twice"):
            list(client.iter_pages(client.plan("items"), concurrency=4))


def test_a_repeated_cursor_is_a_loop_error_with_concurrency() -> None:
    app = FakeSaaS(make_records(50), style="cursor", repeat_token=True)
    with serve(app) as base:
        client = client_for(base, "cursor")
        with pytest.raises(PaginationError, match="already returned|same page twice"):
            list(client.iter_pages(client.plan("items"), concurrency=4))


def test_a_server_that_caps_the_page_size_is_read_exactly_and_then_predicted_right() -> None:
    """The API serves 4 records where 10 are asked: the requests sent ahead ask for the positions the API's own
    page size leads to."""
    app = FakeSaaS(make_records(95), style="offset", max_page_size=4)
    with serve(app) as base:
        got = read_from(base, "offset", 4)
        requests = len(app.requests)
        assert got == read_from(base, "offset", 1)
    assert ids_of(got) == list(range(1, 96))
    assert requests == len(got)


def test_stopping_early_leaves_at_most_k_requests_behind() -> None:
    app = FakeSaaS(make_records(500), style="offset", delay_s=0.02)
    with serve(app) as base:
        client = client_for(base, "offset")
        pages = client.iter_pages(client.plan("items"), concurrency=4)
        first = [next(pages) for _ in range(3)]
        pages.close()
        time.sleep(0.2)
    assert [p.number for p in first] == [1, 2, 3]
    assert len(app.requests) <= 3 + 4


def test_requests_in_flight_together_refresh_an_expired_oauth_token_once() -> None:
    """Four requests sent with a token the API has just revoked all meet a 401: one new token serves them all
    (one per thread would revoke the others' at an API that keeps one token per client)."""
    from tests.client.test_auth import AuthAPI, oauth_client

    app = AuthAPI()
    with serve(app) as base:
        client = oauth_client(base)
        plan = client.plan("items")
        client.fetch_page(plan)
        app.revoke()
        barrier = threading.Barrier(4)
        results: list[Any] = []

        def fetch() -> None:
            barrier.wait()
            results.append([r["id"] for r in client.fetch_page(plan).records])

        threads = [threading.Thread(target=fetch) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(WAIT_S)
    assert results == [[1, 2]] * 4
    assert len(app.token_calls) == 2  # the first token, then one replacement
