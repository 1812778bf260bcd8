"""Where each job and each document stands, for the console: the job list, and a document's
stage read from the jobs still at work on it and from the live index:

- queued, parsing: a job has its file and has not stored its new version yet;
- indexing: stored, not switched in yet (the previous version still answers);
- keyword: switched in, findable by keyword, its vectors being embedded (a job at work);
- live: findable by meaning too;
- failed: findable by keyword only and no job at work on its vectors (the embedder failed, or
  the process was killed): the next start-up or ``kb check --repair`` embeds them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import TypeVar

from sqlmodel import col, select

from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.documents.ingestion import safe_name
from kb.documents.jobs import get_job
from kb.documents.schemas import DocumentPublic, DocumentStage, IngestJobPublic
from kb.models import IngestJob

DOCUMENT_STAGES: tuple[DocumentStage, ...] = (
    "queued", "parsing", "indexing", "keyword", "live", "failed",
)  # fmt: skip
log = logging.getLogger(__name__)
D = TypeVar("D", bound=DocumentPublic)
_EMBEDDED = re.compile(r"findable by keyword, (\d+)/(\d+) embedded")


def recent_jobs(
    kb: KnowledgeBase, readable: frozenset[str] | None = None, limit: int = 100
) -> list[IngestJobPublic]:
    """The newest jobs of every kind in collections a caller who may read ``readable`` (None:
    all) sees, newest first."""
    with session_scope(kb.engine) as session:
        query = select(IngestJob.id).order_by(col(IngestJob.created_at).desc()).limit(limit)
        if readable is not None:
            query = query.where(col(IngestJob.collection).in_(sorted(readable)))
        ids = session.exec(query).all()
    return [get_job(kb, job_id) for job_id in ids]


def document_stages(
    kb: KnowledgeBase, documents: Iterable[DocumentPublic]
) -> dict[str, DocumentStage]:
    """Each document's stage by id (see the module's docstring)."""
    return {doc_id: stage for doc_id, (stage, _) in document_progress(kb, documents).items()}


def with_stages(kb: KnowledgeBase, documents: list[D]) -> list[D]:
    """``documents`` with their ``stage`` (and, while embedded, ``embedded`` of ``to_embed``)."""
    found = document_progress(kb, documents)
    out = []
    for d in documents:
        stage, counts = found.get(d.id, ("live", None))
        done, total = counts if counts else (None, None)
        out.append(d.model_copy(update={"stage": stage, "embedded": done, "to_embed": total}))
    return out


def document_progress(
    kb: KnowledgeBase, documents: Iterable[DocumentPublic]
) -> dict[str, tuple[DocumentStage, tuple[int, int] | None]]:
    """Each document's stage by id, and for one being embedded its job's (embedded, total)
    passages when the job has said."""
    docs = list(documents)
    collections = sorted({d.collection for d in docs})
    if not collections:
        return {}
    with session_scope(kb.engine) as session:
        active = session.exec(
            select(IngestJob)
            .where(
                col(IngestJob.status).in_(("queued", "running")),
                col(IngestJob.collection).in_(collections),
                col(IngestJob.kind).in_(("upload", "reingest")),
            )
            .order_by(col(IngestJob.created_at))
        ).all()
    waiting = {c: _waiting(kb, c) for c in collections}
    at_work: dict[tuple[str, str], tuple[DocumentStage, tuple[int, int] | None]] = {}
    for job in active:
        found = _EMBEDDED.fullmatch(job.stage)
        counts = (int(found[1]), int(found[2])) if found else None
        for result in job.results:
            name = safe_name(str(result.get("filename", "")))
            stage = _file_stage(job, name, str(result.get("status")))
            at_work[(job.collection, name)] = (stage, counts if stage == "indexing" else None)
    out: dict[str, tuple[DocumentStage, tuple[int, int] | None]] = {}
    for d in docs:
        stage, counts = at_work.get((d.collection, d.source_name), ("live", None))
        if d.id in waiting[d.collection]:
            # Its version is live by keyword: a job at work brings the vectors, else none will.
            stage = "keyword" if (d.collection, d.source_name) in at_work else "failed"
        elif stage == "indexing" and counts is not None:
            stage = "live"  # its job is past the keyword switch and its vectors are in
        out[d.id] = (stage, counts if stage == "keyword" else None)
    return out


def _waiting(kb: KnowledgeBase, collection: str) -> set[str]:
    # For display only: an index that cannot be read (kb check says why) hides no stage behind
    # an error page; its documents show the jobs' stages, else live.
    try:
        return kb.index_store.awaiting_vectors(collection)
    except Exception:
        log.warning("stages of %r shown without the index", collection, exc_info=True)
        return set()


def _file_stage(job: IngestJob, name: str, status: str) -> DocumentStage:
    if job.status == "queued":
        return "queued"
    if status == "queued":
        parsing = f"parsing {name}"  # a long name is cut short in the stored stage, with "…"
        cut = job.stage.endswith("…") and parsing.startswith(job.stage[:-1])
        return "parsing" if job.stage == parsing or cut else "queued"
    return "indexing"  # parsed and stored; the index switches when the whole job is embedded
