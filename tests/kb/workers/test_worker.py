"""The worker loop in-process: kinds checked, a job's unexpected error fails that job only, its
status file (the real-process tests are tests/kb/maintenance/test_crash_worker.py)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from kb.context import KnowledgeBase
from kb.documents.ingestion import IngestItem, ingest_items
from kb.documents.jobs import get_job, start_ingest_job
from kb.errors import Invalid
from kb.models import IngestJob
from kb.queue.claims import enqueue, finish
from kb.workers import handlers
from kb.workers.worker import Worker, read_statuses

GUIDE = "# 第2章 充电\n\n## 2.1 充电时间\n\n电池充满约需两小时。\n".encode()


@pytest.mark.parametrize("kinds", [[], ["upload", "merges"], ["nope"]])
def test_a_worker_refuses_kinds_it_has_no_handler_for(
    make_kb: Callable[..., KnowledgeBase], kinds: list[str]
) -> None:
    with pytest.raises(Invalid) as caught:
        Worker(make_kb(), kinds)
    assert caught.value.field == "kinds"
    assert "upload, reingest, reindex, evaluation, merge" in caught.value.message


def test_an_unexpected_error_fails_that_job_and_the_worker_goes_on(
    make_kb: Callable[..., KnowledgeBase], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> str:  # a handler with a bug, at the handler boundary
        raise RuntimeError("handler bug")

    monkeypatch.setitem(handlers.HANDLERS, "reindex", broken)
    kb = make_kb(workers="external")
    broken_job = enqueue(kb, IngestJob(collection="default", kind="reindex"))
    upload = start_ingest_job(kb, [IngestItem("charge.md", GUIDE)], "default")
    worker = Worker(kb, ["reindex", "upload"], status_file=tmp_path / "w.json",
                    poll_seconds=0.2, beat_seconds=0.2)  # fmt: skip
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        deadline = time.monotonic() + 120
        while not (get_job(kb, broken_job).finished and get_job(kb, upload).finished):
            assert time.monotonic() < deadline, "the jobs did not end"
            time.sleep(0.2)
    finally:
        worker.request_stop()
        thread.join(timeout=60)
    assert not thread.is_alive()
    failed = get_job(kb, broken_job)
    assert (failed.status, failed.error_code) == ("failed", "internal")
    assert failed.error is not None and "RuntimeError: handler bug" in failed.error
    assert get_job(kb, upload).status == "done"
    status = json.loads((tmp_path / "w.json").read_text())
    assert (status["state"], status["jobs_done"], status["jobs_failed"]) == ("stopped", 1, 1)
    assert status["kinds"] == ["reindex", "upload"] and status["current_job"] is None


def test_kb_workers_reads_every_status_file_newest_first(
    make_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = make_kb()
    folder = kb.settings.data_dir / "workers"
    folder.mkdir(parents=True)
    (folder / "a.json").write_text(json.dumps({"name": "a", "updated_at": "2026-01-01T00:00"}))
    (folder / "b.json").write_text(json.dumps({"name": "b", "updated_at": "2026-02-01T00:00"}))
    (folder / "c.json").write_text("{half a file")
    assert [s["name"] for s in read_statuses(kb)] == ["b", "a"]


def test_a_job_past_its_attempts_is_failed_as_interrupted_not_run(
    make_kb: Callable[..., KnowledgeBase], tmp_path: Path
) -> None:
    kb = make_kb(workers="external", job_attempts=2)
    job_id = enqueue(kb, IngestJob(collection="default", kind="reindex", attempts=2))
    worker = Worker(kb, ["reindex"], status_file=tmp_path / "w.json", poll_seconds=0.2)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not get_job(kb, job_id).finished:
            assert time.monotonic() < deadline, "the job did not end"
            time.sleep(0.1)
    finally:
        worker.request_stop()
        thread.join(timeout=60)
    job = get_job(kb, job_id)
    assert (job.status, job.attempts, job.error_code) == ("failed", 3, "interrupted")


def test_a_worker_counts_only_what_its_own_builds_embedded(
    make_kb: Callable[..., KnowledgeBase], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb = make_kb(workers="external")
    other = make_kb(data_dir=kb.settings.data_dir)  # another process on the same index
    fresh = f"# 第3章 保修\n\n电池保修两年，编号 {uuid.uuid4().hex}。\n".encode()

    def others_build_meanwhile(kb: KnowledgeBase, job: IngestJob, *_: object) -> str:
        # A job of this worker that builds nothing, while another process switches in a build.
        assert ingest_items(other, [IngestItem("warranty.md", fresh)], collection="default")
        finish(kb, job.id, "done")
        return "done"

    monkeypatch.setitem(handlers.HANDLERS, "reindex", others_build_meanwhile)
    job_id = enqueue(kb, IngestJob(collection="default", kind="reindex"))
    worker = Worker(kb, ["reindex"], status_file=tmp_path / "w.json", poll_seconds=0.2)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        deadline = time.monotonic() + 120
        while not get_job(kb, job_id).finished:
            assert time.monotonic() < deadline, "the job did not end"
            time.sleep(0.1)
    finally:
        worker.request_stop()
        thread.join(timeout=60)
    meta = other.index_store.current_meta("default")
    assert meta is not None and meta.embedded > 0  # the other process did embed
    status = json.loads((tmp_path / "w.json").read_text())
    assert (status["jobs_done"], status["embedded_chunks"], status["embedding_rate"]) == (1, 0, 0)
