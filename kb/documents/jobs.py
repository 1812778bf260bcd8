"""Ingestion jobs (uploads and re-ingests): a row in the one queue (kb.queue), its files kept in
the data directory, run by ``kb worker`` processes or, with ``KB_WORKERS=inline`` (the default),
by this process's threads. The row is the only thing the console reads.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlmodel import col, select

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
from kb.documents.payload import job_items, meta_json
from kb.documents.reasons import (
    JOB_INTERRUPTED,
    JOB_UNEXPECTED,
    JOB_VECTORS_FAILED,
    UNKNOWN_JOB_ERROR,
    VECTORS_FAILED,
    job_error,
    job_error_text,
)
from kb.documents.schemas import IngestJobPublic, JobFileOut
from kb.errors import N_, Invalid, Message, NotFound, parsed
from kb.faults import as_domain_error
from kb.models import IngestJob, new_id, utcnow
from kb.queue.claims import (
    Holding,
    JobKind,
    Released,
    claim,
    enqueue,
    held,
    job_alive,
    release,
    worker_name,
)
from kb.queue.leases import drop_dead_lease, lease_held
from kb.queue.payloads import drop_inputs, store_inputs
from kb.retrieval.vectorfill import fill_vectors
from kb.types import collection_name
from search.pause import pause_point

log = logging.getLogger(__name__)

_STAGE_CHARS = 64  # IngestJob.stage is VARCHAR(64) on PostgreSQL
INGEST_KINDS: tuple[JobKind, ...] = ("upload", "reingest")


@dataclass
class _Runner:
    executor: ThreadPoolExecutor
    owner: str
    futures: dict[str, Future[str]] = field(default_factory=dict)


def _new_runner(kb: KnowledgeBase) -> _Runner:
    # Two threads: jobs on different collections run side by side; the same collection is
    # serialised by kb.collection_lock inside ingest_items.
    executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="kb-ingest")
    weakref.finalize(kb, executor.shutdown, wait=False)
    return _Runner(executor, worker_name("serve"))


_RUNNER: Slot[_Runner] = Slot("documents.jobs", _new_runner)


def _runner(kb: KnowledgeBase) -> _Runner:
    return kb.state(_RUNNER)


def start_ingest_job(
    kb: KnowledgeBase,
    items: Sequence[IngestItem],
    collection: str,
    *,
    actor: str = SYSTEM_ACTOR,
    kind: JobKind = "upload",
) -> str:
    """Queue a job ingesting ``items`` (their bytes stored in the data directory); returns its id.

    It runs as ``actor``: the audit log names who started the job, not the worker. With
    ``KB_WORKERS=inline`` this process runs it at once; with ``external``, a ``kb worker`` does.
    """
    collection_name(collection)
    if not items:
        raise Invalid("no files uploaded", field="files")
    check_upload_count(kb.settings, len(items))
    job_id = new_id()
    names = store_inputs(kb.settings, job_id, [i.data for i in items])
    files = [
        {"filename": i.filename, "input": name, "meta": meta_json(i.meta)}
        for i, name in zip(items, names, strict=True)
    ]
    pending = [{"filename": safe_name(i.filename), "status": "queued"} for i in items]
    job = IngestJob(
        id=job_id,
        kind=kind,
        collection=collection,
        total_files=len(items),
        stage=_stage(f"queued: {len(items)} files"),
        results=pending,
        payload={"files": files},
        actor=actor,
    )
    try:
        enqueue(kb, job)
    except BaseException:
        drop_inputs(kb.settings, job_id)
        raise
    if kb.settings.workers == "inline":
        _submit(kb, job_id)
    return job_id


def _submit(kb: KnowledgeBase, job_id: str) -> None:
    runner = _runner(kb)
    runner.futures[job_id] = runner.executor.submit(_run_inline, kb, job_id, runner.owner)


def run_in_background(kb: KnowledgeBase, task: Callable[..., object], *args: object) -> None:
    """Run ``task(*args)`` on this process's ingestion threads (shut down with the jobs)."""
    _runner(kb).executor.submit(task, *args)


def _run_inline(kb: KnowledgeBase, job_id: str, owner: str) -> str:
    job = claim(kb, owner, INGEST_KINDS, job_id=job_id)
    if job is None:  # a worker took it first
        return "taken"
    return run_job(kb, job, owner)


