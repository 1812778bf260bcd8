"""Server-side sessions: login, resolving the cookie's token, logout, CSRF tokens.

The cookie carries a random token; the table keeps only its SHA-256, so a copy of the database
opens no session. Ending a session is a row update, seen at once by every worker.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import bindparam
from sqlmodel import Session, col, func, select, update

from kb.accounts import throttle
from kb.accounts.login_token import device_token_valid
from kb.accounts.passwords import normalize_email, verify_dummy, verify_password
from kb.accounts.schemas import SessionGrant, SessionInfo, UserPublic
from kb.accounts.secret import load_secret_key
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.errors import Invalid, Unauthenticated
from kb.models import UserAccount, UserSession, as_utc, utcnow

TOUCH_EVERY = timedelta(minutes=1)  # last-seen times are this coarse, to keep writes down
_LOGIN_FAILED = "email or password is wrong"  # the same words whatever was wrong


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def login(
    kb: KnowledgeBase,
    *,
    email: str,
    password: str,
    address: str | None,
    device: str | None = None,
    now: datetime | None = None,
) -> SessionGrant:
    """A new session for the right e-mail and password; throttled per account+address pair
    and per address (``kb.accounts.throttle``); ``device`` is the browser's device cookie.

    Raises Unauthenticated with one message for an unknown e-mail, a wrong password and a
    disabled user alike, and TooManyAttempts while locked.
    """
    now = now or utcnow()
    try:
        email = normalize_email(email)
    except Invalid:
        email = email.strip().lower()[:254]  # throttled like any other name, and refused below
    known = device_token_valid(kb.settings, device, email, now)
    subjects = throttle.subjects_for(email, address, known_device=known)
    attempt = throttle.begin_attempt(kb, subjects=subjects, now=now)

    with session_scope(kb.engine) as session:
        user = session.exec(select(UserAccount).where(UserAccount.email == email)).first()
    # The argon2 work happens outside any transaction: it takes a while.
    if user is None:
        verify_dummy(password)
        raise Unauthenticated(_LOGIN_FAILED)
    valid, rehashed = verify_password(password, user.password_hash)
    if not valid or user.disabled:
        raise Unauthenticated(_LOGIN_FAILED)

    if rehashed:
        with session_scope(kb.engine) as session:
            # Same password, newer parameters: not a password change, so no session ends.
            session.exec(
                update(UserAccount)
                .where(col(UserAccount.id) == user.id)
                .values(password_hash=rehashed)
            )
    grant = open_session(kb, user=UserPublic.of(user), now=now)
    throttle.succeeded(kb, attempt=attempt, subjects=subjects)
    return grant


def open_session(kb: KnowledgeBase, *, user: UserPublic, now: datetime) -> SessionGrant:
    """A new session for a person whose password was just checked (login, own password change)."""
    token = secrets.token_urlsafe(32)
    with session_scope(kb.engine) as session:
        row = UserSession(
            token_hash=token_hash(token),
            user_id=user.id,
            csrf_secret=secrets.token_hex(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=kb.settings.session_hours),
        )
        session.add(row)
    return SessionGrant(token=token, session=_info(kb, row, user))


def last_sign_ins(kb: KnowledgeBase) -> dict[str, datetime]:
    """When each user last signed in (their newest session), by user id."""
    with session_scope(kb.engine) as session:
        rows = session.exec(
            select(UserSession.user_id, func.max(UserSession.created_at)).group_by(
                col(UserSession.user_id)
            )
        ).all()
    return {user_id: as_utc(at) for user_id, at in rows if at is not None}


# Every signed-in request runs this lookup; built once, not on each call (bench/auth_cost.py).
_BY_TOKEN = (
    select(UserSession, UserAccount)
    .join(UserAccount, col(UserAccount.id) == col(UserSession.user_id))
    .where(col(UserSession.token_hash) == bindparam("token_hash"))
)


def resolve_session(
    kb: KnowledgeBase, *, token: str | None, now: datetime | None = None
) -> SessionInfo | None:
    """The live session of a cookie's token, or None: unknown, ended, expired, user disabled."""
    if not token or len(token) > 256:
        return None
    now = now or utcnow()
    with session_scope(kb.engine) as session:
        found = session.exec(_BY_TOKEN, params={"token_hash": token_hash(token)}).first()
        if found is None:
            return None
        row, user = found
        if (
            row.ended_at is not None
            or as_utc(row.expires_at) <= now
            or user.disabled
            # Ended explicitly on a password change too; this holds even for a row it missed.
            or as_utc(row.created_at) < as_utc(user.password_changed_at)
        ):
            return None
        if now - as_utc(row.last_seen_at) >= TOUCH_EVERY:
            row.last_seen_at = now
            session.add(row)
        return _info(kb, row, UserPublic.of(user))


def logout(kb: KnowledgeBase, *, token: str | None, now: datetime | None = None) -> bool:
    """End the session of this token; False if there was no live one."""
    if not token:
        return False
    with session_scope(kb.engine) as session:
        result = session.exec(
            update(UserSession)
            .where(col(UserSession.token_hash) == token_hash(token))
            .where(col(UserSession.ended_at).is_(None))
            .values(ended_at=now or utcnow(), end_reason="logout")
        )
        return bool(result.rowcount)


def end_sessions(session: Session, *, user_id: str, reason: str, now: datetime) -> int:
    """End every open session of a user, inside the caller's transaction."""
    result = session.exec(
        update(UserSession)
        .where(col(UserSession.user_id) == user_id)
        .where(col(UserSession.ended_at).is_(None))
        .values(ended_at=now, end_reason=reason)
    )
    return int(result.rowcount)


def csrf_valid(session: SessionInfo, token: str | None) -> bool:
    """Whether a state-changing request carries this session's CSRF token."""
    return bool(token) and hmac.compare_digest(session.csrf_token, token or "")


def _csrf_token(kb: KnowledgeBase, row: UserSession) -> str:
    # Bound to the server's secret as well: a read of the sessions table alone forges none.
    message = f"csrf:{row.id}:{row.csrf_secret}".encode()
    return hmac.new(load_secret_key(kb.settings), message, hashlib.sha256).hexdigest()


def _info(kb: KnowledgeBase, row: UserSession, user: UserPublic) -> SessionInfo:
    return SessionInfo(
        id=row.id,
        user=user,
        created_at=as_utc(row.created_at),
        last_seen_at=as_utc(row.last_seen_at),
        expires_at=as_utc(row.expires_at),
        csrf_token=_csrf_token(kb, row),
    )
