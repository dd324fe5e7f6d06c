"""Keep secrets out of logs and messages: a registry of known secret values and a logging filter.

The registry is process-wide on purpose: every logger in the process must see every credential loaded,
and a Lambda keeps the same process across invocations.
"""

from __future__ import annotations

import logging
import threading
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
_MIN_SECRET_LEN = 4
_secrets: set[str] = set()
_lock = threading.Lock()

SENSITIVE_PARAM_WORDS = ("key", "token", "secret", "password", "signature", "auth", "sig", "code")


def register_secret(value: object) -> None:
    """Remember a secret so it is masked in every later log line (installs the masking on first use)."""
    if isinstance(value, str) and len(value) >= _MIN_SECRET_LEN:
        with _lock:
            _secrets.add(value)
        install_redaction()


def redact(text: str) -> str:
    """Replace every registered secret (longest first) in ``text``."""
    if not _secrets or not text:
        return text
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def safe_url(url: str) -> str:
    """A URL fit for a message: query values of sensitive-looking parameters masked, userinfo dropped."""
    try:
        parts = urlsplit(url)
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
    except ValueError:  # malformed (a bad port, NFKC tricks): the part before any query, escaped
        shown = url.split("?", 1)[0][:200].encode("unicode_escape").decode("ascii")
        return redact(shown.rpartition("@")[2] if "@" in shown else shown)
    query = [
        (k, MASK if any(w in k.lower() for w in SENSITIVE_PARAM_WORDS) else v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return redact(urlunsplit((parts.scheme, netloc, parts.path, urlencode(query), "")))


_installed = False


def install_redaction() -> None:
    """Redact every log record at creation, whichever logger, handler or formatter later sees it.

    A record factory (rather than a handler filter) also covers handlers added after this call and
    records propagated from library loggers such as urllib3's, which log request URLs.
    """
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if _secrets:
            try:
                message = record.getMessage()
            except (TypeError, ValueError):
                return record
            cleaned = redact(message)
            if cleaned != message:
                record.msg, record.args = cleaned, None
        return record

    logging.setLogRecordFactory(factory)
