"""Finding test secrets in captured output: log records (formatted, with their arguments, extras and tracebacks),
error messages and response bodies."""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Iterable

from tests.reliability import drivers


def known_secrets() -> set[str]:
    """The fixed test secrets plus every OAuth token any demo server of this process has issued."""
    found = {drivers.API_KEY, drivers.CLIENT_SECRET}
    found |= ISSUED
    return {s for s in found if s}


ISSUED: set[str] = set()  # access and refresh tokens seen by tests (added as they are issued)


def variants(secret: str) -> set[str]:
    """How a secret may appear: as is, URL-quoted, and inside an HTTP Basic header."""
    from urllib.parse import quote

    out = {secret, quote(secret, safe="")}
    out.add(base64.b64encode(f"{drivers.CLIENT_ID}:{secret}".encode()).decode())
    return out


def find_secrets(lines: Iterable[str], secrets: set[str]) -> list[str]:
    patterns = set().union(*(variants(s) for s in secrets)) if secrets else set()
    return [line for line in lines if any(p in line for p in patterns)]


class SuiteLogCapture(logging.Handler):
    """Keeps every record as text: the formatted message, the raw msg and args, extras and the traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self._lock2 = threading.Lock()
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:
            text = f"{record.msg!r} {record.args!r}"
        parts = [text, repr(record.msg), repr(record.args)]
        extra = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
        if extra:
            parts.append(repr(extra))
        with self._lock2:
            self.lines.append(" | ".join(parts))


_STANDARD = set(logging.LogRecord("x", 0, "x", 0, "", (), None).__dict__) | {"message", "asctime"}
