"""Failed logins throttled per account and per address, on SQLite and PostgreSQL.

``db_kb`` locks after 2 failures (``KB_LOGIN_MAX_FAILURES=2``), so argon2 runs stay few.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kb.accounts.sessions import login
from kb.accounts.throttle import locked_until
from kb.accounts.users import create_user
from kb.context import KnowledgeBase
from kb.errors import TooManyAttempts, Unauthenticated
from kb.settings import Settings

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)  # an explicit clock: no test sleeps
PASSWORD = "correct horse battery"
MIN = timedelta(minutes=1)


def refused(kb: KnowledgeBase, email: str, password: str, address: str, at: datetime) -> str:
    """The kind of refusal a login gets: wrong, or locked with its Retry-After."""
    try:
        login(kb, email=email, password=password, address=address, now=at)
    except Unauthenticated as exc:
        return exc.message
    except TooManyAttempts as exc:
        return f"locked {exc.retry_after}s"
    return "ok"


@pytest.mark.parametrize("email", ["ann@example.com", "nobody@example.com"])
def test_per_account_and_alike_for_unknown_accounts(db_kb: KnowledgeBase, email: str) -> None:
    create_user(
        db_kb, email="ann@example.com", role="agent", password=PASSWORD, actor="cli", now=T0
    )
    answers = [
        refused(db_kb, email, "wrong password!", "10.0.0.1", T0),
        refused(db_kb, email, "wrong password!", "10.0.0.2", T0 + MIN),
        # Locked: even the right password is refused, from any address, unchecked.
        refused(db_kb, email, PASSWORD, "10.0.0.3", T0 + 2 * MIN),
    ]
    # Exactly the same whether the account exists or not: nothing tells which.
    assert answers == ["email or password is wrong"] * 2 + [f"locked {14 * 60}s"]
    after = T0 + 16 * MIN
    if email == "ann@example.com":
        assert refused(db_kb, email, PASSWORD, "10.0.0.4", after) == "ok"
        # A success starts the account afresh.
        assert refused(db_kb, email, "wrong password!", "10.0.0.4", after) != "ok"
        assert refused(db_kb, email, PASSWORD, "10.0.0.4", after) == "ok"
    else:
        assert refused(db_kb, email, PASSWORD, "10.0.0.4", after) == "email or password is wrong"


def test_per_address_across_accounts(db_kb: KnowledgeBase) -> None:
    create_user(
        db_kb, email="ann@example.com", role="agent", password=PASSWORD, actor="cli", now=T0
    )
    assert refused(db_kb, "a@example.com", PASSWORD, "10.9.9.9", T0) == "email or password is wrong"
    assert refused(db_kb, "b@example.com", PASSWORD, "10.9.9.9", T0) == "email or password is wrong"
    # This address is locked, for a real account and the right password too.
    assert refused(db_kb, "ann@example.com", PASSWORD, "10.9.9.9", T0 + MIN) == "locked 840s"
    # Another address is not, and the account was never a target.
    assert refused(db_kb, "ann@example.com", PASSWORD, "10.0.0.1", T0 + MIN) == "ok"


def test_the_count_holds_across_workers(db_kb: KnowledgeBase) -> None:
    other_worker = KnowledgeBase(db_kb.settings)  # its own engine and connection pool
    try:
        refused(db_kb, "a@example.com", PASSWORD, "10.0.0.1", T0)
        refused(other_worker, "a@example.com", PASSWORD, "10.0.0.2", T0)
        assert refused(db_kb, "a@example.com", PASSWORD, "10.0.0.3", T0) == "locked 900s"
    finally:
        other_worker.close()


def test_failures_outside_the_window_do_not_lock(db_kb: KnowledgeBase) -> None:
    create_user(
        db_kb, email="ann@example.com", role="agent", password=PASSWORD, actor="cli", now=T0
    )
    refused(db_kb, "ann@example.com", "wrong password!", "10.0.0.1", T0)
    refused(db_kb, "ann@example.com", "wrong password!", "10.0.0.1", T0 + 16 * MIN)
    assert refused(db_kb, "ann@example.com", PASSWORD, "10.0.0.1", T0 + 17 * MIN) == "ok"


SETTINGS = Settings(login_max_failures=3, login_window_minutes=15, login_lockout_minutes=10)


@pytest.mark.parametrize(
    ("minutes", "until"),
    [
        ([], None),
        ([0, 1], None),  # fewer than 3
        ([0, 10, 20, 30], None),  # never 3 within 15 minutes
        ([0, 1, 2], 2 + 10),  # locked 10 minutes after the third
        ([0, 10, 15], 15 + 10),  # the window is inclusive
        ([0, 1, 2, 13], 13 + 20),  # each failure after a lock-out doubles the next one
        ([0, 1, 2, 13, 34], 34 + 40),
        ([0, 1, 2, *range(13, 13 + 12)], 24 + 24 * 60),  # never longer than a day
    ],
)
def test_lockout_grows(minutes: list[int], until: int | None) -> None:
    failures = [T0 + m * MIN for m in minutes]
    assert locked_until(failures, SETTINGS) == (None if until is None else T0 + until * MIN)
