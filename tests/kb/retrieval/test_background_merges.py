"""Background merges through the real path (kb/retrieval/merging.py): the upload that takes the
deltas past the merge policy's limits returns with its delta served, the merge runs after it
(a thread, or ``kb index merge``), searches answer throughout, writes that land during a merge
are kept, and the database and the index stay one fact (``kb check`` finds nothing)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from sqlmodel import select
from typer.testing import CliRunner

from kb.cli import app
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.documents.catalog import delete_document
from kb.documents.ingestion import IngestItem, ingest_items
from kb.documents.jobs import get_job
from kb.maintenance.check import run_check
from kb.models import IngestJob
from kb.retrieval.indexing import ensure_fresh
from kb.retrieval.merging import background_merges, merge_segments
from kb.retrieval.searching import SearchRequest, search
from kb.workers.worker import Worker
from search.merging import finish_merge, merge_lock, prepare_merge
from search.segments import MergePolicy

GUIDE = "question,answer\n" + "".join(  # 40 rows: the main segment
    f"第{i}款设备怎么保养?,第{i}款设备每周用干布擦拭一次，充电口不要沾水。\n" for i in range(40)
)


def _faq(model: str) -> str:
    return f"question,answer\n{model}怎么重置?,按住{model}的电源键8秒直到指示灯闪烁。\n"


def _ingest(kb: KnowledgeBase, name: str, text: str) -> str:
    [result] = ingest_items(kb, [IngestItem(name, text.encode())], collection="default")
    assert result.status == "ingested", result.reason
    assert result.document_id is not None
    return result.document_id


def _segments(kb: KnowledgeBase) -> int:
    searcher = kb.searchers.get("default")
    assert searcher is not None
    return searcher.generation.segments


def _found(kb: KnowledgeBase, query: str) -> str | None:
    hits = search(kb, SearchRequest(query, limit=1, mode="bm25"))
    return hits[0].chunk.document_id if hits else None


def _consistent(kb: KnowledgeBase) -> None:
    assert run_check(kb).findings == []
    assert ensure_fresh(kb, "default") is False


def _due(make_kb: Callable[..., KnowledgeBase]) -> tuple[KnowledgeBase, list[str]]:
    """A collection whose second upload takes it past a policy of one delta."""
    kb = make_kb()
    kb.index_store.merge_policy = MergePolicy(max_deltas=1)
    docs = [_ingest(kb, "guide.csv", GUIDE), _ingest(kb, "a.csv", _faq("甲型"))]
    assert _segments(kb) == 2 and not kb.index_store.merge_due("default")
    return kb, docs


def test_the_upload_past_the_limits_returns_and_the_merge_follows(
    make_kb: Callable[..., KnowledgeBase],
) -> None:
    kb, docs = _due(make_kb)
    store = kb.index_store
    with merge_lock(store, "default"):  # as if a merge ran: the upload's own would not start
        docs.append(_ingest(kb, "b.csv", _faq("乙型")))
        # The upload did not merge: its delta is served at once, and a merge is due.
        assert _segments(kb) == 3 and store.merge_due("default")
        assert _found(kb, "乙型 重置") == docs[-1]
    _consistent(kb)
    docs.append(_ingest(kb, "c.csv", _faq("丙型")))  # past the limits again: now it merges
    background_merges(kb).wait(timeout=300)
    assert _segments(kb) == 1 and not store.merge_due("default")
    assert [_found(kb, f"{m} 重置") for m in ("甲型", "乙型", "丙型")] == docs[1:]
    _consistent(kb)


def test_kb_index_merge_merges_now(make_kb: Callable[..., KnowledgeBase]) -> None:
    kb, docs = _due(make_kb)
    data_dir = str(kb.settings.data_dir)
    result = CliRunner().invoke(app, ["index", "merge", "--data-dir", data_dir])
    assert result.exit_code == 0, result.output
    assert "merged default: 41 chunks" in result.output
    assert _segments(kb) == 1 and _found(kb, "甲型 重置") == docs[1]
    _consistent(kb)
    again = CliRunner().invoke(app, ["index", "merge", "--data-dir", data_dir])
    assert again.exit_code == 0 and "nothing to merge" in again.output


def test_searches_answer_throughout_a_merge(make_kb: Callable[..., KnowledgeBase]) -> None:
    kb, docs = _due(make_kb)
    answers: list[str | None] = []
    failures: list[BaseException] = []
    done = threading.Event()

    def keep_searching() -> None:
        while not done.is_set():
            try:
                answers.append(_found(kb, "甲型 重置"))
            except BaseException as exc:  # reported below
                failures.append(exc)
                return

    searcher = threading.Thread(target=keep_searching)
    searcher.start()
    try:
        assert merge_segments(kb, "default") is not None
    finally:
        done.set()
        searcher.join(timeout=60)
    assert failures == [] and answers and set(answers) == {docs[1]}
    assert _segments(kb) == 1


def test_uploads_and_deletions_during_a_merge_are_kept(
    make_kb: Callable[..., KnowledgeBase],
) -> None:
    kb, docs = _due(make_kb)
    store = kb.index_store
    with merge_lock(store, "default"):
        prepared = prepare_merge(store, "default")
        assert prepared is not None
        new = _ingest(kb, "d.csv", _faq("丁型"))  # lands as a delta on the generation merged
        delete_document(kb, docs[1])  # a document of the rows being merged
        with kb.collection_lock("default"):
            assert finish_merge(store, prepared) is not None
    assert _found(kb, "丁型 重置") == new
    gone = search(kb, SearchRequest("甲型 重置", limit=50, mode="bm25"))
    assert gone and docs[1] not in {h.chunk.document_id for h in gone}
    assert _segments(kb) == 2  # the merged main and the upload's delta
    _consistent(kb)


def test_with_external_workers_a_due_merge_is_a_job_a_worker_runs(
    make_kb: Callable[..., KnowledgeBase], tmp_path: Path
) -> None:
    kb = make_kb(workers="external")
    kb.index_store.merge_policy = MergePolicy(max_deltas=1)
    docs = [_ingest(kb, "guide.csv", GUIDE), _ingest(kb, "a.csv", _faq("甲型"))]
    docs.append(_ingest(kb, "b.csv", _faq("乙型")))  # past the limits: queued, not merged here
    docs.append(_ingest(kb, "c.csv", _faq("丙型")))  # still due: no second merge job
    assert not background_merges(kb).running("default")
    with session_scope(kb.engine) as session:
        merges = session.exec(select(IngestJob).where(IngestJob.kind == "merge")).all()
    assert [(j.collection, j.status) for j in merges] == [("default", "queued")]
    assert _segments(kb) == 4 and _found(kb, "丙型 重置") == docs[-1]

    worker = Worker(kb, ["merge"], status_file=tmp_path / "w.json", poll_seconds=0.2)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        deadline = time.monotonic() + 300
        while get_job(kb, merges[0].id).status != "done":
            assert time.monotonic() < deadline, get_job(kb, merges[0].id)
            time.sleep(0.2)
    finally:
        worker.request_stop()
        thread.join(timeout=60)
    assert _segments(kb) == 1 and not kb.index_store.merge_due("default")
    assert [_found(kb, f"{m} 重置") for m in ("甲型", "乙型", "丙型")] == docs[1:]
    _consistent(kb)
