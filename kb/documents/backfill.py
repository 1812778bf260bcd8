"""Vectors a stopped process left missing: a job killed between its two phases (or whose
embedder failed) left documents findable by keyword only; an inline start-up embeds them in the
background, a ``kb worker`` when it starts, embedding only what the cache lacks (``kb check
--repair`` does it in the foreground).
"""

from __future__ import annotations

import logging

from sqlmodel import col, select

from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.documents.jobs import INGEST_KINDS, run_in_background
from kb.models import IngestJob
from kb.queue.claims import job_alive
from kb.retrieval.indexing import known_collections
from kb.retrieval.vectorfill import fill_vectors

log = logging.getLogger(__name__)


def waiting_collections(kb: KnowledgeBase) -> list[str]:
    """Collections whose live generation waits for vectors and that no job is ingesting (that
    job fills them)."""
    return [
        c
        for c in known_collections(kb)
        if kb.index_store.awaiting_vectors(c) and not ingesting(kb, c)
    ]


def resume_vectors(kb: KnowledgeBase) -> list[str]:
    """At an inline start-up: fill :func:`waiting_collections` on the ingestion threads."""
    waiting = waiting_collections(kb)
    for collection in waiting:
        run_in_background(kb, fill_missing, kb, collection)
    return waiting


def ingesting(kb: KnowledgeBase, collection: str) -> bool:
    """Whether an ingestion job of ``collection`` is queued or running (and will fill vectors)."""
    with session_scope(kb.engine) as session:
        found = session.exec(
            select(IngestJob).where(
                col(IngestJob.collection) == collection,
                col(IngestJob.status).in_(("queued", "running")),
                col(IngestJob.kind).in_(INGEST_KINDS),
            )
        ).all()
    return any(job.status == "queued" or job_alive(kb, job) for job in found)


def fill_missing(kb: KnowledgeBase, collection: str) -> None:
    """:func:`~kb.retrieval.vectorfill.fill_vectors`, logging a failure instead of raising."""
    try:
        done = fill_vectors(kb, collection)
    except Exception:  # the embedder is down again: kb check --repair, or the next start
        log.exception("vectors of %r still missing", collection)
        return
    log.info("vectors of %d documents of %r completed after a restart", done, collection)
