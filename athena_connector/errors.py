"""The connector's error types and the one place every failure is mapped to what Athena shows the user.

Athena reports a failed invocation as ``Encountered an exception[<errorType>] ... with message[<errorMessage>]``
where a Python Lambda's ``errorType`` is the exception class name. So each class below is named after the
Glue ``FederationSourceErrorCode`` it stands for, and every message says what went wrong and where (request,
table, split). SaaS throttling becomes the wire layer's ``FederationThrottleException`` (the Java class name),
which makes Athena back off and retry instead of failing the query.
"""

from __future__ import annotations

from athena_connector.wire import FederationThrottleException, WireError
from shared.errors import (
    ConfigError,
    DeadlineExceededError,
    InvalidTokenError,
    PaginationError,
    PathValueError,
    SaaSAuthError,
    SaaSRateLimitedError,
    SaaSRequestError,
    SaaSResponseError,
    SpecError,
    UnknownEntityError,
    UnknownFieldError,
    ValueCoercionError,
)
from shared.redaction import redact


class ConnectorError(Exception):
    """Base of the errors the connector raises to Athena; the class name is the error code."""


class InvalidInputException(ConnectorError):
    """The request is malformed or names something invalid (a column, an argument, a token)."""


class EntityNotFoundException(ConnectorError):
    """An unknown schema or table."""


class InvalidCredentialsException(ConnectorError):
    """The SaaS API rejected the configured credentials."""


class InvalidResponseException(ConnectorError):
    """The SaaS API answered with something the spec cannot read."""


class OperationTimeoutException(ConnectorError):
    """The invocation ran out of time (the Lambda's remaining time bounds retries and reading)."""


class OperationNotSupportedException(ConnectorError):
    """A request this connector does not serve (e.g. user-defined functions)."""


class InternalServiceException(ConnectorError):
    """Configuration problems, SaaS failures that outlasted retries, and anything unexpected."""


def _mapped(exc: BaseException) -> tuple[type[Exception], str]:
    """The exception class Athena should see for ``exc``, and a message prefix naming the cause."""
    if isinstance(exc, (ConnectorError, FederationThrottleException)):
        return type(exc), ""
    if isinstance(exc, WireError):
        return InvalidInputException, "bad request: "
    if isinstance(exc, SaaSRateLimitedError):
        return FederationThrottleException, "the SaaS API is rate limiting requests: "
    if isinstance(exc, SaaSAuthError):
        return InvalidCredentialsException, ""
    if isinstance(exc, DeadlineExceededError):
        return OperationTimeoutException, ""
    if isinstance(exc, SaaSResponseError | PaginationError | ValueCoercionError):
        return InvalidResponseException, ""
    if isinstance(exc, PathValueError):  # a parent key from the API that cannot go into the child's path
        return InvalidResponseException, ""
    if isinstance(exc, SaaSRequestError):
        return InternalServiceException, "SaaS API request failed: "
    if isinstance(exc, SpecError):
        return InternalServiceException, "the connector's SaaS spec is invalid: "
    if isinstance(exc, ConfigError):
        return InternalServiceException, "connector configuration: "
    if isinstance(exc, UnknownEntityError):
        return EntityNotFoundException, ""
    if isinstance(exc, UnknownFieldError | InvalidTokenError):
        return InvalidInputException, ""
    return InternalServiceException, f"unexpected {type(exc).__name__}: "


MAX_MESSAGE_CHARS = 2000  # a message echoes request values; a 5 MB table name must not make a 5 MB error


def clean_message(text: str) -> str:
    """Registered secrets masked, and at most :data:`MAX_MESSAGE_CHARS` (head and tail kept)."""
    text = redact(text)
    if len(text) > MAX_MESSAGE_CHARS:
        cut = len(text) - MAX_MESSAGE_CHARS
        text = f"{text[: MAX_MESSAGE_CHARS - 500]}... [{cut} characters cut] ...{text[-400:]}"
    return text


def to_athena_error(exc: BaseException, where: str) -> Exception:
    """Map any exception once to the typed error Athena shows; ``where`` names the request and table."""
    cls, prefix = _mapped(exc)
    text = str(exc) or type(exc).__name__
    if isinstance(exc, ConnectorError | FederationThrottleException) and text.startswith(where):
        cleaned = clean_message(text)
        return exc if cleaned == text else cls(cleaned)  # type: ignore[return-value]
    return cls(clean_message(f"{where}: {prefix}{text}" if where else f"{prefix}{text}"))
