"""``kb worker`` SIGKILLed between an upload's two phases, and in the middle of the second.

Phase 1 switched the new document in by keyword; its vectors were not (all) written. Afterwards
the catalogue and the index agree (the document listed is the one keyword search finds, never
by meaning yet), ``kb check`` says what is missing, and either ``kb check --repair`` or the
job's retry by another worker completes the vectors, embedding only what the cache lacks.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from crashing import COLLECTION, FAQ_ROWS, child_env, faq_csv, kill, new_corpus, wait_for_marker

from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.documents.catalog import DocumentQuery, get_document, list_documents
from kb.documents.ingestion import IngestItem, ingest_items
from kb.documents.jobs import get_job, start_ingest_job
from kb.documents.stages import with_stages
from kb.maintenance.check import run_check
from kb.models import IngestJob
from kb.retrieval.searching import SearchRequest, search
from search.pause import PausePoint

BATCH = 32  # passages per embedding batch: a kill mid-embedding comes after the first is cached
LEASE = 3.0


def _worker(
    kb: KnowledgeBase, tmp_path: Path, name: str, point: PausePoint | None
) -> subprocess.Popen[bytes]:
    url = str(kb.settings.database_url) if kb.settings.database_url else None
    env = child_env(kb.settings.cache_dir or tmp_path, point, tmp_path / f"{name}.paused", url)
    env["KB_JOB_LEASE_SECONDS"] = str(LEASE)
    command = [sys.executable, "-m", "kb.cli", "worker", "--data-dir", str(kb.settings.data_dir),
               "--poll", "0.5"]  # fmt: skip
    with open(tmp_path / f"{name}.log", "ab") as log:
        return subprocess.Popen(command, env=env, stdout=log, stderr=log)


def _until(condition: Callable[[], bool], what: str, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)  # polling the database, not synchronising on time
    raise AssertionError(f"not within {seconds} s: {what}")


def _status(kb: KnowledgeBase, job_id: str) -> str:
    with session_scope(kb.engine) as session:
        job = session.get(IngestJob, job_id)
        assert job is not None
        return job.status


CASES = [
    ("keyword-findable", "repair", FAQ_ROWS, "sqlite"),
    ("keyword-findable", "retry", FAQ_ROWS, "sqlite"),
    ("mid-embedding", "repair", FAQ_ROWS - BATCH, "sqlite"),
    pytest.param(
        "mid-embedding", "retry", FAQ_ROWS - BATCH, "postgresql", marks=pytest.mark.postgres
    ),
]


@pytest.mark.timeout(900)
@pytest.mark.parametrize(("point", "finish", "embeds", "backend"), CASES)
def test_a_kill_between_or_in_the_second_phase_keeps_the_upload_keyword_findable(
    point: PausePoint,
    finish: str,
    embeds: int,
    backend: str,
    make_kb: Callable[..., KnowledgeBase],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    url = request.getfixturevalue("postgres_url") if backend == "postgresql" else None
    kb = make_kb(workers="external", job_lease_seconds=LEASE, database_url=url)
    corpus = new_corpus(tmp_path / "corpus")
    corpus.write_first_version()
    items = [IngestItem(p.name, p.read_bytes()) for p in sorted(corpus.folder.iterdir())]
    ingest_items(kb, items, collection=COLLECTION)
    # A new sheet of 40 passages never embedded: a delta beside the 42 rows, in two phases.
    sheet = IngestItem("returns.csv", faq_csv(corpus.token).encode())
    job_id = start_ingest_job(kb, [sheet], COLLECTION)
    cached = kb.embedding_cache.count()

    first = _worker(kb, tmp_path, "first", point)
    try:
        assert wait_for_marker(first, tmp_path / "first.paused", time.monotonic() + 300)
    finally:
        kill(first)
    assert first.returncode == -signal.SIGKILL
    assert kb.embedding_cache.count() - cached == FAQ_ROWS - embeds

    after = KnowledgeBase(kb.settings)  # what the next process sees
    try:
        docs = {d.source_name: d for d in list_documents(after, DocumentQuery(COLLECTION))}
        sheet_id = docs["returns.csv"].id
        assert docs["returns.csv"].current_version == 1
        # Listed, and served: by keyword, with no vector yet.
        query = f"ticket code {corpus.token}-7"
        hits = search(after, SearchRequest(query, collection=COLLECTION, may_skip=False))
        assert (hits[0].chunk.document_id, hits[0].vector_score) == (sheet_id, None)
        by_meaning = search(after, SearchRequest(query, collection=COLLECTION, mode="vector"))
        assert sheet_id not in {h.chunk.document_id for h in by_meaning}
        assert after.index_store.awaiting_vectors(COLLECTION) == {sheet_id}
        # `kb documents show` says so (its job still looks at work until kb check fails it).
        assert with_stages(after, [get_document(after, sheet_id)])[0].stage == "keyword"
        meta = after.index_store.current_meta(COLLECTION)
        assert meta is not None and meta.unembedded == FAQ_ROWS
        assert {f.kind for f in run_check(after).findings} == {"job-stuck", "vectors-missing"}
        cached = after.embedding_cache.count()

        if finish == "repair":
            report = run_check(after, repair=True)
            assert report.remaining == []
            assert get_job(after, job_id).status == "failed"  # the dead worker's job
        else:
            second = _worker(kb, tmp_path, "second", None)
            try:
                _until(lambda: _status(after, job_id) in ("done", "failed"), "the retry ends")
            finally:
                second.send_signal(signal.SIGTERM)
                second.wait(timeout=120)
            job = get_job(after, job_id)
            assert (job.status, job.attempts) == ("done", 2)
            assert [r.status for r in job.results] == ["unchanged"]  # phase 1 was done

        assert after.embedding_cache.count() - cached == embeds  # only what the cache lacked
        meta = after.index_store.current_meta(COLLECTION)
        assert meta is not None and meta.unembedded == 0
        assert after.index_store.awaiting_vectors(COLLECTION) == set()
        assert with_stages(after, [get_document(after, sheet_id)])[0].stage == "live"
        hits = search(after, SearchRequest(query, collection=COLLECTION, may_skip=False))
        assert hits[0].chunk.document_id == sheet_id and hits[0].vector_score is not None
        by_meaning = search(after, SearchRequest(query, collection=COLLECTION, mode="vector"))
        assert sheet_id in {h.chunk.document_id for h in by_meaning}
        assert run_check(after).findings == []
    finally:
        after.close()
