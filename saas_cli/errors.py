"""Errors the command line reports as one clear sentence and a non-zero exit code, never a traceback."""

from __future__ import annotations


class CliError(Exception):
    """A user mistake or an environment problem: printed as ``error: <message>``, exit code ``exit_code``."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(CliError):
    """The command line itself is wrong (exit code 2, as argparse uses)."""

    exit_code = 2


class SqlError(CliError):
    """The SQL cannot be parsed, names an unknown table or column, or fails in the engine."""


class ProtocolError(CliError):
    """A connector answered something the protocol does not allow."""
