"""Failed logins: a growing wait per account+address pair and a cap per address, on SQLite and
PostgreSQL. No one can lock a person out from an address that is not theirs.

``db_kb`` refuses an address after 5 failures (``KB_LOGIN_ADDRESS_MAX_FAILURES=5``), so argon2
runs stay few; the pair waits 1 s after its first failure, then 2, 4, … (the defaults).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from kb.accounts.login_token import device_token
from kb.accounts.sessions import login
from kb.accounts.throttle import address_wait_until, pair_wait_until
from kb.accounts.users import create_user
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.errors import TooManyAttempts, Unauthenticated
from kb.models import LoginFailure
from kb.settings import Settings

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)  # an explicit clock: no test sleeps
PASSWORD = "correct horse battery"
SEC = timedelta(seconds=1)
MIN = timedelta(minutes=1)
ANN = "ann@example.com"


def refused(
    kb: KnowledgeBase,
    email: str,
    password: str,
    address: str,
    at: datetime,
    device: str | None = None,
) -> str:
    """The kind of refusal a login gets: wrong, or waiting with its Retry-After."""
    try:
        login(kb, email=email, password=password, address=address, device=device, now=at)
    except Unauthenticated as exc:
        return exc.message
    except TooManyAttempts as exc:
        return f"wait {exc.retry_after}s"
    return "ok"


WRONG = "email or password is wrong"


@pytest.fixture
def ann(db_kb: KnowledgeBase) -> KnowledgeBase:
    create_user(db_kb, email=ANN, role="agent", password=PASSWORD, actor="cli", now=T0)
    return db_kb


@pytest.mark.parametrize("email", [ANN, "nobody@example.com"])
def test_the_pair_waits_longer_after_each_failure(ann: KnowledgeBase, email: str) -> None:
    here = "10.0.0.1"
    answers = [
        refused(ann, email, "wrong password!", here, T0),  # 1st failure: wait 1 s
        refused(ann, email, PASSWORD, here, T0 + 0.5 * SEC),  # too soon: not even checked
        refused(ann, email, "wrong password!", here, T0 + SEC),  # 2nd: wait 2 s
        refused(ann, email, PASSWORD, here, T0 + 2 * SEC),
        refused(ann, email, "wrong password!", here, T0 + 3 * SEC),  # 3rd: wait 4 s
        refused(ann, email, PASSWORD, here, T0 + 4 * SEC),
    ]
    # Exactly the same whether the account exists or not: nothing tells which.
    assert answers == [WRONG, "wait 1s", WRONG, "wait 1s", WRONG, "wait 3s"]
    later = T0 + 7 * SEC
    if email == ANN:
        assert refused(ann, email, PASSWORD, here, later) == "ok"
        # A success starts the pair afresh: the next slip waits 1 s again, not 8.
        assert refused(ann, email, "wrong password!", here, later) == WRONG
        assert refused(ann, email, PASSWORD, here, later + SEC) == "ok"
    else:
        assert refused(ann, email, PASSWORD, here, later) == WRONG


def test_an_attacker_elsewhere_cannot_lock_the_person_out(ann: KnowledgeBase) -> None:
    attacker = "198.51.100.66"
    at = T0
    for _ in range(5):  # as fast as the waits allow, up to this address's cap
        assert refused(ann, ANN, "wrong password!", attacker, at) == WRONG
        at += 10 * SEC
    assert refused(ann, ANN, PASSWORD, attacker, at).startswith("wait")
    # Ann, at her own desk, signs in at once; so does a colleague sharing no pair with him.
    assert refused(ann, ANN, PASSWORD, "10.0.0.1", at) == "ok"


def test_hammering_during_a_wait_does_not_lengthen_it(ann: KnowledgeBase) -> None:
    here = "10.0.0.1"
    assert refused(ann, ANN, "wrong password!", here, T0) == WRONG
    for tenth in range(1, 10):  # refused unchecked, so never counted
        assert refused(ann, ANN, "wrong password!", here, T0 + tenth * SEC / 10) == "wait 1s"
    assert refused(ann, ANN, PASSWORD, here, T0 + SEC) == "ok"


def test_one_address_spraying_many_accounts_is_capped(ann: KnowledgeBase) -> None:
    sprayer = "10.9.9.9"
    for n, name in enumerate("abcde"):
        assert refused(ann, f"{name}@example.com", PASSWORD, sprayer, T0 + n * MIN) == WRONG
    # The 6th account from this address waits until the first failure leaves the 15-min window.
    assert refused(ann, ANN, PASSWORD, sprayer, T0 + 5 * MIN) == f"wait {10 * 60}s"
    # Another address is not held up, and a success does not reset the sprayer's count.
    assert refused(ann, ANN, PASSWORD, "10.0.0.1", T0 + 5 * MIN) == "ok"
    assert refused(ann, ANN, PASSWORD, sprayer, T0 + 15 * MIN + SEC) == "ok"
    assert refused(ann, "f@example.com", PASSWORD, sprayer, T0 + 15 * MIN + 2 * SEC) == WRONG
    assert refused(ann, ANN, PASSWORD, sprayer, T0 + 15 * MIN + 3 * SEC).startswith("wait")


def test_the_count_holds_across_workers(db_kb: KnowledgeBase) -> None:
    other_worker = KnowledgeBase(db_kb.settings)  # its own engine and connection pool
    try:
        assert refused(db_kb, "a@example.com", PASSWORD, "10.0.0.1", T0) == WRONG
        assert refused(other_worker, "a@example.com", PASSWORD, "10.0.0.1", T0) == "wait 1s"
        refused(other_worker, "b@example.com", PASSWORD, "10.0.0.1", T0)
        refused(db_kb, "c@example.com", PASSWORD, "10.0.0.1", T0)
        refused(other_worker, "d@example.com", PASSWORD, "10.0.0.1", T0)
        refused(db_kb, "e@example.com", PASSWORD, "10.0.0.1", T0)
        assert refused(other_worker, "f@example.com", PASSWORD, "10.0.0.1", T0) == "wait 900s"
    finally:
        other_worker.close()


SETTINGS = Settings(login_delay_seconds=2, login_delay_max_seconds=60, login_address_max_failures=3)


@pytest.mark.parametrize(
    ("seconds", "until"),
    [
        ([], None),
        ([0], 0 + 2),
        ([0, 5], 5 + 4),  # each failure doubles the wait
        ([0, 5, 10, 20], 20 + 16),
        ([0, 5, 10, 20, 40, 80], 80 + 60),  # never longer than the cap
        (list(range(200)), 199 + 60),  # however many: no overflow
    ],
)
def test_pair_wait_doubles_up_to_the_cap(seconds: list[int], until: int | None) -> None:
    failures = [T0 + s * SEC for s in seconds]
    assert pair_wait_until(failures, SETTINGS) == (None if until is None else T0 + until * SEC)


@pytest.mark.parametrize(
    ("minutes", "until"),
    [
        ([0, 1], None),  # under the cap
        ([0, 1, 2], 0 + 15),  # refused until the oldest of the three leaves the window
        ([0, 10, 20, 21, 22], 20 + 15),  # only the newest three count
    ],
)
def test_address_cap_holds_for_the_window(minutes: list[int], until: int | None) -> None:
    failures = [T0 + m * MIN for m in minutes]
    assert address_wait_until(failures, SETTINGS) == (None if until is None else T0 + until * MIN)


def test_failures_older_than_a_day_are_deleted_whoever_they_were(db_kb: KnowledgeBase) -> None:
    for n in range(3):  # names a sprayer uses once and never again
        refused(db_kb, f"once-{n}@example.com", PASSWORD, f"10.1.0.{n}", T0)
    refused(db_kb, "later@example.com", PASSWORD, "10.2.0.1", T0 + timedelta(days=1, seconds=1))
    with session_scope(db_kb.engine) as session:
        left = session.exec(select(LoginFailure.at)).all()
    assert len(left) == 2  # the latest attempt's pair and address only


def test_a_known_browser_skips_the_address_cap_and_nothing_else(ann: KnowledgeBase) -> None:
    office = "10.9.9.9"
    for n, name in enumerate("abcde"):  # a sprayer fills the office address's cap
        refused(ann, f"{name}@example.com", PASSWORD, office, T0 + n * SEC)
    at = T0 + MIN
    assert refused(ann, ANN, PASSWORD, office, at).startswith("wait")
    mine = device_token(ann.settings, ANN, T0 - timedelta(days=3))
    assert refused(ann, ANN, PASSWORD, office, at, device=mine) == "ok"
    # Not for another account, not forged, not once it is older than 90 days.
    assert refused(ann, "a@example.com", PASSWORD, office, at, device=mine).startswith("wait")
    forged = mine[:-1] + ("0" if mine[-1] != "0" else "1")
    assert refused(ann, ANN, PASSWORD, office, at, device=forged).startswith("wait")
    old = device_token(ann.settings, ANN, at - timedelta(days=91))
    assert refused(ann, ANN, PASSWORD, office, at, device=old).startswith("wait")
    # The pair's own wait still holds for a known browser.
    assert refused(ann, ANN, "wrong password!", office, at, device=mine) == WRONG
    assert refused(ann, ANN, PASSWORD, office, at, device=mine) == "wait 1s"
