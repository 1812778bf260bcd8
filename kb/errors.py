"""Domain errors. Each carries the HTTP status the one web error handler answers with."""

from __future__ import annotations


class KBError(Exception):
    status_code = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(KBError):
    status_code = 404


class Invalid(KBError):
    status_code = 422


class Conflict(KBError):
    status_code = 409


class TooLarge(KBError):
    status_code = 413
