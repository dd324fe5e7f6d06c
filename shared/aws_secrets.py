"""Secrets Manager reads that end in time, cached as powertools' parameters cache them.

powertools' own ``get_secret`` calls a client with botocore's default timeouts (a minute to connect, a minute to
read, retried), so a Secrets Manager endpoint that does not answer outlasts any Lambda. This provider keeps
powertools' cache (``max_age``, ``force_fetch``) and reads through :func:`shared.aws.call`, whose timeouts and
attempts fit the request's deadline. A read that cannot finish in time raises :class:`shared.aws.AwsTimeoutError`
(reached by callers as the ``__context__`` of powertools' ``GetParameterError``; see :func:`timeout_behind`).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parameters.base import BaseProvider

from shared import aws


class SecretsReader(BaseProvider):
    """A powertools parameters provider for Secrets Manager whose reads honour the deadline."""

    def __init__(self) -> None:
        super().__init__()

    def _get(self, name: str, **sdk_options: Any) -> str | bytes:
        answer = aws.call(
            "secretsmanager",
            "GetSecretValue",
            {**sdk_options, "SecretId": name},
            what=f"secret '{name.rsplit(':', 1)[-1]}'",
        )
        if "SecretString" in answer:
            return str(answer["SecretString"])
        return bytes(answer["SecretBinary"])

    def _get_multiple(self, path: str, **sdk_options: Any) -> dict[str, str]:
        """BaseProvider's by-path read: Secrets Manager has no paths, and nothing here reads secrets in bulk."""
        raise TypeError(f"Secrets Manager has no paths to read secrets under ({path!r}): read each secret by name")


def timeout_behind(exc: BaseException) -> aws.AwsTimeoutError | None:
    """The AWS timeout that powertools wrapped into ``exc`` (a ``GetParameterError``), if any."""
    cause = exc.__cause__ or exc.__context__
    return cause if isinstance(cause, aws.AwsTimeoutError) else None
