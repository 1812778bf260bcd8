"""Sessions on SQLite and PostgreSQL: login, resolve, logout, ends, expiry, rehash, CSRF."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlmodel import col, select

from kb.accounts.sessions import csrf_valid, login, logout, resolve_session, token_hash
from kb.accounts.users import create_user, disable_user, set_password
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.errors import Unauthenticated
from kb.models import UserAccount, UserSession

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)  # an explicit clock: no test sleeps
PASSWORD = "correct horse battery"
EMAIL = "ann@example.com"
REASONS = {"disable": "disabled", "set_password": "password"}


@pytest.fixture
def kb(db_kb: KnowledgeBase) -> KnowledgeBase:
    create_user(
        db_kb, email=EMAIL, role="manager", password=PASSWORD, collections=["hr"], actor="cli",
        now=T0,
    )  # fmt: skip
    return db_kb


def test_login_resolve_logout(kb: KnowledgeBase) -> None:
    grant = login(kb, email=" ANN@example.com", password=PASSWORD, address="10.0.0.1", now=T0)
    info = grant.session
    assert info.user.email == EMAIL and info.expires_at == T0 + timedelta(hours=12)
    with session_scope(kb.engine) as session:
        [row] = session.exec(select(UserSession)).all()
    assert row.token_hash == token_hash(grant.token) and grant.token not in row.model_dump_json()

    resolved = resolve_session(kb, token=grant.token, now=T0 + timedelta(minutes=5))
    assert resolved is not None and resolved.id == info.id
    assert resolved.last_seen_at == T0 + timedelta(minutes=5)
    principal = resolved.principal
    assert principal.kind == "user" and principal.can("manager") and not principal.can("admin")
    assert principal.readable_collections == {"hr"} and principal.session_id == info.id

    assert logout(kb, token=grant.token, now=T0 + timedelta(minutes=6))
    assert resolve_session(kb, token=grant.token, now=T0 + timedelta(minutes=7)) is None
    assert not logout(kb, token=grant.token)  # already ended


def test_last_seen_is_written_at_most_once_a_minute(kb: KnowledgeBase) -> None:
    token = login(kb, email=EMAIL, password=PASSWORD, address=None, now=T0).token
    seen = [
        info.last_seen_at
        for offset in (30, 59, 61, 90, 125)
        if (info := resolve_session(kb, token=token, now=T0 + timedelta(seconds=offset)))
    ]
    assert [int((s - T0).total_seconds()) for s in seen] == [0, 0, 61, 61, 125]


@pytest.mark.parametrize(
    ("email", "password"),
    [(EMAIL, "wrong password!"), ("nobody@example.com", PASSWORD), ("not an email", PASSWORD)],
)
def test_one_message_whatever_was_wrong(kb: KnowledgeBase, email: str, password: str) -> None:
    with pytest.raises(Unauthenticated) as caught:
        login(kb, email=email, password=password, address="10.0.0.1", now=T0)
    assert caught.value.message == "email or password is wrong" and caught.value.status_code == 401


def test_a_disabled_user_cannot_log_in_and_gets_the_same_answer(kb: KnowledgeBase) -> None:
    disable_user(kb, email=EMAIL, actor="cli", now=T0)
    with pytest.raises(Unauthenticated, match=r"^email or password is wrong$"):
        login(kb, email=EMAIL, password=PASSWORD, address="10.0.0.1", now=T0)


@pytest.mark.parametrize("end", ["disable", "set_password"])
def test_disabling_or_a_new_password_ends_every_session_at_once(
    kb: KnowledgeBase, end: str
) -> None:
    tokens = [
        login(kb, email=EMAIL, password=PASSWORD, address=a, now=T0).token
        for a in ("10.0.0.1", "10.0.0.2")
    ]
    create_user(kb, email="bo@example.com", role="agent", password=PASSWORD, actor="cli", now=T0)
    other = login(kb, email="bo@example.com", password=PASSWORD, address=None, now=T0).token
    later = T0 + timedelta(minutes=10)
    if end == "disable":
        disable_user(kb, email=EMAIL, actor="user:bo@example.com", now=later)
    else:
        set_password(kb, email=EMAIL, password="a new long password", actor="cli", now=later)
    for token in tokens:
        assert resolve_session(kb, token=token, now=later + timedelta(seconds=1)) is None
    assert resolve_session(kb, token=other, now=later + timedelta(seconds=1)) is not None
    with session_scope(kb.engine) as session:
        ended = session.exec(select(UserSession).where(col(UserSession.ended_at).is_not(None)))
        assert [row.end_reason for row in ended] == [REASONS[end]] * 2


def test_sessions_expire(kb: KnowledgeBase) -> None:
    token = login(kb, email=EMAIL, password=PASSWORD, address=None, now=T0).token
    assert resolve_session(kb, token=token, now=T0 + timedelta(hours=11, minutes=59)) is not None
    assert resolve_session(kb, token=token, now=T0 + timedelta(hours=12)) is None


@pytest.mark.parametrize("token", [None, "", "made-up-token", "x" * 1000])
def test_unknown_tokens_resolve_to_nothing(db_kb: KnowledgeBase, token: str | None) -> None:
    assert resolve_session(db_kb, token=token, now=T0) is None


def test_a_hash_with_weaker_parameters_is_upgraded_at_login(kb: KnowledgeBase) -> None:
    weak = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=8 * 1024, parallelism=1),))
    with session_scope(kb.engine) as session:
        row = session.exec(select(UserAccount).where(UserAccount.email == EMAIL)).one()
        row.password_hash = weak.hash(PASSWORD)
        session.add(row)
    token = login(kb, email=EMAIL, password=PASSWORD, address=None, now=T0).token
    with session_scope(kb.engine) as session:
        row = session.exec(select(UserAccount).where(UserAccount.email == EMAIL)).one()
    assert row.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    # Same password, new parameters: not a password change, so the session lives on.
    assert row.password_changed_at.replace(tzinfo=UTC) == T0
    assert resolve_session(kb, token=token, now=T0) is not None
    login(kb, email=EMAIL, password=PASSWORD, address=None, now=T0)  # the new hash verifies


def test_csrf_token_per_session(kb: KnowledgeBase) -> None:
    first = login(kb, email=EMAIL, password=PASSWORD, address=None, now=T0)
    second = login(kb, email=EMAIL, password=PASSWORD, address=None, now=T0)
    info = resolve_session(kb, token=first.token, now=T0)
    assert info is not None and info.csrf_token == first.session.csrf_token
    assert len(info.csrf_token) == 64
    assert csrf_valid(info, first.session.csrf_token)
    altered = info.csrf_token[:-1] + ("1" if info.csrf_token.endswith("0") else "0")
    for wrong in (second.session.csrf_token, "", None, altered):
        assert not csrf_valid(info, wrong)
    assert first.session.csrf_token != second.session.csrf_token
