"""Failed-login throttling, kept in SQL so every worker sees it, that no one can use to lock a
person out.

Two subjects count failures:

- the **pair** of account and address: each failure makes that pair wait twice as long as the
  one before (``login_delay_seconds``, then double, up to ``login_delay_max_seconds``). Only
  that pair waits: the same person elsewhere, or a colleague behind the same address, does not.
- the **address** alone: ``login_address_max_failures`` failures within
  ``login_window_minutes`` refuse it until the oldest leaves the window (against one address
  spraying many accounts, which no pair would notice). An account's attempts from a browser
  where it signed in before (a device cookie) neither count nor wait here, so a sprayer behind
  an office's one NAT address does not keep the office out.

No lock is per account: a flat account lock-out lets anyone lock out anyone, and behind a
shared address one guesser would lock out a floor. Guessing one account from many addresses
stays bounded by each address's cap. Every attempt is written *before* the password is checked
(and removed again when it succeeds), so a burst of parallel guesses on several workers counts as
the burst it is. Subjects are hashed: an e-mail with no account is throttled like one with an
account, so the answers never tell which exist.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, delete, select

from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.errors import TooManyAttempts
from kb.models import LoginFailure, as_utc
from kb.settings import Settings

LOOKBACK = timedelta(days=1)  # how long a failure is remembered
_MAX_DOUBLINGS = 30  # 2**30 s is beyond any cap: no overflow however many failures


@dataclass(frozen=True)
class Subjects:
    """The hashed names an attempt counts against."""

    pair: str
    address: str | None  # None: a known device (kb.accounts.login_token) skips the address cap

    @property
    def all(self) -> list[str]:
        return [self.pair] + ([self.address] if self.address else [])


def subject(kind: str, value: str) -> str:
    # Hashed: people type passwords into the e-mail field, and addresses are personal data.
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def subjects_for(account: str, address: str | None, *, known_device: bool = False) -> Subjects:
    """The pair (account at this address) and the address, unless the account signed in on
    this browser before; no known address counts as one."""
    where = address or "-"
    pair = subject("pair", f"{account}\n{where}")
    return Subjects(pair=pair, address=None if known_device else subject("address", where))


def begin_attempt(kb: KnowledgeBase, *, subjects: Subjects, now: datetime) -> list[int]:
    """Count an attempt as failed until :func:`succeeded` says otherwise; refuse while waiting."""
    names = subjects.all
    with session_scope(kb.engine) as session:
        rows = [LoginFailure(subject=s, at=now) for s in names]
        session.add_all(rows)
        session.flush()
        ids = [row.id for row in rows if row.id is not None]
    with session_scope(kb.engine) as session:

        def earlier(name: str, row_id: int) -> list[datetime]:
            found = session.exec(
                select(LoginFailure.at)
                .where(LoginFailure.subject == name, col(LoginFailure.id) < row_id)
                .where(LoginFailure.at > now - LOOKBACK)
                .order_by(col(LoginFailure.at))
            ).all()
            return [as_utc(at) for at in found]

        waits = [pair_wait_until(earlier(subjects.pair, ids[0]), kb.settings)]
        if subjects.address is not None:
            waits.append(address_wait_until(earlier(subjects.address, ids[1]), kb.settings))
        retry = max([(w - now).total_seconds() for w in waits if w is not None], default=0.0)
        if retry > 0:
            # A refused attempt checks nothing, so it is no failure: forget it.
            session.exec(delete(LoginFailure).where(col(LoginFailure.id).in_(ids)))
        # Every subject's, not only these: a sprayer's one-off names are never asked about again.
        session.exec(delete(LoginFailure).where(col(LoginFailure.at) < now - LOOKBACK))
    if retry > 0:
        seconds = math.ceil(retry)
        raise TooManyAttempts(
            "too many failed logins; try again in {seconds} second{value}",
            retry_after=seconds,
            seconds=seconds,
            value="s" if seconds > 1 else "",
        )
    return ids


def succeeded(kb: KnowledgeBase, *, attempt: list[int], subjects: Subjects) -> None:
    """The password was right: this attempt was no failure, and the pair starts afresh.

    The address keeps its earlier failures, or one valid account would reset its address's
    count between guesses at others.
    """
    with session_scope(kb.engine) as session:
        session.exec(delete(LoginFailure).where(col(LoginFailure.id).in_(attempt)))
        session.exec(delete(LoginFailure).where(col(LoginFailure.subject) == subjects.pair))


def pair_wait_until(failures: list[datetime], settings: Settings) -> datetime | None:
    """Until when an account+address pair with ``failures`` (oldest first) must wait: after the
    n-th failure, ``login_delay_seconds`` × 2^(n-1), at most ``login_delay_max_seconds``."""
    if not failures:
        return None
    doublings = min(len(failures) - 1, _MAX_DOUBLINGS)
    wait = min(settings.login_delay_seconds * 2**doublings, settings.login_delay_max_seconds)
    return failures[-1] + timedelta(seconds=wait)


def address_wait_until(failures: list[datetime], settings: Settings) -> datetime | None:
    """Until when an address with ``failures`` (oldest first) is refused: while
    ``login_address_max_failures`` of them lie within ``login_window_minutes``."""
    cap = settings.login_address_max_failures
    window = timedelta(minutes=settings.login_window_minutes)
    if len(failures) < cap:
        return None
    # The cap-th newest failure leaving the window brings the count below the cap.
    return failures[-cap] + window
