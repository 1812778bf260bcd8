"""What a worker does with each kind of job: the handlers it has, by kind.

A handler runs a claimed job to its end and says how it ended: ``done``, ``failed`` or
``released`` (given back to the queue because ``stopping`` was set). A kind without a handler
here cannot be given to a worker.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from kb.context import KnowledgeBase
from kb.documents.jobs import run_job
from kb.documents.reasons import JOB_UNEXPECTED, UNKNOWN_JOB_ERROR, job_error_text
from kb.errors import Message
from kb.faults import as_domain_error
from kb.models import IngestJob
from kb.queue.claims import finish, held, set_stage
from kb.retrieval.evaluation_jobs import run_evaluation_job
from kb.retrieval.indexing import rebuild_index
from kb.retrieval.merging import merge_segments

log = logging.getLogger(__name__)

Handler = Callable[[KnowledgeBase, IngestJob, str, threading.Event], str]


def run_reindex(kb: KnowledgeBase, job: IngestJob, owner: str, stopping: threading.Event) -> str:
    """Rebuild the index of the job's collection (a vocabulary change re-cuts every token;
    embeddings come from the cache). A rebuild is short and atomic: it is not released."""

    def rebuild() -> int:
        with kb.collection_lock(job.collection):
            return rebuild_index(kb, job.collection)

    return _run_indexing(kb, job, owner, stopping, rebuild)


def run_merge(kb: KnowledgeBase, job: IngestJob, owner: str, stopping: threading.Event) -> str:
    """Merge the job's collection's delta segments (their vectors are reused; nothing is
    embedded). Killed mid-way, the previous generation serves and the retry merges again."""

    def merge() -> int:
        meta = merge_segments(kb, job.collection)
        return meta.chunk_count if meta is not None else 0

    return _run_indexing(kb, job, owner, stopping, merge)


def _run_indexing(
    kb: KnowledgeBase,
    job: IngestJob,
    owner: str,
    stopping: threading.Event,
    work: Callable[[], int],
) -> str:
    with held(kb, job.id, owner, stopping):
        set_stage(kb, job.id, "indexing")
        try:
            chunks = work()
        except Exception as exc:
            known = as_domain_error(exc)
            if known is not None:
                error = job_error_text(known.code, known.message)
            else:
                detail = f"{type(exc).__name__}: {exc}"
                error = job_error_text(UNKNOWN_JOB_ERROR, Message(JOB_UNEXPECTED, detail=detail))
            log.exception("%s job %s failed", job.kind, job.id)
            finish(kb, job.id, "failed", error=error)
            return "failed"
    log.info("%s job %s: %r serves %d chunks", job.kind, job.id, job.collection, chunks)
    finish(kb, job.id, "done")
    return "done"


HANDLERS: dict[str, Handler] = {
    "upload": run_job,
    "reingest": run_job,
    "reindex": run_reindex,
    "evaluation": run_evaluation_job,
    "merge": run_merge,
}
