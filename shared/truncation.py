"""A full page that gives no way to continue: a spec mistake until the spec says otherwise.

APIs cap page sizes and drop their continuation fields on the last page, so a read that finds no next cursor (or
link) on a page simply ends. When that page is *full* (the page size was reached) and it is the first page of the
read, the likeliest reason is a continuation path the API never writes (a typo, or the wrong nesting), and ending
would return the first page as if it were everything. So that case is an error naming the path looked up and what
the body holds there, unless the API said it is the end (an explicit null or empty value at the path, a
``has_more``/``done`` flag, a total already reached) or the spec declares ``on_missing_next: stop``. Later pages
need no check: the read got there through the same path, so the path is right and its absence is the end.
"""

from __future__ import annotations

import json
from typing import Any

from shared.errors import PaginationError
from shared.paths import parse_path

EXCERPT = 120
MAX_KEYS = 20


def summary(value: Any) -> str:
    """A short, secret-free-as-the-body description of a JSON value: keys of an object, length of a list."""
    if isinstance(value, dict):
        keys = list(value)
        more = f", ... ({len(keys)} keys)" if len(keys) > MAX_KEYS else ""
        return f"an object with keys {', '.join(map(str, keys[:MAX_KEYS])) or '(none)'}{more}"
    if isinstance(value, list):
        return f"a list of {len(value)} item(s)"
    text = json.dumps(value, default=str)
    return text if len(text) <= EXCERPT else text[:EXCERPT] + "..."


def describe_path(body: Any, path: str) -> tuple[bool, str]:
    """(whether every step of ``path`` exists, what the body holds there or at the deepest step that exists)."""
    current = body
    walked: list[str] = []
    for part in parse_path(path):
        if part == "*":
            break
        present = (
            isinstance(current, list) and part < len(current)
            if isinstance(part, int)
            else isinstance(current, dict) and part in current
        )
        if not present:
            where = "the body's top level" if not walked else f"'{'.'.join(walked)}'"
            return False, f"the body has no '{path}'; {where} is {summary(current)}"
        current = current[part]
        walked.append(f"[{part}]" if isinstance(part, int) else part)
    return True, f"'{path}' is {summary(current)}"


def refuse_truncation(what: str, detail: str, count: int, page_size: int) -> None:
    """Raise the error for a full first page without a way to continue (callers decide that it is one)."""
    raise PaginationError(
        f"the first page is full ({count} records for a page size of {page_size}) but gives no way to continue: "
        f"{what} ({detail}). Ending here could silently return only the first page, so the read stops: fix the "
        "path in the spec's pagination, or, if this API really omits it on its last page, declare "
        "'on_missing_next: stop' on the pagination"
    )


def must_check(state: Any, records: list[Any], page_size: int, options: dict[str, Any]) -> bool:
    """Whether a page without a next position is one that needs evidence of the end (see the module's doc)."""
    return state is None and len(records) >= page_size and options.get("on_missing_next", "error") != "stop"
