"""Taking jobs from the queue and holding them: the lease column, its renewal, and the wake-up.

A job is claimable while ``queued``, or ``running`` with a lease that ran out (its worker died:
it is retried, one more attempt). SQLite claims by compare-and-set (``UPDATE … WHERE`` still
claimable: SQLite runs one writer at a time, so one claimer wins); PostgreSQL by ``SELECT … FOR
UPDATE SKIP LOCKED``, so concurrent workers never wait on each other's rows, and a new job is
announced with ``NOTIFY`` to the workers ``LISTEN``ing. README "Scale-out" says why this is not
PgQueuer or procrastinate.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, get_args

from sqlalchemy import and_, func, or_, text, update
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select

from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.models import IngestJob, as_utc, new_id, utcnow
from kb.queue.leases import lease_held, release_lease, take_lease

log = logging.getLogger(__name__)

# "merge" is the hook for background segment merges: a kind a worker may be given once its
# handler exists (kb/workers registers the handlers it has).
JobKind = Literal["upload", "reingest", "reindex", "evaluation", "merge"]
JOB_KINDS: tuple[JobKind, ...] = get_args(JobKind)
CHANNEL = "kb_jobs"  # PostgreSQL NOTIFY channel: the payload is the new job's kind


class Released(Exception):
    """Raised inside a job's progress when its worker is stopping: the job goes back queued."""


def worker_name(label: str = "") -> str:
    """``host/pid/token``: who holds a lease, unique per claimer and telling its host."""
    token = label or new_id()[:6]
    return f"{socket.gethostname()}/{os.getpid()}/{token}"[:128]


def on_this_host(owner: str | None) -> bool:
    return bool(owner) and str(owner).split("/", 1)[0] == socket.gethostname()


def is_postgres(kb: KnowledgeBase) -> bool:
    return kb.engine.dialect.name == "postgresql"


def enqueue(kb: KnowledgeBase, job: IngestJob) -> str:
    """Store a queued job and wake the workers; returns its id."""
    with session_scope(kb.engine) as session:
        session.add(job)
        job_id = job.id
        if is_postgres(kb):  # delivered at commit, to every listener
            session.connection().execute(
                text("SELECT pg_notify(:channel, :kind)"), {"channel": CHANNEL, "kind": job.kind}
            )
    return job_id


def _claimable(now: datetime) -> ColumnElement[bool]:
    expired = and_(col(IngestJob.status) == "running", col(IngestJob.lease_until) < now)
    return or_(col(IngestJob.status) == "queued", expired)


def claim(
    kb: KnowledgeBase, owner: str, kinds: Sequence[str], *, job_id: str | None = None
) -> IngestJob | None:
    """Take the oldest claimable job of ``kinds`` (or ``job_id`` only) for ``owner``; None if
    there is none. The job comes back ``running`` with its lease and one more attempt."""
    now = utcnow()
    until = now + timedelta(seconds=kb.settings.job_lease_seconds)
    where = [_claimable(now), col(IngestJob.kind).in_(list(kinds))]
    if job_id is not None:
        where.append(col(IngestJob.id) == job_id)
    taken = {"status": "running", "lease_owner": owner, "lease_until": until}
    if is_postgres(kb):
        with session_scope(kb.engine) as session:
            query = select(IngestJob).where(*where).order_by(col(IngestJob.created_at)).limit(1)
            job = session.exec(query.with_for_update(skip_locked=True)).first()
            if job is None:
                return None
            for key, value in taken.items():
                setattr(job, key, value)
            job.attempts += 1
            session.add(job)
        return job
    with session_scope(kb.engine) as session:
        ids = session.exec(
            select(IngestJob.id).where(*where).order_by(col(IngestJob.created_at)).limit(8)
        ).all()
    for candidate in ids:
        with kb.engine.begin() as connection:
            won = connection.execute(
                update(IngestJob)
                .where(col(IngestJob.id) == candidate, _claimable(now))
                .values(**taken, attempts=col(IngestJob.attempts) + 1)
            ).rowcount
        if won == 1:
            with session_scope(kb.engine) as session:
                return session.get(IngestJob, candidate)
    return None


def renew(kb: KnowledgeBase, job_id: str, owner: str) -> bool:
    """Extend ``owner``'s lease on a running job; False if it is no longer theirs."""
    until = utcnow() + timedelta(seconds=kb.settings.job_lease_seconds)
    with kb.engine.begin() as connection:
        mine = and_(col(IngestJob.id) == job_id, col(IngestJob.lease_owner) == owner)
        rows = connection.execute(
            update(IngestJob)
            .where(mine, col(IngestJob.status) == "running")
            .values(lease_until=until)
        ).rowcount
    return rows == 1


