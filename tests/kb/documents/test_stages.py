"""A document's stage, read from the jobs still at work on its file (real database rows)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.documents.schemas import DocumentSummary
from kb.documents.stages import document_stages, recent_jobs
from kb.models import IngestJob, utcnow

LONG = "a" * 80 + ".md"


def summary(doc_id: str, name: str, collection: str = "default") -> DocumentSummary:
    now = utcnow()
    return DocumentSummary(
        id=doc_id, collection=collection, source_name=name, title=name, current_version=1,
        created_at=now, updated_at=now, chunk_count=1,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("status", "stage", "file_status", "expected"),
    [
        ("queued", "queued: 1 files", "queued", "queued"),
        ("running", "parsing guide.md", "queued", "parsing"),
        ("running", "parsing other.md", "queued", "queued"),  # waits for the file before it
        ("running", "indexing 32/40", "ingested", "indexing"),
        ("running", "indexing", "unchanged", "indexing"),
        # Its job embeds, but not this document's passages (its vectors are in): live.
        ("running", "findable by keyword, 3/30 embedded", "ingested", "live"),
        ("done", "done", "ingested", "live"),
        ("failed", "failed", "failed", "live"),  # the previous version still answers
    ],
)
def test_a_documents_stage_follows_its_job(
    make_db_kb: Callable[..., KnowledgeBase],
    status: str,
    stage: str,
    file_status: str,
    expected: str,
) -> None:
    kb = make_db_kb()
    with session_scope(kb.engine) as session:
        session.add(IngestJob(collection="default", status=status, stage=stage, total_files=2,
                              results=[{"filename": "dir/guide.md", "status": file_status},
                                       {"filename": "other.md", "status": "queued"}]))  # fmt: skip
    docs = [summary("d1", "guide.md"), summary("d2", "guide.md", "hr"), summary("d3", "x.md")]
    assert document_stages(kb, docs) == {"d1": expected, "d2": "live", "d3": "live"}


def test_a_long_file_name_cut_in_the_stage_is_still_parsing(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = make_db_kb()
    with session_scope(kb.engine) as session:
        session.add(IngestJob(collection="default", status="running",
                              stage=f"parsing {LONG}"[:63] + "…",
                              results=[{"filename": LONG, "status": "queued"}]))  # fmt: skip
    assert document_stages(kb, [summary("d1", LONG)]) == {"d1": "parsing"}


def test_recent_jobs_are_newest_first_and_limited_to_readable_collections(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = make_db_kb()
    for n, collection in enumerate(["hr", "manuals", "hr"]):
        with session_scope(kb.engine) as session:
            session.add(IngestJob(id=f"job{n}", collection=collection, kind="reindex"))
    assert [j.id for j in recent_jobs(kb)] == ["job2", "job1", "job0"]
    assert [j.id for j in recent_jobs(kb, frozenset({"hr"}))] == ["job2", "job0"]
    assert [j.kind for j in recent_jobs(kb, frozenset(), limit=5)] == []
