"""Background ingestion jobs: real ingestion, SQLite and PostgreSQL, the real embedder."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kb.context import KnowledgeBase
from kb.documents.ingestion import IngestItem
from kb.documents.jobs import get_job, shutdown_jobs, start_ingest_job, wait_for_job
from kb.documents.reasons import (
    JOB_ERROR_FORMS,
    JOB_INTERRUPTED,
    JOB_UNEXPECTED,
    job_error,
    job_error_text,
)
from kb.errors import Invalid, Message, NotFound
from kb.retrieval.searching import SearchRequest, search

GUIDE = "# 第2章 充电\n\n## 2.1 充电时间\n\n电池充满约需两小时，请使用原装充电器。\n".encode()


def test_job_ingests_in_background_and_records_per_file_results(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = make_db_kb()
    items = [IngestItem("dir/charge.md", GUIDE), IngestItem("notes.xyz", b"hello")]
    job_id = start_ingest_job(kb, items, "default")

    job = wait_for_job(kb, job_id, timeout=120)

    assert (job.status, job.stage, job.error) == ("done", "done", None)
    assert (job.done_files, job.total_files, job.percent) == (2, 2, 100)
    assert job.finished and job.finished_at
    by_name = {r.filename: r for r in job.results}
    assert by_name["charge.md"].status == "ingested"
    assert by_name["charge.md"].chunks >= 1
    assert by_name["notes.xyz"].status == "failed"
    assert ".xyz" in by_name["notes.xyz"].reason
    hits = search(kb, SearchRequest("充電要多久"))
    assert "两小时" in hits[0].chunk.text
    shutdown_jobs(kb)


def test_second_job_with_same_file_is_unchanged(make_db_kb: Callable[..., KnowledgeBase]) -> None:
    kb = make_db_kb()
    wait_for_job(kb, start_ingest_job(kb, [IngestItem("charge.md", GUIDE)], "manuals"))
    job = wait_for_job(kb, start_ingest_job(kb, [IngestItem("charge.md", GUIDE)], "manuals"))
    assert [r.status for r in job.results] == ["unchanged"]
    assert job.collection == "manuals"


def test_failure_marks_the_job_failed_with_the_message(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    # An unknown embedder fails only when the index is built: a real mid-job failure.
    kb = make_db_kb(embedder="no-such-model")
    job = wait_for_job(kb, start_ingest_job(kb, [IngestItem("charge.md", GUIDE)], "default"))
    assert (job.status, job.stage, job.error_code) == ("failed", "failed", "internal")
    assert job.error is not None and "no-such-model" in job.error
    assert job.error.startswith("an unexpected error stopped the job (ValueError: ")
    assert job.finished_at is not None


@pytest.mark.parametrize(
    ("items", "collection", "field"),
    [
        ([], "default", "files"),
        ([IngestItem("a.md", GUIDE)], "../etc", "collection"),
        ([IngestItem("a.md", GUIDE)], "", "collection"),
    ],
)
def test_start_rejects_bad_input_naming_the_field(
    make_db_kb: Callable[..., KnowledgeBase], items: list[IngestItem], collection: str, field: str
) -> None:
    with pytest.raises(Invalid) as caught:
        start_ingest_job(make_db_kb(), items, collection)
    assert caught.value.field == field


def test_unknown_job_is_not_found(make_db_kb: Callable[..., KnowledgeBase]) -> None:
    with pytest.raises(NotFound, match="nope"):
        get_job(make_db_kb(), "nope")


def test_jobs_left_running_by_a_dead_process_are_failed_at_start(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    from kb.db import session_scope
    from kb.documents.jobs import fail_interrupted_jobs
    from kb.models import IngestJob

    kb = make_db_kb()
    with session_scope(kb.engine) as session:
        session.add(IngestJob(id="dead", collection="default", status="running", total_files=1))
    assert fail_interrupted_jobs(kb) == 1
    job = get_job(kb, "dead")
    assert (job.status, job.error_code) == ("failed", "interrupted")
    assert job.error == JOB_INTERRUPTED
    assert fail_interrupted_jobs(kb) == 0


@pytest.mark.parametrize(
    ("stored", "code", "template", "params"),
    [
        # what this version writes
        (job_error_text("interrupted", JOB_INTERRUPTED), "interrupted", JOB_INTERRUPTED, {}),
        (
            job_error_text("internal", Message(JOB_UNEXPECTED, detail="OSError: [Errno 5] I/O")),
            "internal",
            JOB_UNEXPECTED,
            {"detail": "OSError: [Errno 5] I/O"},
        ),
        (
            "storage_full: the disk is full writing chunks.json (No space left on device): free "
            "space on that disk and try again; nothing was changed",
            "storage_full",
            JOB_ERROR_FORMS[2],
            {"file": "chunks.json", "detail": "No space left on device"},
        ),
        # rows written before errors had codes
        (f"interrupted: {JOB_INTERRUPTED}", "interrupted", JOB_INTERRUPTED, {}),
        ("RuntimeError: boom", "internal", "RuntimeError: boom", {}),
    ],
)
def test_a_stored_job_error_reads_as_a_code_and_a_translatable_message(
    stored: str, code: str, template: str, params: dict[str, str]
) -> None:
    found_code, message = job_error(stored)
    assert (found_code, message.template, message.params) == (code, template, params)


def test_an_inline_start_runs_the_jobs_left_queued(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    from kb.documents.jobs import resume_queued_jobs

    queuing = make_db_kb(workers="external")  # a server that queued and stopped before running
    job_id = start_ingest_job(queuing, [IngestItem("charge.md", GUIDE)], "default")
    assert get_job(queuing, job_id).status == "queued"
    settings = queuing.settings.model_copy(update={"workers": "inline"})
    queuing.close()

    kb = make_db_kb(**settings.model_dump(include={"data_dir", "database_url"}))
    assert resume_queued_jobs(kb) == 1
    job = wait_for_job(kb, job_id, timeout=120)
    assert (job.status, job.attempts, [r.status for r in job.results]) == ("done", 1, ["ingested"])
    assert not (kb.settings.data_dir / "jobs" / job_id).exists()
    assert resume_queued_jobs(kb) == 0
    shutdown_jobs(kb)
