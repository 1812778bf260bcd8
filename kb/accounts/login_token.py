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
from datetime import datetime

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


# --- device cookies -------------------------------------------------------------------------
# OWASP's "device cookie" against lock-out: a browser where an account signed in before carries
# a signed note of it, and that account's attempts from that browser skip the per-address cap.
# A guesser cannot make one without the password, so a floor behind one NAT address stays able
# to sign in while someone on it sprays accounts.

DEVICE_DAYS = 90


def device_token(settings: Settings, email: str, now: datetime) -> str:
    """The cookie value saying ``email`` signed in on this browser at ``now``."""
    issued = int(now.timestamp())
    return f"{issued}.{_device_mac(settings, email, issued)}"


def device_token_valid(settings: Settings, token: str | None, email: str, now: datetime) -> bool:
    """Whether ``token`` is a device cookie of ``email`` issued within DEVICE_DAYS."""
    issued_text, _, mac = (token or "").partition(".")
    if not issued_text.isdigit() or len(token or "") > 128:
        return False
    issued = int(issued_text)
    if not 0 <= now.timestamp() - issued <= DEVICE_DAYS * 86400:
        return False
    return hmac.compare_digest(_device_mac(settings, email, issued), mac)


def _device_mac(settings: Settings, email: str, issued: int) -> str:
    message = f"login-device:{email}:{issued}".encode()
    return hmac.new(load_secret_key(settings), message, hashlib.sha256).hexdigest()
