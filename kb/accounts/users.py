"""People: add, list, disable, set passwords, and the first admin. Every change is audited."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from kb.accounts import throttle
from kb.accounts.passwords import (
    check_password,
    generate_password,
    hash_password,
    normalize_email,
    verify_password,
)
from kb.accounts.schemas import NewUser, SessionGrant, UserPublic
from kb.accounts.sessions import end_sessions, open_session
from kb.audit import record
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.errors import Conflict, Invalid, NotFound
from kb.models import UserAccount, utcnow
from kb.types import LANGUAGES, USER_ROLES, Language, UserRole, collection_name

FIRST_ADMIN_EMAIL = "admin@localhost"


def create_user(
    kb: KnowledgeBase,
    *,
    email: str,
    role: str,
    password: str | None = None,
    collections: Iterable[str] = (),
    actor: str,
    now: datetime | None = None,
) -> NewUser:
    """Add a user; without ``password`` one is generated and returned, to be shown once."""
    email = normalize_email(email)
    checked_role = _role(role)
    allowed = collection_list(collections)
    generated = password is None
    password = generate_password() if password is None else password
    check_password(password, email=email, min_length=kb.settings.password_min_length)
    password_hash = hash_password(password)  # before the transaction: it takes a while
    now = now or utcnow()
    try:
        with session_scope(kb.engine) as session:
            if _find(session, email) is not None:
                raise Conflict("a user {email} exists already", field="email", email=email)
            row = UserAccount(
                email=email, role=checked_role, password_hash=password_hash,
                collections=allowed, created_at=now, updated_at=now, password_changed_at=now,
            )  # fmt: skip
            session.add(row)
            record(
                session, actor=actor, action="user.add", target=email,
                detail={"role": checked_role, "collections": allowed}, now=now,
            )  # fmt: skip
    except IntegrityError as exc:  # added by another process since the check
        raise Conflict("a user {email} exists already", field="email", email=email) from exc
    return NewUser(user=UserPublic.of(row), password=password if generated else None)


def list_users(kb: KnowledgeBase) -> list[UserPublic]:
    with session_scope(kb.engine) as session:
        rows = session.exec(select(UserAccount).order_by(col(UserAccount.email)))
        return [UserPublic.of(row) for row in rows]


def get_user(kb: KnowledgeBase, *, email: str) -> UserPublic:
    with session_scope(kb.engine) as session:
        return UserPublic.of(_get(session, email))


def set_locale(kb: KnowledgeBase, *, email: str, locale: Language | None) -> UserPublic:
    """Save the UI language a person chose (None: follow their browser again)."""
    if locale is not None and locale not in LANGUAGES:
        raise Invalid(
            "language {locale!r} is not one of {choices}",
            field="locale",
            locale=locale,
            choices=", ".join(LANGUAGES),
        )
    with session_scope(kb.engine) as session:
        row = _get(session, email)
        row.locale = locale
        session.add(row)
        session.flush()
        return UserPublic.of(row)


def disable_user(
    kb: KnowledgeBase, *, email: str, actor: str, now: datetime | None = None
) -> UserPublic:
    """Disable a user and end their sessions at once; the last enabled admin stays."""
    now = now or utcnow()
    with session_scope(kb.engine) as session:
        row = _get(session, email)
        if row.disabled:
            return UserPublic.of(row)
        if row.role == "admin" and _enabled_admins(session) <= 1:
            raise Conflict(
                "{email} is the last enabled admin; add another admin first",
                field="email",
                email=row.email,
            )
        row.disabled, row.updated_at = True, now
        session.add(row)
        ended = end_sessions(session, user_id=row.id, reason="disabled", now=now)
        record(
            session, actor=actor, action="user.disable", target=row.email,
            detail={"sessions_ended": ended}, now=now,
        )  # fmt: skip
        return UserPublic.of(row)


def set_password(
    kb: KnowledgeBase,
    *,
    email: str,
    password: str | None = None,
    actor: str,
    now: datetime | None = None,
) -> NewUser:
    """Give a user a new password (generated when None) and end all their sessions."""
    email = normalize_email(email)
    generated = password is None
    password = generate_password() if password is None else password
    check_password(password, email=email, min_length=kb.settings.password_min_length)
    password_hash = hash_password(password)
    now = now or utcnow()
    with session_scope(kb.engine) as session:
        row = _get(session, email)
        row.password_hash, row.password_changed_at, row.updated_at = password_hash, now, now
        session.add(row)
        ended = end_sessions(session, user_id=row.id, reason="password", now=now)
        # The audit entry says that it changed, never what to.
        record(
            session, actor=actor, action="user.set_password", target=row.email,
            detail={"generated": generated, "sessions_ended": ended}, now=now,
        )  # fmt: skip
        user = UserPublic.of(row)
    return NewUser(user=user, password=password if generated else None)


def change_own_password(
    kb: KnowledgeBase,
    *,
    email: str,
    current: str,
    new: str,
    address: str | None = None,
    now: datetime | None = None,
) -> SessionGrant:
    """A signed-in person's own change: the current password first (throttled like a login,
    since it is a guess too), then every session ends and a fresh one takes this one's place."""
    now = now or utcnow()
    email = normalize_email(email)
    try:  # a weak new password is refused before the current one counts as a guess
        check_password(new, email=email, min_length=kb.settings.password_min_length)
    except Invalid as exc:
        raise Invalid(exc.message, field="new_password") from exc
    subjects = throttle.subjects_for(email, address)
    attempt = throttle.begin_attempt(kb, subjects=subjects, now=now)
    with session_scope(kb.engine) as session:
        row = _get(session, email)
        user, stored = UserPublic.of(row), row.password_hash
    if user.disabled or not verify_password(current, stored)[0]:
        raise Invalid("the current password is wrong", field="current_password")
    set_password(kb, email=email, password=new, actor=f"user:{email}", now=now)
    throttle.succeeded(kb, attempt=attempt, subjects=subjects)
    # Created at the change's very moment, so it is the one session that outlives it.
    return open_session(kb, user=get_user(kb, email=email), now=now)


def ensure_admin(
    kb: KnowledgeBase,
    *,
    email: str = FIRST_ADMIN_EMAIL,
    actor: str = "cli",
    now: datetime | None = None,
) -> NewUser | None:
    """On first run, an admin with a generated password; None when an enabled admin exists."""
    with session_scope(kb.engine) as session:
        if _enabled_admins(session):
            return None
    return create_user(kb, email=email, role="admin", actor=actor, now=now)


def collection_list(collections: Iterable[str]) -> list[str]:
    """Checked collection names without repeats, in the order given."""
    return list(dict.fromkeys(_collection(c) for c in collections))


def _collection(name: str) -> str:
    try:
        return collection_name(name)
    except Invalid as exc:
        raise Invalid(exc.message, field="collections") from exc


def _role(role: str) -> UserRole:
    if role not in USER_ROLES:
        raise Invalid(
            "role {role!r} is not one of {value}",
            field="role",
            role=role,
            value=", ".join(USER_ROLES),
        )
    return role


def _find(session: Session, email: str) -> UserAccount | None:
    return session.exec(select(UserAccount).where(UserAccount.email == email)).first()


def _get(session: Session, email: str) -> UserAccount:
    row = _find(session, normalize_email(email))
    if row is None:
        raise NotFound("no user {email}", field="email", email=email.strip())
    return row


def _enabled_admins(session: Session) -> int:
    rows = session.exec(
        select(UserAccount.id).where(
            UserAccount.role == "admin", col(UserAccount.disabled).is_(False)
        )
    )
    return len(rows.all())
