"""The floor: every page of an entity over HTTP, JSON-decoded, and nothing else.

Standalone on purpose (stdlib + ``requests`` only): the peer's worker imports it inside the peer's own virtualenv,
so the floor, the peer and our client fetch exactly the same pages with the same HTTP stack.

The demo API's ``contacts`` use cursor pagination: ``GET /contacts?page_size=N&cursor=C`` answers
``{"results": [...], "meta": {"next_cursor": C'}}``; the last page has ``next_cursor: null``. Its ``accounts`` use
offset pagination: ``GET /accounts?offset=O&limit=N`` answers ``{"data": [...], "total": T, ...}``
(``iter_offset_pages``: one page at a time, as the peer reads).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import requests

API_KEY_HEADER = "X-API-Key"


def new_session(api_key: str) -> requests.Session:
    session = requests.Session()
    session.headers[API_KEY_HEADER] = api_key
    session.headers["Accept"] = "application/json"
    return session


def iter_pages(
    session: requests.Session, base_url: str, entity: str = "contacts", page_size: int = 500
) -> Iterator[list[dict[str, Any]]]:
    """Yield each page's records (decoded with ``json.loads`` of the body bytes, as our client does)."""
    cursor: str | None = None
    url = f"{base_url.rstrip('/')}/{entity}"
    while True:
        params: dict[str, Any] = {"page_size": page_size}
        if cursor:
            params["cursor"] = cursor
        response = session.get(url, params=params, timeout=120)
        response.raise_for_status()
        body = json.loads(response.content)
        yield body["results"]
        cursor = body["meta"]["next_cursor"]
        if not cursor:
            return


def iter_offset_pages(
    session: requests.Session, base_url: str, entity: str = "accounts", page_size: int = 500
) -> Iterator[list[dict[str, Any]]]:
    """Yield each page's records of an offset-paginated entity, one request at a time, until ``total`` is reached."""
    url = f"{base_url.rstrip('/')}/{entity}"
    offset = 0
    while True:
        response = session.get(url, params={"offset": offset, "limit": page_size}, timeout=120)
        response.raise_for_status()
        body = json.loads(response.content)
        records = body["data"]
        yield records
        offset += len(records)
        if not records or offset >= int(body["total"]):
            return


def read_all(session: requests.Session, base_url: str, entity: str = "contacts", page_size: int = 500) -> int:
    """The floor itself: fetch and decode every page; return the number of records."""
    return sum(len(page) for page in iter_pages(session, base_url, entity, page_size))
