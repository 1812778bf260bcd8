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


class Unauthenticated(KBError):
    """No valid credentials; says nothing about which part was wrong."""

    status_code = 401


class Forbidden(KBError):
    """Signed in, but the role, scope or collection does not allow it."""

    status_code = 403


class TooManyAttempts(KBError):
    """Logins are locked for a while; ``retry_after`` is in whole seconds."""

    status_code = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(KBError):
    """A service the request needs (the database) cannot be reached; retrying later may work."""

    status_code = 503


class StorageFull(KBError):
    """The disk holding the database or the index is full; nothing was changed."""

    status_code = 507
