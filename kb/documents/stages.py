"""Where each job and each document stands, for the console: the job list, and a document's
stage (queued, parsing, indexing, live) read from the jobs that are still at work on it.

Today a job's new versions switch into the index together when it has embedded them, so a
document being indexed still answers with its previous version ("indexing"), and is "live" once
the job is done. Stages between the two (findable by keyword before its vectors exist) belong
here once the index has them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from sqlmodel import col, select

from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.documents.ingestion import safe_name
from kb.documents.jobs import get_job
from kb.documents.schemas import DocumentSummary, IngestJobPublic
from kb.models import IngestJob

DocumentStage = Literal["queued", "parsing", "indexing", "live"]
DOCUMENT_STAGES: tuple[DocumentStage, ...] = ("queued", "parsing", "indexing", "live")


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
    kb: KnowledgeBase, documents: Iterable[DocumentSummary]
) -> dict[str, DocumentStage]:
    """Each document's stage by id: what an unfinished job is doing with its file, else live."""
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
    at_work: dict[tuple[str, str], DocumentStage] = {}
    for job in active:
        for result in job.results:
            name = safe_name(str(result.get("filename", "")))
            at_work[(job.collection, name)] = _file_stage(job, name, str(result.get("status")))
    return {d.id: at_work.get((d.collection, d.source_name), "live") for d in docs}


def _file_stage(job: IngestJob, name: str, status: str) -> DocumentStage:
    if job.status == "queued":
        return "queued"
    if status == "queued":
        parsing = f"parsing {name}"  # a long name is cut short in the stored stage, with "…"
        cut = job.stage.endswith("…") and parsing.startswith(job.stage[:-1])
        return "parsing" if job.stage == parsing or cut else "queued"
    return "indexing"  # parsed and stored; the index switches when the whole job is embedded
