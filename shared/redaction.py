"""Keep secrets out of logs and messages: a registry of known secret values and a logging hook.

The registry is process-wide on purpose: every logger in the process must see every credential loaded,
and a Lambda keeps the same process across invocations.

A secret is masked in every form it takes on the wire (:func:`wire_forms`): as is, percent-encoded the ways
``quote`` and ``quote_plus`` (and so ``urlencode``, which requests uses for query strings) write it, in either
hex case, JSON-escaped, base64; an HTTP Basic pair also as the base64 of ``user:password``. Short-lived binary
secrets (per-split data keys) are kept in a bounded ring (:func:`register_data_key`), so a warm Lambda's
registry does not grow without end.

The hook runs when a log record is created, for every logger: the message, and a traceback (``exc_info``,
``stack_info``) when it holds a secret, are redacted there; DEBUG records of the AWS SDK (botocore, boto3,
s3transfer) keep their static text but never their arguments, which are request and response bodies that
carry secrets before anything could register them (Secrets Manager's ``SecretString``, KMS's ``Plaintext``).
"""

from __future__ import annotations

import base64
import collections
import json
import logging
import re
import threading
import traceback
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

MASK = "***"
WITHHELD = "<withheld>"
_MIN_SECRET_LEN = 4
_MAX_DATA_KEYS = 512
_secrets: set[str] = set()
_data_keys: collections.deque[tuple[str, ...]] = collections.deque(maxlen=_MAX_DATA_KEYS)
_lock = threading.Lock()
_PERCENT = re.compile(r"%[0-9A-F]{2}")
AWS_SDK_LOGGERS = ("botocore", "boto3", "s3transfer")

SENSITIVE_PARAM_WORDS = ("key", "token", "secret", "password", "signature", "auth", "sig", "code")


def wire_forms(value: str) -> set[str]:
    """``value`` and the encodings it takes in URLs, headers and JSON bodies."""
    forms = {value, quote(value, safe=""), quote(value), quote_plus(value), quote_plus(value, safe="/")}
    forms |= {_PERCENT.sub(lambda m: m.group(0).lower(), f) for f in list(forms)}
    forms.add(json.dumps(value)[1:-1])
    forms.add(json.dumps(value, ensure_ascii=False)[1:-1])
    raw = value.encode("utf-8")
    forms |= {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
    forms |= {f.rstrip("=") for f in list(forms) if f.endswith("=")}
    return {f for f in forms if len(f) >= _MIN_SECRET_LEN}


def register_secret(value: object) -> None:
    """Remember a secret so it is masked, in all its :func:`wire_forms`, in every later log line and message."""
    if isinstance(value, str) and len(value) >= _MIN_SECRET_LEN:
        forms = wire_forms(value)
        with _lock:
            if not forms <= _secrets:
                _secrets.update(forms)
                _changed()
        install_redaction()


def register_basic(username: str, password: str) -> None:
    """An HTTP Basic credential: the password, and the base64 of ``user:password`` the header carries."""
    register_secret(password)
    pair = f"{username}:{password}".encode("latin-1", errors="replace")
    with _lock:
        _secrets.add(base64.b64encode(pair).decode())
        _secrets.add(base64.b64encode(f"{username}:{password}".encode()).decode())
        _changed()
    install_redaction()


def register_data_key(key: bytes) -> None:
    """A plaintext data key (AES or KMS): its base64 and hex forms, in a bounded ring of recent keys."""
    if len(key) < 8:
        return
    forms = (
        base64.b64encode(key).decode(),
        base64.urlsafe_b64encode(key).decode(),
        key.hex(),
        key.hex().upper(),
        repr(key)[2:-1],
    )
    with _lock:
        _data_keys.append(forms)
        _changed()
    install_redaction()


_sorted: list[list[str]] = [[]]  # the forms, longest first; emptied (rebuilt on the next use) by every registration


def _known() -> list[str]:
    with _lock:
        if not _sorted[0]:
            _sorted[0] = sorted(_secrets.union(*_data_keys), key=len, reverse=True)
        return _sorted[0]


def _changed() -> None:
    """Call with ``_lock`` held, after the registry changed."""
    _sorted[0] = []


def redact(text: str) -> str:
    """Replace every registered secret form (longest first) in ``text``."""
    if not text or not (_secrets or _data_keys):
        return text
    for secret in _known():
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


def _from_aws_sdk(name: str) -> bool:
    return any(name == n or name.startswith(n + ".") for n in AWS_SDK_LOGGERS)


def scrub_record(record: logging.LogRecord) -> logging.LogRecord:
    """Make one log record safe to emit anywhere (see the module docstring)."""
    if record.levelno < logging.INFO and _from_aws_sdk(record.name):
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(WITHHELD for _ in args)
        elif not isinstance(record.msg, str) or "\n" in record.msg or len(record.msg) > 200:
            record.msg = WITHHELD
        if record.exc_info is None and record.stack_info is None:
            return record
    if not (_secrets or _data_keys):
        return record
    try:
        message = record.getMessage()
    except (TypeError, ValueError):
        return record
    cleaned = redact(message)
    if record.exc_info and record.exc_info[0] is not None:
        trace = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        safe_trace = redact(trace)
        if safe_trace != trace:  # fold the redacted traceback into the message: every formatter shows it
            cleaned = f"{cleaned}\n{safe_trace}"
            record.exc_info, record.exc_text = None, None
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    if cleaned != message:
        record.msg, record.args = cleaned, None
    return record


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
        return scrub_record(previous(*args, **kwargs))

    logging.setLogRecordFactory(factory)


install_redaction()  # at import: AWS SDK debug output must be withheld before the first secret is even read
