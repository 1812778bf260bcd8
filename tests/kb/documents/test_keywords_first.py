"""An upload is findable by keyword before its vectors exist, and by meaning once they do.

The real e5 embedder embeds everything; a gate at the encoder boundary (``embed_passages``)
holds the passages back, as a cold cache and a slow embedder would, so the test can look at the
knowledge base between the two phases: the job's stage, the documents' stages (the page and the
API read them), keyword and vector searches.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from kb.assist.conversation import Turn
from kb.assist.suggest import SuggestInput, suggest
from kb.context import KnowledgeBase
from kb.documents.catalog import DocumentQuery, list_documents
from kb.documents.ingestion import IngestItem, ingest_items
from kb.documents.jobs import get_job, run_job, shutdown_jobs, start_ingest_job, wait_for_job
from kb.documents.stages import document_progress, with_stages
from kb.maintenance.check import run_check
from kb.retrieval.searching import SearchRequest, search
from kb.settings import Settings
from search.embedders.base import Embedder, EmbedderUnavailableError
from search.embedders.factory import make_embedder

# Six passages: a document of two or three is a delta beside them, not a rebuild (merge policy).
BASE = (
    "# 保修\n\n## 保修期\n\n整机保修两年，电池保修一年。\n\n## 退货\n\n七天内可无理由退货。\n\n"
    "## 发票\n\n发票可在订单页下载。\n\n## 配送\n\n下单后两天内发货。\n\n"
    "## 充电\n\n电池充满约需两小时。\n\n## 清洁\n\n请用干布擦拭机身。\n"
).encode()


class Gated:
    """The real e5 embedder; passages wait while ``gate`` is shut (``fail``: they fail)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.version, self.dim = inner, inner.name, inner.version, inner.dim
        self.gate = threading.Event()
        self.gate.set()
        self.waiting = threading.Event()  # set when a batch waits at the gate
        self.fail = False

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self.inner.embed_queries(texts)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not self.gate.is_set():
            self.waiting.set()
            self.gate.wait(timeout=300)
        if self.fail:
            raise EmbedderUnavailableError("the embedding server at http://127.0.0.1:9 is down")
        return self.inner.embed_passages(texts)


@pytest.fixture(scope="module")
def e5() -> Embedder:
    return make_embedder("e5-small")


def _kb(tmp_path: Path, cache: Path, e5: Embedder) -> tuple[KnowledgeBase, Gated]:
    gated = Gated(e5)
    kb = KnowledgeBase(Settings(data_dir=tmp_path, cache_dir=cache), embedder=gated)
    [result] = ingest_items(kb, [IngestItem("base.md", BASE)], collection="default")
    assert result.status == "ingested"
    return kb, gated


def _manual(token: str, version: int = 1) -> bytes:
    # A token never embedded before: every passage misses the cache.
    return (
        f"# X9{token} 扫地机器人\n\n## 滚刷\n\n"
        f"X9{token} 的滚刷每三个月更换一次（第{version}版）。\n\n"
        f"## 尘盒\n\n尘盒满了请及时清空，X9{token} 会亮红灯提示（第{version}版）。\n"
    ).encode()


def _ids(kb: KnowledgeBase, query: str, mode: str = "hybrid") -> list[tuple[str, int]]:
    hits = search(kb, SearchRequest(query, limit=5, mode=mode))  # type: ignore[arg-type]
    return [(h.chunk.document_id, h.chunk.version) for h in hits]


def _until(condition: Callable[[], bool], what: str, seconds: float = 60) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if condition():
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds} s: {what}")


def _doc(kb: KnowledgeBase, name: str) -> str:
    return next(d.id for d in list_documents(kb, DocumentQuery("default")) if d.source_name == name)


