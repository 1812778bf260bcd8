"""Crash safety of ``kb serve``: real server processes SIGKILLed during uploads.

First a console upload (a background job) is killed mid-embedding, after its keyword switch: the
job is left running with no process and the new version served by keyword only, which `kb check`
finds; the next start-up marks the job failed and embeds the rest in the background. Then an
API upload is killed after its version is committed; the next ingest of the same file completes
it.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from crashing import (
    COLLECTION,
    FAQ_ROWS,
    credentials,
    free_port,
    kill,
    new_corpus,
    start_server,
    wait_for_marker,
)
from sqlmodel import select

from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.documents.catalog import DocumentQuery, get_document, list_documents
from kb.documents.ingestion import IngestItem, ingest_items
from kb.maintenance.check import run_check
from kb.models import IngestJob

BATCH = 32


def _deadline() -> float:
    return time.monotonic() + 300


def _kinds(kb: KnowledgeBase) -> set[str]:
    return {f.kind for f in run_check(kb).findings}


def _served_versions(kb: KnowledgeBase, document_id: str) -> set[int]:
    searcher = kb.searchers.get(COLLECTION)
    assert searcher is not None
    return {c.version for c in searcher.generation.chunks if c.document_id == document_id}


def _upload_in_background(url: str, files: dict[str, tuple[str, bytes]], **headers: str) -> None:
    """Send an upload whose answer never comes (the server is killed while it works)."""

    def send() -> None:
        with contextlib.suppress(httpx.HTTPError):  # the connection dies with the server
            httpx.post(url, files=files, headers=headers, timeout=600)

    threading.Thread(target=send, daemon=True).start()


@pytest.mark.timeout(900)
def test_server_killed_during_uploads_recovers_on_its_next_start(
    make_kb: Callable[..., KnowledgeBase], embedding_cache_dir: Path, tmp_path: Path
) -> None:
    kb = make_kb()
    corpus = new_corpus(tmp_path / "corpus")
    corpus.write_first_version()
    items = [IngestItem(p.name, p.read_bytes()) for p in sorted(corpus.folder.iterdir())]
    ingest_items(kb, items, collection=COLLECTION)
    faq = {d.source_name: d.id for d in list_documents(kb, DocumentQuery(COLLECTION))}["faq.csv"]
    creds = credentials(kb)
    kb.close()
    data_dir, port, log = kb.settings.data_dir, free_port(), tmp_path / "serve.log"
    base = f"http://127.0.0.1:{port}"

    # 1. A console upload (a job) killed mid-embedding.
    corpus.write_second_version()
    marker = tmp_path / "paused-1"
    server = start_server(data_dir, embedding_cache_dir, port, "mid-embedding", marker, log)
    try:
        response = httpx.post(
            f"{base}/kb/documents",
            files={"files": ("faq.csv", (corpus.folder / "faq.csv").read_bytes())},
            headers={"X-CSRF-Token": creds.csrf_token},
            cookies={"assistkb_session": creds.session_token},
            timeout=120,
        )
        assert response.status_code == 303, response.text  # to the job's page
        assert wait_for_marker(server, marker, _deadline()) == server.pid
    finally:
        kill(server)
    after = KnowledgeBase(kb.settings)
    try:
        assert _kinds(after) == {"job-stuck", "vectors-missing"}
        # Switched in by keyword before the kill (phase 1): the new version is what is served.
        assert _served_versions(after, faq) == {2}
        assert after.index_store.awaiting_vectors(COLLECTION) == {faq}
        cached = after.embedding_cache.count()
    finally:
        after.close()

    # 2. The next start fails the job, finishes the index from the cache; an API upload of a
    #    third version is killed after its commit.
    marker = tmp_path / "paused-2"
    third = uuid.uuid4().hex[:10]
    corpus.write_second_version(third)
    server = start_server(data_dir, embedding_cache_dir, port, "after-commit", marker, log)
    try:
        watcher = KnowledgeBase(kb.settings)
        try:  # the start-up embeds what the killed job left, in the background
            deadline = _deadline()
            while (meta := watcher.index_store.current_meta(COLLECTION)) and meta.unembedded:
                assert time.monotonic() < deadline, "the start-up did not fill the vectors"
                time.sleep(0.2)  # polling the index the server writes
        finally:
            watcher.close()
        search = httpx.post(
            f"{base}/api/v1/search",
            json={"query": f"ticket code {corpus.token}-7", "collection": COLLECTION, "limit": 1},
            headers={"Authorization": f"Bearer {creds.api_key}"},
            timeout=120,
        )
        assert search.status_code == 200, search.text
        assert search.json()["hits"][0]["source"]["version"] == 2
        _upload_in_background(
            f"{base}/api/v1/documents",
            {"files": ("faq.csv", (corpus.folder / "faq.csv").read_bytes())},
            Authorization=f"Bearer {creds.api_key}",
        )
        assert wait_for_marker(server, marker, _deadline()) == server.pid
    finally:
        kill(server)
    after = KnowledgeBase(kb.settings)
    try:
        with session_scope(after.engine) as session:
            (job,) = session.exec(select(IngestJob)).all()
            assert job.status == "failed" and "interrupted" in (job.error or "")
        meta = after.index_store.current_meta(COLLECTION)
        assert meta is not None and meta.unembedded == 0
        assert after.embedding_cache.count() - cached == FAQ_ROWS - BATCH  # only what was missing
        assert _kinds(after) == {"generation-stale"}
        assert _served_versions(after, faq) == {2}

        # 3. The same file again: unchanged, one new version in all, index switched.
        (result,) = ingest_items(
            after,
            [IngestItem("faq.csv", (corpus.folder / "faq.csv").read_bytes())],
            collection=COLLECTION,
        )
        assert result.status == "unchanged"
        assert sorted(v.number for v in get_document(after, faq).versions) == [1, 2, 3]
        assert _served_versions(after, faq) == {3}
        assert run_check(after).findings == []
    finally:
        after.close()