def resume_queued_jobs(kb: KnowledgeBase) -> int:
    """At an inline start-up: run the ingestion jobs left queued (their files are on disk)."""
    with session_scope(kb.engine) as session:
        ids = session.exec(
            select(IngestJob.id).where(
                col(IngestJob.status) == "queued",
                col(IngestJob.kind).in_(INGEST_KINDS),
                col(IngestJob.payload).is_not(None),
            )
        ).all()
    for job_id in ids:
        _submit(kb, job_id)
    return len(ids)


def run_job(
    kb: KnowledgeBase, job: IngestJob, owner: str, stopping: threading.Event | None = None
) -> str:
    """Run a claimed ingestion job to its end: ``done``, ``failed`` or ``released`` (back to the
    queue because ``stopping`` was set). Past ``KB_JOB_ATTEMPTS`` claims it is failed."""
    if job.attempts > kb.settings.job_attempts or not job.payload:
        _fail_interrupted(kb, job.id)
        return "failed"
    with held(kb, job.id, owner, stopping) as holding:
        try:
            items = job_items(kb, job)
        except FileNotFoundError:  # its input is gone (removed by hand): nothing to retry
            _fail_interrupted(kb, job.id)
            return "failed"
        return _run(kb, job.id, items, job.collection, job.actor, holding)


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
        **job.model_dump(exclude={"results", "error", "payload", "actor", "lease_until"}),
        error=error,
        error_code=code,
        results=[JobFileOut.model_validate(r) for r in job.results],
        finished=finished,
        percent=percent,
    )


def wait_for_job(kb: KnowledgeBase, job_id: str, timeout: float | None = None) -> IngestJobPublic:
    """Block until a job ends (CLI, tests): this process's own by its future, a worker's by
    polling its row; returns it as get_job does (TimeoutError past ``timeout``)."""
    future = _runner(kb).futures.get(job_id)
    if future is not None:
        future.result(timeout=timeout)
    deadline = None if timeout is None else time.monotonic() + timeout
    while not (job := get_job(kb, job_id)).finished:
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} still {job.status} after {timeout} s")
        time.sleep(0.2)
    return job


def shutdown_jobs(kb: KnowledgeBase, *, wait: bool = True) -> None:
    """Stop taking jobs for ``kb``; with ``wait`` let running ones finish (call before kb.close)."""
    runner = kb.drop_state(_RUNNER)
    if runner is not None:
        runner.executor.shutdown(wait=wait, cancel_futures=not wait)


def _run(
    kb: KnowledgeBase,
    job_id: str,
    items: list[IngestItem],
    collection: str,
    actor: str,
    holding: Holding,
) -> str:
    names = [safe_name(i.filename) for i in items]
    _update(kb, job_id, status="running", stage=_stage(f"parsing {names[0]}"))

    def on_file(n: int, total: int, result: FileResult) -> None:
        nxt = f"parsing {names[n]}" if n < total else "indexing"
        _update(kb, job_id, done_files=n, stage=_stage(nxt), processed=result)

    last_shown = [-1]

    def on_index(done: int, total: int) -> None:
        # Released only here: ingest_items then undoes the versions it stored, so the next
        # attempt ingests them afresh (parsing a file is bounded by KB_PARSE_SECONDS).
        holding.check()
        # Embedding reports often; a row update per whole 5 % is enough for a 500 ms poll.
        step = done * 20 // max(total, 1)
        if step != last_shown[0] or done == total:
            last_shown[0] = step
            _update(kb, job_id, stage=_stage(f"indexing {done}/{total}"))

    switched = False  # past phase 1: the new versions are live, by keyword at least
    try:
        results = ingest_items(
            kb, items, collection=collection, on_file=on_file, on_index=on_index, actor=actor,
            keywords_first=True,
        )  # fmt: skip
        # Switched in: findable by keyword now. The files' results show while vectors come.
        _update(kb, job_id, done_files=len(items), results=results)
        switched = True
        pause_point("keyword-findable")
        _fill(kb, job_id, collection, holding)
    except Released:
        # What it committed is completed by the next write of the collection (rebuild_if_stale),
        # vectors still missing by whoever fills next; its files are still on disk for the
        # worker that takes it next (whose re-run finds them unchanged).
        log.info("ingestion job %s released to the queue", job_id)
        release(kb, job_id, holding.owner, _stage(f"queued: {len(items)} files"))
        return "released"
    except Exception as exc:
        known = as_domain_error(exc)  # KBErrors, and faults such as a full disk
        if known is not None:
            error = job_error_text(known.code, known.message)
        else:
            detail = f"{type(exc).__name__}: {exc}"
            error = job_error_text(UNKNOWN_JOB_ERROR, Message(JOB_UNEXPECTED, detail=detail))
        if switched:
            # Phase 2 failed: the documents stay findable by keyword, and say why they wait.
            detail = f"{type(exc).__name__}: {exc}"
            error = job_error_text(VECTORS_FAILED, Message(JOB_VECTORS_FAILED, detail=detail))
        log.exception("ingestion job %s failed", job_id)
        _update(kb, job_id, status="failed", stage="failed", error=error, finished=True)
        drop_inputs(kb.settings, job_id)
        return "failed"
    _update(kb, job_id, status="done", stage="done", finished=True)
    drop_inputs(kb.settings, job_id)
    return "done"


