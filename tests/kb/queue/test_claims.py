"""Claiming jobs from the queue on SQLite (compare-and-set) and PostgreSQL (SKIP LOCKED):
each job to one claimer, expired leases retried, releases, renewals, kinds."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.models import IngestJob, utcnow
from kb.queue.claims import claim, enqueue, queue_depth, release, renew, worker_name


def queued(kb: KnowledgeBase, n: int, kind: str = "reindex") -> list[str]:
    return [enqueue(kb, IngestJob(collection="default", kind=kind)) for _ in range(n)]


def test_concurrent_claimers_each_get_different_jobs(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = make_db_kb()
    ids = queued(kb, 24)
    taken: list[list[str]] = [[] for _ in range(4)]
    start = threading.Barrier(4)

    def drain(mine: list[str]) -> None:
        owner = worker_name()
        start.wait()
        while (job := claim(kb, owner, ["reindex"])) is not None:
            mine.append(job.id)

    threads = [threading.Thread(target=drain, args=(mine,)) for mine in taken]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    everything = [job_id for mine in taken for job_id in mine]
    assert sorted(everything) == sorted(ids)  # every job once, none twice
    assert queue_depth(kb) == 0


def test_a_job_whose_lease_ran_out_is_claimed_again_one_attempt_more(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = make_db_kb(job_lease_seconds=60)
    (job_id,) = queued(kb, 1)
    first = claim(kb, "host/1/a", ["reindex"])
    assert first is not None and (first.attempts, first.lease_owner) == (1, "host/1/a")
    assert claim(kb, "host/2/b", ["reindex"]) is None  # its lease holds
    assert renew(kb, job_id, "host/2/b") is False  # not theirs to renew
    assert renew(kb, job_id, "host/1/a") is True
    with session_scope(kb.engine) as session:  # the worker died: nobody renews
        row = session.get(IngestJob, job_id)
        assert row is not None
        row.lease_until = utcnow() - timedelta(seconds=1)
        session.add(row)
    assert queue_depth(kb) == 1
    again = claim(kb, "host/2/b", ["reindex"])
    assert again is not None and (again.id, again.attempts, again.status) == (job_id, 2, "running")
    assert renew(kb, job_id, "host/1/a") is False  # the dead worker's lease is gone


def test_a_released_job_is_queued_again_without_counting_the_attempt(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = make_db_kb()
    (job_id,) = queued(kb, 1)
    job = claim(kb, "host/1/a", ["reindex"])
    assert job is not None
    assert release(kb, job_id, "host/2/b", "queued") is False  # only its holder releases it
    assert release(kb, job_id, "host/1/a", "queued") is True
    with session_scope(kb.engine) as session:
        row = session.get(IngestJob, job_id)
        assert row is not None and (row.status, row.attempts, row.lease_until) == (
            "queued",
            0,
            None,
        )
    assert claim(kb, "host/2/b", ["reindex"]) is not None


def test_a_worker_takes_only_its_kinds_oldest_first(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = make_db_kb()
    uploads = queued(kb, 2, kind="upload")
    (reindex,) = queued(kb, 1, kind="reindex")
    assert queue_depth(kb, ["upload"]) == 2
    picked = claim(kb, "host/1/a", ["reindex"])
    assert picked is not None and picked.id == reindex
    assert claim(kb, "host/1/a", ["reindex"]) is None
    assert [j.id for j in (claim(kb, "w", ["upload"]), claim(kb, "w", ["upload"])) if j] == uploads
    assert claim(kb, "w", ["upload"], job_id=uploads[0]) is None  # taken: not claimable by id