def release(kb: KnowledgeBase, job_id: str, owner: str, stage: str) -> bool:
    """Give a running job back to the queue unfinished (a worker stopping): not an attempt."""
    with kb.engine.begin() as connection:
        mine = and_(col(IngestJob.id) == job_id, col(IngestJob.lease_owner) == owner)
        rows = connection.execute(
            update(IngestJob)
            .where(mine, col(IngestJob.status) == "running")
            .values(
                status="queued",
                stage=stage,
                lease_until=None,
                attempts=func.greatest(col(IngestJob.attempts) - 1, 0)
                if is_postgres(kb)
                else func.max(col(IngestJob.attempts) - 1, 0),
            )
        ).rowcount
    if rows == 1 and is_postgres(kb):
        with kb.engine.begin() as connection:
            connection.execute(text("SELECT pg_notify(:c, 'released')"), {"c": CHANNEL})
    return rows == 1


def finish(kb: KnowledgeBase, job_id: str, status: str, *, error: str | None = None) -> None:
    """End a job (``done`` or ``failed``, also its stage): its lease goes, its owner stays."""
    with session_scope(kb.engine) as session:
        job = session.get(IngestJob, job_id)
        if job is None:
            return
        job.status, job.stage, job.error = status, status, error
        job.finished_at, job.lease_until = utcnow(), None
        session.add(job)


def set_stage(kb: KnowledgeBase, job_id: str, stage: str) -> None:
    """Say what a running job is doing (one of kb.documents.jobs.STAGE_FORMS)."""
    with kb.engine.begin() as connection:
        connection.execute(update(IngestJob).where(col(IngestJob.id) == job_id).values(stage=stage))


def queue_depth(kb: KnowledgeBase, kinds: Sequence[str] = JOB_KINDS) -> int:
    """Jobs of ``kinds`` waiting for a worker (queued, or left by a dead one)."""
    with session_scope(kb.engine) as session:
        query = select(func.count()).select_from(IngestJob)
        where = [_claimable(utcnow()), col(IngestJob.kind).in_(list(kinds))]
        return int(session.exec(query.where(*where)).one())


def job_alive(kb: KnowledgeBase, job: IngestJob) -> bool:
    """Whether a process may still be running ``job``: on this host, one holds its ``flock`` (the
    OS drops it when the process dies, SIGKILL included, so a death is told at once); on another
    host, its lease has not run out."""
    if lease_held(kb, job.id):
        return True
    if job.lease_until is None or on_this_host(job.lease_owner):
        return False
    return as_utc(job.lease_until) >= utcnow()


@dataclass
class Holding:
    """A claimed job while it runs: ``stopping`` asks its progress to raise :class:`Released`."""

    job_id: str
    owner: str
    stopping: threading.Event = field(default_factory=threading.Event)
    lost: bool = False

    def check(self) -> None:
        """Called from the job's progress: leave the job to another worker when stopping."""
        if self.stopping.is_set():
            raise Released(self.job_id)


@contextmanager
def held(
    kb: KnowledgeBase, job_id: str, owner: str, stopping: threading.Event | None = None
) -> Iterator[Holding]:
    """Hold a claimed job: its ``flock`` on this host, and its lease renewed every third of its
    length until the block ends."""
    holding = Holding(job_id, owner, stopping or threading.Event())
    handle = take_lease(kb, job_id)
    done = threading.Event()

    def heartbeat() -> None:
        while not done.wait(kb.settings.job_lease_seconds / 3):
            try:
                if not renew(kb, job_id, owner):
                    holding.lost = True
                    log.warning("job %s: lease lost to another worker", job_id)
                    return
            except Exception:  # a database hiccup: try again next beat, the lease has slack
                log.exception("job %s: lease renewal failed", job_id)

    beat = threading.Thread(target=heartbeat, name=f"kb-lease-{job_id}", daemon=True)
    beat.start()
    try:
        yield holding
    finally:
        done.set()
        beat.join()
        release_lease(kb, job_id, handle)


class Wakeup:
    """Waits for new work: ``LISTEN`` on PostgreSQL (a poll as the fallback), a poll on SQLite."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self._connection: Any = None
        if is_postgres(kb):
            import psycopg

            url = kb.engine.url.set(drivername="postgresql")
            self._connection = psycopg.connect(
                url.render_as_string(hide_password=False), autocommit=True
            )
            self._connection.execute(f"LISTEN {CHANNEL}")

    def wait(self, seconds: float, stop: threading.Event) -> None:
        """Return when a job is announced, ``stop`` is set or ``seconds`` have passed."""
        if self._connection is None:
            stop.wait(seconds)
            return
        remaining = seconds
        while remaining > 0 and not stop.is_set():
            step = min(remaining, 0.5)  # short steps: a stop request is seen within half a second
            for _ in self._connection.notifies(timeout=step, stop_after=1):
                return
            remaining -= step

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