def test_an_upload_is_keyword_findable_while_embedding_then_findable_by_meaning(
    tmp_path: Path, embedding_cache_dir: Path, e5: Embedder
) -> None:
    kb, gated = _kb(tmp_path, embedding_cache_dir, e5)
    token = uuid.uuid4().hex[:8]
    gated.gate.clear()
    job_id = start_ingest_job(kb, [IngestItem("x9.md", _manual(token))], "default")
    try:
        query = f"X9{token} 滚刷"
        base = _doc(kb, "base.md")
        took = _until(lambda: _ids(kb, query)[0][0] != base, "keyword-findable, vectors waiting")
        assert took < 30
        doc = _doc(kb, "x9.md")
        assert _ids(kb, query)[0] == (doc, 1)
        hit = search(kb, SearchRequest(query, limit=1, may_skip=False))[0]
        assert hit.vector_score is None and hit.bm25_score  # ranked by its keywords alone
        # Not findable by meaning: vector search never returns a row without a vector.
        assert doc not in {d for d, _ in _ids(kb, "扫地机器人的刷子多久换一次", "vector")}
        # A suggestion (search, escalation rules, replies) serves it too, nothing breaks.
        answer = suggest(kb, SuggestInput([Turn("customer", f"X9{token} 的滚刷多久更换一次？")]))
        assert doc in {a.source.document_id for a in answer.answers}
        _until(gated.waiting.is_set, "phase 2 waiting at the encoder")
        job = get_job(kb, job_id)
        assert job.status == "running" and job.stage.startswith("findable by keyword, 0/")
        assert {r.filename: r.status for r in job.results} == {"x9.md": "ingested"}
        docs = list_documents(kb, DocumentQuery("default"))
        progress = document_progress(kb, docs)
        assert progress[doc][0] == "keyword"
        assert progress[doc][1] is not None and progress[doc][1][0] == 0
        assert {d.id: d.stage for d in with_stages(kb, docs)}[doc] == "keyword"
        assert kb.index_store.awaiting_vectors("default") == {doc}
    finally:
        gated.gate.set()
    job = wait_for_job(kb, job_id, timeout=300)
    assert (job.status, job.stage, job.error) == ("done", "done", None)
    assert kb.index_store.awaiting_vectors("default") == set()
    assert document_progress(kb, list_documents(kb, DocumentQuery("default")))[doc] == (
        "live",
        None,
    )
    assert _ids(kb, "扫地机器人的刷子多久换一次", "vector")[0][0] == doc
    hit = search(kb, SearchRequest(f"X9{token} 滚刷", limit=1, may_skip=False))[0]
    assert hit.chunk.document_id == doc and hit.vector_score is not None
    shutdown_jobs(kb)
    kb.close()


def test_a_replaced_document_answers_with_its_old_version_until_phase_one_switches(
    tmp_path: Path, embedding_cache_dir: Path, e5: Embedder
) -> None:
    kb, gated = _kb(tmp_path, embedding_cache_dir, e5)
    token = uuid.uuid4().hex[:8]
    ingest_items(kb, [IngestItem("x9.md", _manual(token))], collection="default")
    doc = _doc(kb, "x9.md")
    gated.gate.clear()
    query = f"X9{token} 尘盒 红灯"
    try:
        with kb.collection_lock("default"):  # another writer holds the collection meanwhile
            job_id = start_ingest_job(kb, [IngestItem("x9.md", _manual(token, 2))], "default")
            _until(lambda: get_job(kb, job_id).status == "running", "the job started")
            for _ in range(5):
                assert _ids(kb, query)[0] == (doc, 1)
                time.sleep(0.1)
            stage = document_progress(kb, list_documents(kb, DocumentQuery("default")))[doc]
            assert stage[0] in ("queued", "parsing")
        _until(lambda: _ids(kb, query)[0] == (doc, 2), "the new version by keyword")
        assert {v for d, v in _ids(kb, query) if d == doc} == {2}  # the old rows are gone
        assert document_progress(kb, list_documents(kb, DocumentQuery("default")))[doc][0] == (
            "keyword"
        )
    finally:
        gated.gate.set()
    assert wait_for_job(kb, job_id, timeout=300).status == "done"
    assert search(kb, SearchRequest(query, limit=1, may_skip=False))[0].vector_score is not None
    shutdown_jobs(kb)
    kb.close()


