"""API errors, raised by handlers and rendered as JSON by the app."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answered as ``{"error": code, "message": message, **extra}`` with ``status``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, **self.extra}


def bad_request(parameter: str, message: str) -> ApiError:
    """400 naming the offending query parameter."""
    return ApiError(400, "bad_request", f"invalid parameter {parameter!r}: {message}", parameter=parameter)


def not_found(message: str) -> ApiError:
    return ApiError(404, "not_found", message)


def validation_error(field: str | None, message: str) -> ApiError:
    return ApiError(422, "validation_error", message, field=field)
