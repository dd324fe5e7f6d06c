"""Validation of how a cursor or link paginator knows a page is the last (``shared.truncation`` enforces it).

Kept out of the loader, which is long enough: the loader calls :func:`check_continuation` with its problem sink.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

CONTINUATION_OPTIONS = frozenset({"on_missing_next"})
PATH_OPTIONS = ("cursor_from_record", "done_path")
ON_MISSING_NEXT = ("error", "stop")


def check_continuation(
    kind: str, options: dict[str, Any], path: tuple[Any, ...], add: Callable[[tuple[Any, ...], str], None]
) -> None:
    """Problems with a pagination's end-of-data settings, each added at its location."""
    value = options.get("on_missing_next")
    if value is not None and value not in ON_MISSING_NEXT:
        add(
            (*path, "on_missing_next"),
            f"must be 'error' (a full first page without a next cursor or link fails the read) or 'stop' (the API "
            f"may omit it on a full last page), got {value!r}",
        )
    if kind == "cursor":
        given = [k for k in ("cursor_path", "cursor_from_record") if k in options]
        if len(given) != 1:
            add(
                path,
                "a cursor pagination needs exactly one of 'cursor_path' (the next cursor's place in the body) or "
                "'cursor_from_record' (a path inside the page's last record, e.g. 'id' for starting_after)"
                + (f"; got both {given[0]} and {given[1]}" if len(given) == 2 else ""),
            )
    if "has_more_path" in options and "done_path" in options and kind in ("cursor", "next_url"):
        add(path, "declare either has_more_path (true: more pages follow) or done_path (true: the last page), not both")
