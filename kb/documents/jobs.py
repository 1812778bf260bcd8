"""Background ingestion jobs: an IngestJob row tracks a run of ``ingest_items`` in a worker thread.

The executor belongs to the KnowledgeBase (attached on first use, never at import); the row is
the only thing the console reads.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import IO, Any

from kb.audit import SYSTEM_ACTOR
from kb.context import KnowledgeBase, Slot
from kb.db import session_scope
from kb.documents.ingestion import (
    FileResult,
    IngestItem,
    check_upload_count,
    ingest_items,
    safe_name,
)
from kb.documents.leases import drop_dead_lease, lease_held, release_lease, take_lease
from kb.documents.reasons import (
    JOB_INTERRUPTED,
    JOB_UNEXPECTED,
    UNKNOWN_JOB_ERROR,
    job_error,
    job_error_text,
)
from kb.documents.schemas import IngestJobPublic, JobFileOut
from kb.errors import N_, Invalid, Message, NotFound, parsed
from kb.faults import as_domain_error
from kb.models import IngestJob, utcnow
from kb.types import collection_name

log = logging.getLogger(__name__)

_STAGE_CHARS = 64  # IngestJob.stage is VARCHAR(64) on PostgreSQL


@dataclass
class _Runner:
    executor: ThreadPoolExecutor
    futures: dict[str, Future[None]] = field(default_factory=dict)


def _new_runner(kb: KnowledgeBase) -> _Runner:
    # Two workers: jobs on different collections run side by side; the same collection is
    # serialised by kb.collection_lock inside ingest_items.
    executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="kb-ingest")
    weakref.finalize(kb, executor.shutdown, wait=False)
    return _Runner(executor)


_RUNNER: Slot[_Runner] = Slot("documents.jobs", _new_runner)


def _runner(kb: KnowledgeBase) -> _Runner:
    return kb.state(_RUNNER)


def start_ingest_job(
    kb: KnowledgeBase,
    items: Sequence[IngestItem],
    collection: str,
    *,
    actor: str = SYSTEM_ACTOR,
) -> str:
    """Record a queued job and ingest ``items`` in the background; returns the job id.

    The worker ingests as ``actor``: the audit log names who started the job, not the thread.
    """
    collection_name(collection)
    if not items:
        raise Invalid("no files uploaded", field="files")
    check_upload_count(kb.settings, len(items))
    pending = [{"filename": safe_name(i.filename), "status": "queued"} for i in items]
    with session_scope(kb.engine) as session:
        job = IngestJob(
            collection=collection,
            total_files=len(items),
            stage=_stage(f"queued: {len(items)} files"),
            results=pending,
        )
        session.add(job)
        job_id = job.id
    # Held until the job ends: `kb check` and the next start-up tell a dead process's job by it.
    lease = take_lease(kb, job_id)
    runner = _runner(kb)
    try:
        runner.futures[job_id] = runner.executor.submit(
            _leased_run, kb, job_id, list(items), collection, lease, actor
        )
    except BaseException:
        release_lease(kb, job_id, lease)
        raise
    return job_id


def get_job(kb: KnowledgeBase, job_id: str) -> IngestJobPublic:
    """The job with its files' results, ``finished`` and ``percent`` for display; a failed
    job's ``error`` is its English message and ``error_code`` a stable code."""
    with session_scope(kb.engine) as session:
        job = session.get(IngestJob, job_id)
        if job is None:
            raise NotFound("no ingestion job with id {job_id!r}", field="job_id", job_id=job_id)
    finished = job.status in ("done", "failed")
    percent = 100 if finished else int(90 * job.done_files / max(job.total_files, 1))
    code, error = job_error(job.error) if job.error else (None, None)
    return IngestJobPublic(
        **job.model_dump(exclude={"results", "error"}),
        error=error,
        error_code=code,
        results=[JobFileOut.model_validate(r) for r in job.results],
        finished=finished,
        percent=percent,
    )


def wait_for_job(kb: KnowledgeBase, job_id: str, timeout: float | None = None) -> IngestJobPublic:
    """Block until a job started by this process ends (CLI, tests); returns it as get_job does."""
    future = _runner(kb).futures.get(job_id)
    if future is not None:
        future.result(timeout=timeout)
    return get_job(kb, job_id)


def shutdown_jobs(kb: KnowledgeBase, *, wait: bool = True) -> None:
    """Stop taking jobs for ``kb``; with ``wait`` let running ones finish (call before kb.close)."""
    runner = kb.drop_state(_RUNNER)
    if runner is not None:
        runner.executor.shutdown(wait=wait, cancel_futures=not wait)


