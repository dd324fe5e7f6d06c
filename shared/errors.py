"""Typed errors with messages a user can act on; each connector maps them once to its protocol."""

from __future__ import annotations

from dataclasses import dataclass


class SaaSConnectorError(Exception):
    """Base of every error this project raises on purpose."""


@dataclass(frozen=True)
class SpecProblem:
    """One problem in a spec, with where it is (file, then a dotted location inside it)."""

    source: str
    location: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}: {self.location}" if self.location else self.source
        return f"{where}: {self.message}"


class SpecError(SaaSConnectorError):
    """A spec failed to load; carries every problem found, not only the first."""

    def __init__(self, problems: list[SpecProblem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        head = f"invalid SaaS spec ({count} problem{'s' if count != 1 else ''}):"
        super().__init__("\n".join([head, *(f"  - {p}" for p in self.problems)]))


class ConfigError(SaaSConnectorError):
    """The connector's runtime configuration (environment, credentials, settings) is wrong."""


class UnknownEntityError(SaaSConnectorError):
    """A request named an entity the spec does not declare."""


class UnknownFieldError(SaaSConnectorError):
    """A request named a field the entity does not declare."""


class PathValueError(SaaSConnectorError):
    """A value cannot go into a URL path segment: empty, ``.`` or ``..`` (which would address another resource)."""


class InvalidTokenError(SaaSConnectorError):
    """A pagination token was malformed, tampered with, or belongs to another query."""


class SaaSRequestError(SaaSConnectorError):
    """The SaaS API failed in a way that names the entity and the page it happened on."""

    def __init__(
        self, message: str, *, entity: str | None = None, page: int | None = None, status: int | None = None
    ) -> None:
        self.entity = entity
        self.page = page
        self.status = status
        where = []
        if entity:
            where.append(f"entity '{entity}'")
        if page is not None:
            where.append(f"page {page}")
        prefix = f"{', '.join(where)}: " if where else ""
        super().__init__(prefix + message)


class SaaSAuthError(SaaSRequestError):
    """The SaaS API rejected the credentials (401/403 after any refresh)."""


class SaaSRateLimitedError(SaaSRequestError):
    """The SaaS API kept answering 429 until retries or the deadline ran out."""


class SaaSTransientError(SaaSRequestError):
    """Connection errors, timeouts or 5xx that outlasted the retries or the deadline."""


class SaaSClientError(SaaSRequestError):
    """A 4xx other than auth or rate limiting: the request itself was wrong."""


class SaaSResponseError(SaaSRequestError):
    """The API answered 2xx with a body we cannot use (malformed JSON, records not where the spec says)."""


class PaginationError(SaaSRequestError):
    """Pagination went wrong: a repeated token (loop), a next link to another host, too many pages."""


class DeadlineExceededError(SaaSRequestError):
    """Not enough time is left in the Lambda to finish (or retry) the work safely."""


class RetryDeadlineError(SaaSTransientError, DeadlineExceededError):
    """A transient failure that cannot be retried before the invocation's deadline: both at once, so callers that
    handle transient failures still do, and the connectors report it as the timeout it is."""


class ValueCoercionError(SaaSRequestError):
    """A value from the API does not fit its declared type (and the spec says to fail on that)."""
