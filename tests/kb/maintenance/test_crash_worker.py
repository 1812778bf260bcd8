"""``kb worker`` as real processes: one SIGKILLed mid-job, its job retried by another once the
lease runs out, re-embedding nothing the cache holds; SIGTERM stops a worker gracefully."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from crashing import COLLECTION, FAQ_ROWS, child_env, kill, new_corpus, wait_for_marker

from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.documents.catalog import DocumentQuery, list_documents
from kb.documents.ingestion import IngestItem, ingest_items
from kb.documents.jobs import get_job, start_ingest_job
from kb.models import IngestJob
from kb.queue.claims import queue_depth
from kb.queue.payloads import read_input

BATCH = 32  # passages per embedding batch: the kill comes after the first is cached
LEASE = 3.0


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> dict[str, object]:
    if request.param == "postgresql":
        return {"database_url": request.getfixturevalue("postgres_url")}
    return {}


def start_worker(
    kb: KnowledgeBase, tmp_path: Path, name: str, *args: str, pause: bool = False
) -> tuple[subprocess.Popen[bytes], Path]:
    """``kb worker`` on ``kb``'s data directory and database; returns it and its status file."""
    marker, status = tmp_path / f"{name}.paused", tmp_path / f"{name}.json"
    url = str(kb.settings.database_url) if kb.settings.database_url else None
    env = child_env(kb.settings.cache_dir or tmp_path, "mid-embedding" if pause else None,
                    marker, url) | {"KB_JOB_LEASE_SECONDS": str(LEASE)}  # fmt: skip
    command = [sys.executable, "-m", "kb.cli", "worker", "--data-dir", str(kb.settings.data_dir),
               "--status-file", str(status), "--poll", "0.5", *args]  # fmt: skip
    with open(tmp_path / f"{name}.log", "ab") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
    return process, status


def wait_until(condition: Callable[[], bool], what: str, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)  # polling the database or a file the child writes
    raise AssertionError(f"not within {seconds} s: {what}")


def the_job(kb: KnowledgeBase, job_id: str) -> IngestJob:
    with session_scope(kb.engine) as session:
        job = session.get(IngestJob, job_id)
    assert job is not None
    return job


def first_version(
    make_kb: Callable[..., KnowledgeBase], tmp_path: Path, **backend: object
) -> tuple[KnowledgeBase, IngestItem]:
    """A knowledge base whose jobs are for workers, with the corpus's first version; and the
    FAQ's second version (40 new chunks: two embedding batches)."""
    kb = make_kb(workers="external", job_lease_seconds=LEASE, **backend)
    corpus = new_corpus(tmp_path / "corpus")
    corpus.write_first_version()
    items = [IngestItem(p.name, p.read_bytes()) for p in sorted(corpus.folder.iterdir())]
    ingest_items(kb, items, collection=COLLECTION)
    corpus.write_second_version()
    new_faq = IngestItem("faq.csv", (corpus.folder / "faq.csv").read_bytes())
    return kb, new_faq


def jobs_done(status_file: Path) -> int:
    return int(json.loads(status_file.read_text())["jobs_done"]) if status_file.exists() else 0


def current_version(kb: KnowledgeBase, name: str) -> int:
    docs = {d.source_name: d for d in list_documents(kb, DocumentQuery(COLLECTION))}
    return docs[name].current_version


