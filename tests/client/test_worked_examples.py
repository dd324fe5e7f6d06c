"""The worked examples of docs/spec.md, read out of the document and run against local servers that page as
each API's public documentation says (tests/support/saas_shapes.py): every record exactly once, for record counts
around the page size (empty, one, a page less one, exact multiples, a remainder)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from shared.client import SaaSClient
from shared.errors import PaginationError
from shared.records import Extractor
from shared.spec import load_spec_text
from tests.support.fake_saas import serve
from tests.support.saas_shapes import TOKEN, ShapeServer, make_items

DOC = Path(__file__).resolve().parents[2] / "docs" / "spec.md"
EXAMPLE = re.compile(r"<!-- example: (\w+) -->\n```yaml\n(.*?)```", re.DOTALL)
SECRETS = {"api_key": TOKEN, "access_token": TOKEN, "token": TOKEN, "email": "me@example.com", "api_token": TOKEN}
PAGE = 7  # small pages, so every count below spans several


def examples() -> dict[str, str]:
    return dict(EXAMPLE.findall(DOC.read_text(encoding="utf-8")))


def client_for(text: str, base: str) -> SaaSClient:
    spec = load_spec_text(text, source="docs/spec.md")
    path = re.sub(r"^https?://[^/]+", "", spec.api.base_url)
    return SaaSClient(spec, SECRETS, base_url=base + path)


def number(record_id: object) -> int:
    found = re.search(r"(\d+)$", str(record_id))
    assert found, record_id
    return int(found.group(1))


def test_every_shape_has_an_example() -> None:
    assert sorted(examples()) == ["github", "hubspot", "jira", "salesforce", "stripe", "zendesk"]


@pytest.mark.parametrize("shape", ["github", "jira", "salesforce", "stripe", "zendesk", "hubspot"])
@pytest.mark.parametrize("count", [0, 1, PAGE - 1, PAGE + 1, 2 * PAGE, 3 * PAGE + 2, 130])
def test_each_example_reads_every_record_exactly_once(shape: str, count: int) -> None:
    text = examples()[shape]
    entity = yaml.safe_load(text)["entities"][0]["name"]
    app = ShapeServer(shape, make_items(count))
    with serve(app) as base:
        app.base = base
        client = client_for(text, base)
        key = Extractor(client.entity(entity), ["id"])
        got = [number(key.raw_row(r)["id"]) for r in client.iter_records(client.plan(entity), page_size=PAGE)]
    assert got == list(range(1, count + 1))
    if shape == "jira" and count == 130:
        # Jira caps maxResults at 50: asked for 100, the read still ends exactly at total
        app = ShapeServer(shape, make_items(count))
        with serve(app) as base:
            client = client_for(text, base)
            assert len(list(client.iter_records(client.plan(entity), page_size=100))) == 130
        assert len(app.requests) == 3


def test_hubspot_a_full_first_page_without_paging_is_refused_unless_declared() -> None:
    """HubSpot drops `paging` on its last page: on a full first page that looks exactly like a wrong path."""
    text = examples()["hubspot"]
    app = ShapeServer("hubspot", make_items(PAGE))
    with serve(app) as base:
        app.base = base
        client = client_for(text, base)
        with pytest.raises(PaginationError, match=r"no cursor at 'paging.next.after'.*top level is an object"):
            list(client.iter_records(client.plan("contacts"), page_size=PAGE))
        stop = text.replace("max_page_size: 100}", "max_page_size: 100, on_missing_next: stop}")
        client = client_for(stop, base)
        assert len(list(client.iter_records(client.plan("contacts"), page_size=PAGE))) == PAGE


def test_zendesk_repeats_the_last_second_and_the_read_drops_the_repeats() -> None:
    text = examples()["zendesk"]
    app = ShapeServer("zendesk", make_items(40))
    with serve(app) as base:
        app.base = base
        client = client_for(text, base)
        pages = list(client.iter_pages(client.plan("tickets"), page_size=PAGE))
    assert [number(r["id"]) for p in pages for r in p.records] == list(range(1, 41))
    assert "start_time=0" in app.requests[0]
    assert all("start_time=0" not in path for path in app.requests[1:])  # the cursor replaced the fixed value
