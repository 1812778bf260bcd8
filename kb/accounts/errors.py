"""The errors of signing in and of being refused, each with its HTTP status."""

from __future__ import annotations

from kb.errors import KBError


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
