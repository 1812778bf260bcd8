"""Login CSRF: the sign-in form is tied to a pre-session, so no other site can sign you in.

Without this, a page elsewhere could post its own e-mail and password to ``/login`` and leave
the victim working (and typing customers' words) inside the attacker's account. There is no
session yet to hold a CSRF token, so, as OWASP's cheat sheet advises for login forms, the form
gets a pre-session: a random value in a cookie (HttpOnly, SameSite=Strict) and, in a hidden
field, its HMAC under the server's secret (a "signed double submit"). Another site can neither
read the cookie nor compute the field, and cannot plant a cookie that matches a field of its own.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from kb.accounts.secret import load_secret_key
from kb.settings import Settings

PRE_SESSION_HOURS = 12  # a sign-in form left open longer than this is shown afresh


def new_pre_session() -> str:
    return secrets.token_urlsafe(32)


def login_form_token(settings: Settings, pre_session: str) -> str:
    """The hidden field that proves the form came from this server for this pre-session."""
    message = f"login-csrf:{pre_session}".encode()
    return hmac.new(load_secret_key(settings), message, hashlib.sha256).hexdigest()


def login_token_valid(settings: Settings, pre_session: str | None, token: str | None) -> bool:
    """Whether a login POST carries the field that matches its pre-session cookie."""
    if not pre_session or not token or len(pre_session) > 128:
        return False
    return hmac.compare_digest(login_form_token(settings, pre_session), token)