def _fill(kb: KnowledgeBase, job_id: str, collection: str, holding: Holding) -> None:
    """Phase 2: embed what was switched in by keywords only, then switch its vectors in."""
    last_shown = [-1]

    def on_embed(done: int, total: int) -> None:
        holding.check()  # released here, the versions stay: they are live, by keyword
        step = done * 20 // max(total, 1)
        if step != last_shown[0] or done == total:
            last_shown[0] = step
            _update(kb, job_id, stage=_stage(f"findable by keyword, {done}/{total} embedded"))

    fill_vectors(kb, collection, progress=on_embed)


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
            job.lease_until = None  # the owner stays: who ran it
        session.add(job)


# Every way a job's stage is stored (``_run``), so the UI can show it in its reader's language.
STAGE_FORMS: tuple[Message, ...] = (
    N_("queued"),
    N_("done"),
    N_("failed"),
    N_("indexing"),
    N_("querying"),  # an evaluation job (kb.retrieval.evaluation_jobs)
    N_("queued: {files} files"),
    N_("indexing {done}/{total}"),
    N_("parsing {file}"),
    N_("findable by keyword, {done}/{total} embedded"),
)


def stage_message(stage: str) -> Message:
    """A stored stage as a translatable Message (the file name in it stays as it is)."""
    return parsed(stage, STAGE_FORMS)


def _stage(text: str) -> str:
    return text if len(text) <= _STAGE_CHARS else text[: _STAGE_CHARS - 1] + "…"


def abandoned_jobs(kb: KnowledgeBase) -> list[IngestJobPublic]:
    """Jobs left running by a process that died (see kb.queue.claims.job_alive), and queued
    jobs of an older version, which kept no files and held a lease from the start."""
    with session_scope(kb.engine) as session:
        rows = session.exec(
            select(IngestJob).where(col(IngestJob.status).in_(("queued", "running")))
        ).all()
    dead = [
        job.id
        for job in rows
        if (job.status == "running" and not job_alive(kb, job))
        or (
            job.status == "queued"
            and job.kind in INGEST_KINDS  # a queued merge job keeps no files, rightly
            and job.payload is None
            and not lease_held(kb, job.id)
        )
    ]
    return [get_job(kb, job_id) for job_id in dead]


def fail_interrupted_jobs(kb: KnowledgeBase) -> int:
    """At an inline start-up (and ``kb check --repair``): abandoned jobs will never finish; say
    so. A job a live process holds (a worker on this data directory) is left be; with external
    workers, one of them retries a dead worker's job once its lease runs out instead."""
    stale = abandoned_jobs(kb)
    for job in stale:
        _fail_interrupted(kb, job.id)
    return len(stale)


def _fail_interrupted(kb: KnowledgeBase, job_id: str) -> None:
    drop_dead_lease(kb, job_id)
    drop_inputs(kb.settings, job_id)
    error = job_error_text("interrupted", JOB_INTERRUPTED)
    _update(kb, job_id, status="failed", stage="failed", error=error, finished=True)