def test_when_the_embedder_fails_the_document_stays_keyword_findable_and_repair_completes_it(
    tmp_path: Path, embedding_cache_dir: Path, e5: Embedder
) -> None:
    kb, gated = _kb(tmp_path, embedding_cache_dir, e5)
    token = uuid.uuid4().hex[:8]
    gated.fail = True
    job = wait_for_job(
        kb, start_ingest_job(kb, [IngestItem("x9.md", _manual(token))], "default"), timeout=300
    )
    assert (job.status, job.error_code) == ("failed", "vectors_failed")
    assert job.error is not None and "findable by keyword" in job.error
    assert "http://127.0.0.1:9 is down" in job.error
    doc = _doc(kb, "x9.md")
    assert _ids(kb, f"X9{token} 滚刷")[0] == (doc, 1)
    assert document_progress(kb, list_documents(kb, DocumentQuery("default")))[doc][0] == "failed"
    findings = {f.kind: f for f in run_check(kb).findings}
    assert findings["vectors-missing"].repairable
    gated.fail = False
    report = run_check(kb, repair=True)
    assert report.remaining == []
    assert kb.index_store.awaiting_vectors("default") == set()
    assert document_progress(kb, list_documents(kb, DocumentQuery("default")))[doc][0] == "live"
    assert _ids(kb, "扫地机器人的刷子多久换一次", "vector")[0][0] == doc
    shutdown_jobs(kb)
    kb.close()


def test_the_first_upload_of_a_new_collection_is_keyword_findable_too(
    tmp_path: Path, embedding_cache_dir: Path, e5: Embedder
) -> None:
    """No main segment to put a delta beside (nor one big enough for the merge policy): an
    empty main, and the upload by keyword on it; its vectors then rebuild from the cache."""
    kb, gated = _kb(tmp_path, embedding_cache_dir, e5)
    token = uuid.uuid4().hex[:8]
    gated.gate.clear()
    job_id = start_ingest_job(kb, [IngestItem("x9.md", _manual(token))], "fresh")
    request = SearchRequest(f"X9{token} 滚刷", collection="fresh", limit=3)
    try:
        _until(lambda: kb.index_store.current_meta("fresh") is not None, "the collection")
        _until(lambda: bool(search(kb, request)), "keyword-findable in a new collection")
        meta = kb.index_store.current_meta("fresh")
        assert meta is not None and meta.unembedded == meta.chunk_count > 0
        _until(gated.waiting.is_set, "phase 2 waiting at the encoder")
    finally:
        gated.gate.set()
    assert wait_for_job(kb, job_id, timeout=300).status == "done"
    meta = kb.index_store.current_meta("fresh")
    assert meta is not None and meta.unembedded == 0
    vector = SearchRequest("扫地机器人的刷子多久换一次", collection="fresh", mode="vector")
    assert search(kb, vector)  # by meaning now
    assert run_check(kb).findings == []
    shutdown_jobs(kb)
    kb.close()


def test_with_workers_a_worker_that_starts_embeds_what_a_failed_upload_left(
    tmp_path: Path, embedding_cache_dir: Path, e5: Embedder
) -> None:
    from kb.queue.claims import claim, worker_name
    from kb.workers.worker import Worker

    gated = Gated(e5)
    settings = Settings(data_dir=tmp_path, cache_dir=embedding_cache_dir, workers="external")
    kb = KnowledgeBase(settings, embedder=gated)
    ingest_items(kb, [IngestItem("base.md", BASE)], collection="default")
    token = uuid.uuid4().hex[:8]
    job_id = start_ingest_job(kb, [IngestItem("x9.md", _manual(token))], "default")
    gated.fail = True
    owner = worker_name("test")
    job = claim(kb, owner, ["upload"])
    assert job is not None and run_job(kb, job, owner) == "failed"
    assert get_job(kb, job_id).error_code == "vectors_failed"
    doc = _doc(kb, "x9.md")
    assert kb.index_store.awaiting_vectors("default") == {doc}
    gated.fail = False
    worker = Worker(kb, ["upload", "reingest"], status_file=tmp_path / "w.json", poll_seconds=0.2)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        _until(lambda: not kb.index_store.awaiting_vectors("default"), "the worker's fill", 120)
    finally:
        worker.request_stop()
        thread.join(timeout=60)
    assert _ids(kb, "扫地机器人的刷子多久换一次", "vector")[0][0] == doc
    kb.close()
