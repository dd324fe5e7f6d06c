"""Which host a URL really reaches: read the way the HTTP stack reads it, and refused when parsers disagree.

The origin check that keeps credentials on the configured API must judge the URL that requests and urllib3 will
connect to, not what the standard library thinks it says. They differ on backslashes (WHATWG treats ``\\`` like
``/``, urllib3 ends the authority there, ``urllib.parse`` does not: ``http://a:1\\@b:2/`` is ``a:1`` to the
connection and ``b:2`` to ``urlsplit``), on control characters (``urlsplit`` silently strips tabs and newlines),
and on user information. So a URL is first prepared exactly as requests prepares it, its origin is read from
that, and anything the parsers read differently, or that carries a backslash, a control character or
user information, is refused outright: no legitimate API link needs them.
"""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import urlsplit

import requests
from urllib3.util import parse_url

_AMBIGUOUS_CHARACTERS = re.compile(r"[\\\x00-\x1f\x7f]")


class Origin(NamedTuple):
    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


class UnsafeURLError(ValueError):
    """A URL whose target host cannot be told with certainty (the message says why)."""


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def origin(url: str) -> Origin:
    """Scheme, lower-case host and port (the scheme's default filled in), as ``urlsplit`` reads them.

    For URLs the configuration gives (a base URL, an allow-list entry); a URL that will be connected to goes
    through :func:`request_origin`."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return Origin(scheme, (parts.hostname or "").lower(), parts.port or _default_port(scheme))


def request_origin(url: str) -> Origin:
    """The origin requests will connect to for ``url``; :class:`UnsafeURLError` if that is in any doubt."""
    found = _AMBIGUOUS_CHARACTERS.search(url)
    if found:
        what = "a backslash" if found.group() == "\\" else f"the control character {found.group()!r}"
        raise UnsafeURLError(f"it contains {what}, which HTTP clients and URL parsers read differently")
    try:
        standard = urlsplit(url)
        _ = standard.port  # a malformed port raises here
    except ValueError as exc:
        raise UnsafeURLError(f"it is not a valid URL ({exc})") from None
    if standard.scheme.lower() not in ("http", "https") or not standard.hostname:
        raise UnsafeURLError("it is not an absolute http(s) URL")
    if "@" in standard.netloc:
        raise UnsafeURLError("it carries user information ('@' before the host), which hides the real host")
    prepared = requests.PreparedRequest()
    try:
        prepared.prepare_url(url, None)
    except requests.RequestException as exc:
        raise UnsafeURLError(f"it is not a URL requests can send ({type(exc).__name__})") from None
    assert prepared.url is not None
    sent = origin(prepared.url)
    stack = parse_url(prepared.url)
    stack_scheme = (stack.scheme or "").lower()
    stack_host = (stack.host or "").lower().strip("[]")
    readings = {
        origin(url),
        sent,
        Origin(stack_scheme, stack_host, stack.port or _default_port(stack_scheme)),
    }
    if len(readings) != 1:
        seen = ", ".join(sorted(str(r) for r in readings))
        raise UnsafeURLError(f"parsers disagree on its host ({seen})")
    return sent
