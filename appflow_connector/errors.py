"""Every failure becomes an SDK ``ErrorDetails`` here, once: a code AppFlow understands and a short,
secret-free message that names the entity, field or setting at fault.

Nothing in this package raises into the SDK: the SDK would replace any exception with an opaque
``RuntimeError`` and AppFlow would show "No valid response and error details found".
"""

from __future__ import annotations

import logging

from appflow_connector.sdk import ErrorCode, ErrorDetails
from shared.errors import (
    ConfigError,
    DeadlineExceededError,
    InvalidTokenError,
    PaginationError,
    PathValueError,
    SaaSAuthError,
    SaaSClientError,
    SaaSConnectorError,
    SaaSRateLimitedError,
    SaaSRequestError,
    SaaSResponseError,
    SaaSTransientError,
    SpecError,
    UnknownEntityError,
    UnknownFieldError,
    ValueCoercionError,
)
from shared.redaction import redact

log = logging.getLogger(__name__)

# AppFlow shows these in the flow's run history; elsewhere it caps status messages at 1024 characters.
MAX_MESSAGE_CHARS = 1000


class ConnectorError(Exception):
    """A failure this connector detected itself, with the code AppFlow should see."""

    def __init__(self, code: ErrorCode, message: str, retry_after_s: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after_s = retry_after_s


def invalid_argument(message: str) -> ConnectorError:
    return ConnectorError(ErrorCode.InvalidArgument, message)


def clean_message(message: str) -> str:
    """Mask registered secrets and keep the message short enough for AppFlow's run history."""
    text = redact(" ".join(str(message).split()))
    if len(text) > MAX_MESSAGE_CHARS:
        text = text[: MAX_MESSAGE_CHARS - 3] + "..."
    return text


def details(code: ErrorCode, message: str, retry_after_s: int | None = None) -> ErrorDetails:
    return ErrorDetails(code, clean_message(message), retry_after_s)


def _status_code(status: int | None) -> ErrorCode:
    if status in (400, 413, 414, 422):
        return ErrorCode.InvalidArgument
    if status == 401:
        return ErrorCode.InvalidCredentials
    if status == 403:
        return ErrorCode.AccessDenied
    if status == 404:
        return ErrorCode.ClientError
    if status == 408:
        return ErrorCode.RequestTimeout
    if status == 429:
        return ErrorCode.RateLimitExceeded
    if status == 503:
        return ErrorCode.ServiceUnavailable
    if status == 504:
        return ErrorCode.RequestTimeout
    if status is not None and 500 <= status <= 599:
        return ErrorCode.ServerError
    return ErrorCode.ClientError


def code_for(exc: BaseException) -> ErrorCode:
    """The AppFlow error code for an exception (shared errors, ours, or anything else)."""
    if isinstance(exc, ConnectorError):
        return exc.code
    if isinstance(exc, SaaSAuthError):
        return ErrorCode.AccessDenied if exc.status == 403 else ErrorCode.InvalidCredentials
    if isinstance(exc, SaaSRateLimitedError):
        return ErrorCode.RateLimitExceeded
    if isinstance(exc, DeadlineExceededError):
        return ErrorCode.RequestTimeout
    if isinstance(exc, SaaSTransientError):
        if exc.status is None:
            return ErrorCode.RequestTimeout if "timed out" in str(exc) else ErrorCode.ServiceUnavailable
        return _status_code(exc.status)
    if isinstance(exc, SaaSClientError):
        return _status_code(exc.status)
    if isinstance(exc, SaaSResponseError | PaginationError | ValueCoercionError):
        return ErrorCode.ServerError
    if isinstance(exc, SaaSRequestError):
        return _status_code(exc.status) if exc.status else ErrorCode.ServerError
    if isinstance(exc, InvalidTokenError | UnknownEntityError | UnknownFieldError | ConfigError | PathValueError):
        return ErrorCode.InvalidArgument
    if isinstance(exc, SpecError):
        return ErrorCode.ServerError
    return ErrorCode.UnknownError


def message_for(exc: BaseException) -> str:
    if isinstance(exc, ConnectorError):
        return exc.message
    if isinstance(exc, SpecError):
        return f"the connector's SaaS spec is invalid (fix the deployment): {exc}"
    if isinstance(exc, InvalidTokenError):
        return f"nextToken: {exc}"
    if isinstance(exc, SaaSConnectorError):
        return str(exc)
    return f"internal error in the connector ({type(exc).__name__}); see the connector's CloudWatch logs"


def to_details(exc: BaseException) -> ErrorDetails:
    """Map any exception; unexpected ones are logged with their stack trace (never shown to AppFlow)."""
    if not isinstance(exc, ConnectorError | SaaSConnectorError):
        log.exception("unexpected error", exc_info=exc)
    else:
        log.warning("request failed: %s: %s", type(exc).__name__, exc)
    retry_after = exc.retry_after_s if isinstance(exc, ConnectorError) else None
    return details(code_for(exc), message_for(exc), retry_after)
