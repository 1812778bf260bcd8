"""What a worker does with each kind of job: the handlers it has, by kind.

A handler runs a claimed job to its end and says how it ended: ``done``, ``failed`` or
``released`` (given back to the queue because ``stopping`` was set). A kind without a handler
here (``merge``: kb.queue.claims.JobKind) cannot be given to a worker yet; a background segment
merge becomes a job by adding its handler to ``HANDLERS``.
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

log = logging.getLogger(__name__)

Handler = Callable[[KnowledgeBase, IngestJob, str, threading.Event], str]


def run_reindex(kb: KnowledgeBase, job: IngestJob, owner: str, stopping: threading.Event) -> str:
    """Rebuild the index of the job's collection (a vocabulary change re-cuts every token;
    embeddings come from the cache). A rebuild is short and atomic: it is not released."""
    with held(kb, job.id, owner, stopping):
        set_stage(kb, job.id, "indexing")
        try:
            with kb.collection_lock(job.collection):
                chunks = rebuild_index(kb, job.collection)
        except Exception as exc:
            known = as_domain_error(exc)
            if known is not None:
                error = job_error_text(known.code, known.message)
            else:
                detail = f"{type(exc).__name__}: {exc}"
                error = job_error_text(UNKNOWN_JOB_ERROR, Message(JOB_UNEXPECTED, detail=detail))
            log.exception("re-index job %s failed", job.id)
            finish(kb, job.id, "failed", error=error)
            return "failed"
    log.info("re-index job %s: %r rebuilt with %d chunks", job.id, job.collection, chunks)
    finish(kb, job.id, "done")
    return "done"


HANDLERS: dict[str, Handler] = {
    "upload": run_job,
    "reingest": run_job,
    "reindex": run_reindex,
    "evaluation": run_evaluation_job,
}
