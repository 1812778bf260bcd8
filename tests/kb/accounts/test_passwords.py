"""The password policy, e-mail normalisation and generated passwords (no database)."""

from __future__ import annotations

import pytest

from kb.accounts.passwords import (
    check_password,
    generate_password,
    hash_password,
    normalize_email,
    verify_password,
)
from kb.errors import Invalid


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "password is 5 characters long; it needs at least 12"),
        ("elevenchars", "password is 11 characters long; it needs at least 12"),
        ("Ann.Lee@Example.com", "password must not be the e-mail address"),
        ("ANN.LEE@example.com", "password must not be the e-mail address"),
        ("ann.lee-is-me", None),
        ("x" * 1025, "password is longer than 1024 characters"),
        ("twelve chars", None),
    ],
)
def test_policy(password: str, message: str | None) -> None:
    if message is None:
        check_password(password, email="ann.lee@example.com", min_length=12)
        return
    with pytest.raises(Invalid) as caught:
        check_password(password, email="ann.lee@example.com", min_length=12)
    assert caught.value.message == message and caught.value.field == "password"


def test_the_name_part_of_the_email_is_refused_too() -> None:
    with pytest.raises(Invalid, match="must not be the e-mail"):
        check_password("verylongname", email="verylongname@example.com", min_length=12)


@pytest.mark.parametrize(
    ("given", "stored"),
    [(" Ann.Lee@Example.COM ", "ann.lee@example.com"), ("admin@localhost", "admin@localhost")],
)
def test_emails_are_compared_lower_cased(given: str, stored: str) -> None:
    assert normalize_email(given) == stored


@pytest.mark.parametrize("bad", ["", "ann", "ann@", "@example.com", "a b@example.com", "a@b@c"])
def test_bad_emails_are_invalid_naming_the_field(bad: str) -> None:
    with pytest.raises(Invalid) as caught:
        normalize_email(bad)
    assert caught.value.field == "email" and "is not an e-mail address" in caught.value.message


def test_generated_passwords_are_strong_and_pass_the_policy() -> None:
    passwords = {generate_password() for _ in range(20)}
    assert len(passwords) == 20
    for password in passwords:
        assert len(password) == 24
        check_password(password, email="a@example.com", min_length=12)


def test_hash_is_argon2id_with_the_recommended_parameters_and_verifies() -> None:
    stored = hash_password("correct horse battery")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert verify_password("correct horse battery", stored) == (True, None)
    assert verify_password("correct horse batterY", stored) == (False, None)