@pytest.mark.timeout(900)
def test_a_killed_workers_job_is_retried_by_another_without_re_embedding(
    make_kb: Callable[..., KnowledgeBase], tmp_path: Path, backend: dict[str, object]
) -> None:
    kb, new_faq = first_version(make_kb, tmp_path, **backend)
    job_id = start_ingest_job(kb, [new_faq], COLLECTION, actor="manager@example.com")
    # Queued for a worker: the bytes are in the data directory, nothing runs it in this process.
    assert read_input(kb.settings, job_id, "0.bin") == new_faq.data
    assert (the_job(kb, job_id).status, queue_depth(kb)) == ("queued", 1)
    cached = kb.embedding_cache.count()

    first, _ = start_worker(kb, tmp_path, "first", pause=True)
    try:
        assert wait_for_marker(first, tmp_path / "first.paused", time.monotonic() + 300)
    finally:
        kill(first)
    assert first.returncode == -signal.SIGKILL
    killed = the_job(kb, job_id)
    assert (killed.status, killed.attempts) == ("running", 1)
    assert kb.embedding_cache.count() - cached == BATCH  # one batch embedded before the kill

    second, status_file = start_worker(kb, tmp_path, "second")
    try:
        wait_until(lambda: the_job(kb, job_id).status in ("done", "failed"), "the retry ends")
        wait_until(lambda: jobs_done(status_file) == 1, "its status file says so")
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=60) == 0
    finally:
        kill(second)

    job = get_job(kb, job_id)
    assert (job.status, job.attempts) == ("done", 2)
    assert the_job(kb, job_id).actor == "manager@example.com"  # the worker ingests as its starter
    assert job.lease_owner and job.lease_owner != killed.lease_owner
    assert job.lease_owner.split("/")[1] == str(second.pid)
    # The retry embedded only what the killed worker had not cached (the new version was live
    # by keyword meanwhile: the kill came while its vectors were embedded, phase 2).
    meta = kb.index_store.current_meta(COLLECTION)
    assert meta is not None and meta.unembedded == 0
    assert [r.status for r in job.results] == ["unchanged"]
    assert kb.embedding_cache.count() - cached == FAQ_ROWS
    status = json.loads(status_file.read_text())
    assert status["state"] == "stopped"
    assert (status["jobs_done"], status["jobs_failed"], status["queue_depth"]) == (1, 0, 0)
    assert status["embedded_chunks"] == FAQ_ROWS - BATCH and status["embedding_rate"] > 0
    assert current_version(kb, "faq.csv") == 2
    assert not (kb.settings.data_dir / "jobs" / job_id).exists()  # its input, gone once done


@pytest.mark.timeout(900)
def test_sigterm_gives_the_running_job_back_and_a_second_worker_finishes_it(
    make_kb: Callable[..., KnowledgeBase], tmp_path: Path
) -> None:
    kb, new_faq = first_version(make_kb, tmp_path)
    job_id = start_ingest_job(kb, [new_faq], COLLECTION)
    cached = kb.embedding_cache.count()

    first, first_status = start_worker(kb, tmp_path, "first", "--grace", "0")
    try:
        wait_until(
            lambda: the_job(kb, job_id).stage.startswith("findable by keyword"), "phase 2 starts"
        )
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=120) == 0  # stopped by itself, not killed
    finally:
        kill(first)
    released = the_job(kb, job_id)
    assert (released.status, released.attempts, released.lease_until) == ("queued", 0, None)
    status = json.loads(first_status.read_text())
    assert (status["state"], status["jobs_released"], status["jobs_done"]) == ("stopped", 1, 0)
    # Released while its vectors were embedded: the new version stays live (by keyword).
    assert current_version(kb, "faq.csv") == 2
    assert kb.index_store.awaiting_vectors(COLLECTION)

    second, _ = start_worker(kb, tmp_path, "second")
    try:
        wait_until(lambda: the_job(kb, job_id).status == "done", "the second worker finishes")
        second.send_signal(signal.SIGTERM)  # idle: stops at once
        assert second.wait(timeout=60) == 0
    finally:
        kill(second)
    job = get_job(kb, job_id)
    assert (job.attempts, [r.status for r in job.results]) == (1, ["unchanged"])
    assert not kb.index_store.awaiting_vectors(COLLECTION)
    assert kb.embedding_cache.count() - cached == FAQ_ROWS  # each new passage embedded once
    assert current_version(kb, "faq.csv") == 2


@pytest.mark.timeout(600)
def test_sigterm_lets_the_running_job_finish_within_the_grace_period(
    make_kb: Callable[..., KnowledgeBase], tmp_path: Path
) -> None:
    kb, new_faq = first_version(make_kb, tmp_path)
    job_id = start_ingest_job(kb, [new_faq], COLLECTION)
    worker, status_file = start_worker(kb, tmp_path, "worker", "--grace", "600")
    try:
        wait_until(lambda: the_job(kb, job_id).status == "running", "the job starts")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=600) == 0
    finally:
        kill(worker)
    assert get_job(kb, job_id).status == "done"
    status = json.loads(status_file.read_text())
    assert (status["state"], status["jobs_done"], status["jobs_released"]) == ("stopped", 1, 0)
