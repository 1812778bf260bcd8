"""Failed-login throttling per account and per address, kept in SQL so every worker sees it.

Every attempt is written *before* the password is checked (and removed again when it succeeds),
so a burst of parallel guesses on several workers counts as the burst it is. When
``login_max_failures`` failures fall within ``login_window_minutes``, the subject is locked for
``login_lockout_minutes``; each failure after that lock doubles the next one, up to a day. A
subject is an account name or an address, hashed: an e-mail with no account is throttled just
like one with an account, so the answers never tell which exist.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta

from sqlmodel import col, delete, select

from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.errors import TooManyAttempts
from kb.models import LoginFailure, as_utc
from kb.settings import Settings

LOOKBACK = timedelta(days=1)  # the longest lock-out, and how long a failure is remembered


def subject(kind: str, value: str) -> str:
    # Hashed: people type passwords into the e-mail field, and addresses are personal data.
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def begin_attempt(kb: KnowledgeBase, *, subjects: list[str], now: datetime) -> list[int]:
    """Count an attempt as failed until :func:`succeeded` says otherwise; refuse when locked."""
    with session_scope(kb.engine) as session:
        rows = [LoginFailure(subject=s, at=now) for s in subjects]
        session.add_all(rows)
        session.flush()
        ids = [row.id for row in rows if row.id is not None]
    retry = 0.0
    with session_scope(kb.engine) as session:
        for row_id, name in zip(ids, subjects, strict=True):
            earlier = session.exec(
                select(LoginFailure.at)
                .where(LoginFailure.subject == name, col(LoginFailure.id) < row_id)
                .where(LoginFailure.at > now - LOOKBACK)
                .order_by(col(LoginFailure.at))
            ).all()
            until = locked_until([as_utc(at) for at in earlier], kb.settings)
            if until and until > now:
                retry = max(retry, (until - now).total_seconds())
        if retry:
            # A refused attempt checks nothing, so it is no failure: forget it.
            session.exec(delete(LoginFailure).where(col(LoginFailure.id).in_(ids)))
        session.exec(
            delete(LoginFailure).where(
                col(LoginFailure.subject).in_(subjects), col(LoginFailure.at) < now - LOOKBACK
            )
        )
    if retry:
        minutes = math.ceil(retry / 60)
        raise TooManyAttempts(
            "too many failed logins; try again in {minutes} minute{value}",
            retry_after=math.ceil(retry),
            minutes=minutes,
            value="s" if minutes > 1 else "",
        )
    return ids


def succeeded(kb: KnowledgeBase, *, attempt: list[int], account: str) -> None:
    """The password was right: this attempt was no failure, and the account starts afresh.

    The address keeps its earlier failures, or one valid account would reset its address's
    count between guesses at others.
    """
    with session_scope(kb.engine) as session:
        session.exec(delete(LoginFailure).where(col(LoginFailure.id).in_(attempt)))
        session.exec(delete(LoginFailure).where(col(LoginFailure.subject) == account))


def locked_until(failures: list[datetime], settings: Settings) -> datetime | None:
    """When the lock-out that ``failures`` (oldest first) earned ends, or None if none did."""
    needed = settings.login_max_failures
    window = timedelta(minutes=settings.login_window_minutes)
    for last in range(needed - 1, len(failures)):
        if failures[last] - failures[last - needed + 1] <= window:
            later = len(failures) - 1 - last
            lockout = timedelta(minutes=settings.login_lockout_minutes) * 2 ** min(later, 20)
            return failures[-1] + min(lockout, LOOKBACK)
    return None