def _leased_run(
    kb: KnowledgeBase,
    job_id: str,
    items: list[IngestItem],
    collection: str,
    lease: IO[bytes],
    actor: str,
) -> None:
    try:
        _run(kb, job_id, items, collection, actor)
    finally:
        release_lease(kb, job_id, lease)


def _run(
    kb: KnowledgeBase, job_id: str, items: list[IngestItem], collection: str, actor: str
) -> None:
    names = [safe_name(i.filename) for i in items]
    _update(kb, job_id, status="running", stage=_stage(f"parsing {names[0]}"))

    def on_file(n: int, total: int, result: FileResult) -> None:
        nxt = f"parsing {names[n]}" if n < total else "indexing"
        _update(kb, job_id, done_files=n, stage=_stage(nxt), processed=result)

    last_shown = [-1]

    def on_index(done: int, total: int) -> None:
        # Embedding reports often; a row update per whole 5 % is enough for a 500 ms poll.
        step = done * 20 // max(total, 1)
        if step != last_shown[0] or done == total:
            last_shown[0] = step
            _update(kb, job_id, stage=_stage(f"indexing {done}/{total}"))

    try:
        results = ingest_items(
            kb, items, collection=collection, on_file=on_file, on_index=on_index, actor=actor
        )
    except Exception as exc:
        known = as_domain_error(exc)  # KBErrors, and faults such as a full disk
        if known is not None:
            error = job_error_text(known.code, known.message)
        else:
            detail = f"{type(exc).__name__}: {exc}"
            error = job_error_text(UNKNOWN_JOB_ERROR, Message(JOB_UNEXPECTED, detail=detail))
        log.exception("ingestion job %s failed", job_id)
        _update(kb, job_id, status="failed", stage="failed", error=error, finished=True)
        return
    _update(
        kb,
        job_id,
        status="done",
        stage="done",
        done_files=len(items),
        results=results,
        finished=True,
    )


def _update(
    kb: KnowledgeBase,
    job_id: str,
    *,
    processed: FileResult | None = None,
    results: list[FileResult] | None = None,
    finished: bool = False,
    **values: Any,
) -> None:
    with session_scope(kb.engine) as session:
        job = session.get(IngestJob, job_id)
        if job is None:  # deleted while running: nothing left to report to
            return
        for key, value in values.items():
            setattr(job, key, value)
        if processed is not None:
            # Each file's own result as soon as it is known (the index switches at the end).
            # Reassign, not mutate: the JSON column only notices a new list.
            done = {**asdict(processed), "status": processed.status}
            job.results = [
                done if r["filename"] == processed.filename and r["status"] == "queued" else r
                for r in job.results
            ]
        if results is not None:
            job.results = [asdict(r) for r in results]
        if finished:
            job.finished_at = utcnow()
        session.add(job)


# Every way a job's stage is stored (``_run``), so the UI can show it in its reader's language.
STAGE_FORMS: tuple[Message, ...] = (
    N_("done"),
    N_("failed"),
    N_("indexing"),
    N_("queued: {files} files"),
    N_("indexing {done}/{total}"),
    N_("parsing {file}"),
)


def stage_message(stage: str) -> Message:
    """A stored stage as a translatable Message (the file name in it stays as it is)."""
    return parsed(stage, STAGE_FORMS)


def _stage(text: str) -> str:
    return text if len(text) <= _STAGE_CHARS else text[: _STAGE_CHARS - 1] + "…"


def abandoned_jobs(kb: KnowledgeBase) -> list[IngestJobPublic]:
    """Jobs left queued or running by a process that died: no live process holds their lease."""
    from sqlmodel import col, select

    with session_scope(kb.engine) as session:
        ids = session.exec(
            select(IngestJob.id).where(col(IngestJob.status).in_(("queued", "running")))
        ).all()
    return [get_job(kb, job_id) for job_id in ids if not lease_held(kb, job_id)]


def fail_interrupted_jobs(kb: KnowledgeBase) -> int:
    """At start-up (and ``kb check --repair``): abandoned jobs will never finish; say so.

    A job whose lease a live process holds (another worker on this data directory) is left be.
    """
    stale = abandoned_jobs(kb)
    for job in stale:
        drop_dead_lease(kb, job.id)
        _update(
            kb,
            job.id,
            status="failed",
            stage="failed",
            error=job_error_text("interrupted", JOB_INTERRUPTED),
            finished=True,
        )
    return len(stale)
