"""Passwords: argon2id through pwdlib, the policy, generated passwords."""

from __future__ import annotations

import re
import secrets
from functools import cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from kb.errors import Invalid

# Argon2id with the library's recommended parameters (RFC 9106's second choice: t=3, 64 MiB,
# p=4). When they change, hashes made with the old ones are upgraded at the next login.
HASHER = PasswordHash((Argon2Hasher(),))

MAX_PASSWORD_CHARS = 1024  # argon2 takes any length; this bounds the work one request can ask
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(password: str, password_hash: str) -> tuple[bool, str | None]:
    """Whether it matches, and a new hash when the stored one used other parameters."""
    return HASHER.verify_and_update(password, password_hash)


def verify_dummy(password: str) -> None:
    """As much work as a real check, for an e-mail with no account: timing tells nothing."""
    HASHER.verify(password, _dummy_hash())


@cache
def _dummy_hash() -> str:
    return HASHER.hash(secrets.token_urlsafe(32))


def normalize_email(email: str) -> str:
    """E-mails are compared lower-cased and trimmed; anything not like ``a@b`` is refused."""
    value = email.strip().lower()
    if len(value) > 254 or not _EMAIL.fullmatch(value):
        raise Invalid(
            "email {email!r} is not an e-mail address like name@example.com",
            field="email",
            email=email,
        )
    return value


def check_password(password: str, *, email: str, min_length: int) -> None:
    """The policy: long enough, not absurdly long, and not the e-mail or its name part."""
    if len(password) < min_length:
        raise Invalid(
            "password is {value} characters long; it needs at least {min_length}",
            field="password",
            value=len(password),
            min_length=min_length,
        )
    if len(password) > MAX_PASSWORD_CHARS:
        raise Invalid(
            "password is longer than {MAX_PASSWORD_CHARS} characters",
            field="password",
            MAX_PASSWORD_CHARS=MAX_PASSWORD_CHARS,
        )
    folded = password.strip().casefold()
    if folded in {email.casefold(), email.split("@")[0].casefold()}:
        raise Invalid("password must not be the e-mail address", field="password")


def generate_password() -> str:
    """24 URL-safe characters (144 random bits), to be shown once."""
    return secrets.token_urlsafe(18)
