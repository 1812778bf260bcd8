"""Evaluation runs as jobs of the one queue when workers run jobs (``KB_WORKERS=external``).

The golden set's two files are stored with the job, a ``kb worker`` measures it, and the result
is kept in the job's row, so any web process shows the run. Inline (the default), a run stays
a thread of the web process that started it (kb.retrieval.evaluation_runs); the page reads both
through :func:`find_run` and :func:`recent_runs`.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from pathlib import Path

from sqlmodel import col, select

from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.errors import Conflict, KBError, NotFound
from kb.models import IngestJob, as_utc, new_id
from kb.queue.claims import enqueue, finish, held, set_stage
from kb.queue.payloads import drop_inputs, read_input, store_inputs
from kb.retrieval.evaluation import evaluate
from kb.retrieval.evaluation_runs import (
    MODES,
    EvaluationRun,
    GoldenSet,
    check_golden,
    evaluation_runs,
    start_run,
)
from kb.retrieval.vocabulary import edited_vocabulary

log = logging.getLogger(__name__)

KIND = "evaluation"
_KEEP = 5
_INTERNAL = "internal error; the server log has details"


def begin_run(
    kb: KnowledgeBase,
    corpus: bytes,
    corpus_name: str,
    queries: bytes,
    queries_name: str,
    *,
    limited_to: frozenset[str] | None = None,
) -> EvaluationRun:
    """Check the golden set and start its run: queued for a worker with external workers, else
    in this process (:func:`kb.retrieval.evaluation_runs.start_run`)."""
    if kb.settings.workers != "external":
        return start_run(kb, corpus, corpus_name, queries, queries_name, limited_to=limited_to)
    golden = check_golden(corpus, corpus_name, queries, queries_name)
    with session_scope(kb.engine) as session:
        busy = session.exec(
            select(IngestJob.id).where(
                col(IngestJob.kind) == KIND, col(IngestJob.status).in_(("queued", "running"))
            )
        ).first()
    if busy is not None:  # one at a time: a run keeps a worker's CPU busy
        raise Conflict(f"evaluation {busy} is still running", field="corpus")
    job_id = new_id()
    store_inputs(kb.settings, job_id, [corpus, queries])
    payload = {
        "corpus_name": corpus_name,
        "queries_name": queries_name,
        "golden": {"passages": golden.passages, "queries": golden.queries,
                   "unknown_relevant": golden.unknown_relevant},
        "limited_to": None if limited_to is None else sorted(limited_to),
    }  # fmt: skip
    job = IngestJob(id=job_id, kind=KIND, collection="", stage="queued", payload=payload)
    enqueue(kb, job)
    return _from_row(job)


def find_run(kb: KnowledgeBase, run_id: str, readable: frozenset[str] | None) -> EvaluationRun:
    """A run of this process, or one a worker runs or ran; 404 for a run the caller may not see."""
    runs = evaluation_runs(kb)
    try:
        return runs.get(run_id, readable)
    except NotFound:
        with session_scope(kb.engine) as session:
            job = session.get(IngestJob, run_id)
        if job is None or job.kind != KIND or not (run := _from_row(job)).visible_to(readable):
            raise
        return run


def recent_runs(kb: KnowledgeBase, readable: frozenset[str] | None) -> list[EvaluationRun]:
    """This process's runs, then the queue's (newest first), as the caller may see them."""
    with session_scope(kb.engine) as session:
        jobs = session.exec(
            select(IngestJob)
            .where(col(IngestJob.kind) == KIND)
            .order_by(col(IngestJob.created_at).desc())
            .limit(_KEEP)
        ).all()
    queued = [r for r in map(_from_row, jobs) if r.visible_to(readable)]
    return evaluation_runs(kb).recent(readable) + queued


def _from_row(job: IngestJob) -> EvaluationRun:
    payload = job.payload or {}
    limited = payload.get("limited_to")
    run = EvaluationRun(
        job.id,
        str(payload.get("corpus_name", "")),
        str(payload.get("queries_name", "")),
        GoldenSet(**payload.get("golden", {"passages": 0, "queries": 0, "unknown_relevant": 0})),
        limited_to=None if limited is None else frozenset(limited),
        result=payload.get("result"),
        error=job.error,
        started_at=as_utc(job.created_at),
        finished_at=as_utc(job.finished_at) if job.finished_at else None,
        finished=threading.Event(),
    )
    if job.status in ("done", "failed"):
        run.status = job.status
        run.finished.set()
    elif job.status == "running":
        run.status = "querying" if job.stage == "querying" else "indexing"
        done, _, total = job.stage.removeprefix("indexing ").partition("/")
        if done.isdigit() and total.isdigit():
            run.indexed, run.to_index = int(done), int(total)
    return run


def run_evaluation_job(
    kb: KnowledgeBase, job: IngestJob, owner: str, stopping: threading.Event
) -> str:
    """A worker's handler: measure the job's golden set with the knowledge base's vocabulary
    and embedder, and keep the result in the job's row. A run is minutes: it is not released."""
    folder = Path(tempfile.mkdtemp(prefix="kb-golden-"))
    with held(kb, job.id, owner, stopping):
        set_stage(kb, job.id, "indexing")

        def on_index(done: int, total: int) -> None:
            stage = "querying" if total and done >= total else f"indexing {done}/{total}"
            set_stage(kb, job.id, stage)

        try:
            (folder / "corpus.jsonl").write_bytes(read_input(kb.settings, job.id, "0.bin"))
            (folder / "queries.jsonl").write_bytes(read_input(kb.settings, job.id, "1.bin"))
            result = evaluate(
                kb.settings, folder / "corpus.jsonl", folder / "queries.jsonl", modes=MODES,
                on_index=on_index, vocabulary=edited_vocabulary(kb), embedder=kb.embedder,
            )  # fmt: skip
        except KBError as exc:
            finish(kb, job.id, "failed", error=exc.message)
            return "failed"
        except Exception:
            log.exception("evaluation job %s failed", job.id)
            finish(kb, job.id, "failed", error=_INTERNAL)
            return "failed"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            drop_inputs(kb.settings, job.id)
    with session_scope(kb.engine) as session:
        row = session.get(IngestJob, job.id)
        if row is not None:
            row.payload = {**(row.payload or {}), "result": result}  # a new dict: JSON notices
            session.add(row)
    finish(kb, job.id, "done")
    return "done"
