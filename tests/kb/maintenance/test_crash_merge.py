"""Crash safety of delta generations and of their merge: ``kb ingest`` as a real process,
SIGKILLed while it writes a delta (one small document replaced) or while it merges the deltas
into a new main segment (the big FAQ replaced: more churn than the merge policy allows).

After the kill the previous generation, a main segment and a delta, is still what ``CURRENT``
names and it serves the previous versions; the next search completes the switch, so what is
served is what ``kb documents show`` lists, and ``kb check`` then finds nothing.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from crashing import (
    COLLECTION,
    Corpus,
    child_env,
    ingest_killed_at,
    kill,
    new_corpus,
    wait_for_marker,
)

from kb.context import KnowledgeBase
from kb.documents.catalog import DocumentQuery, list_documents
from kb.documents.ingestion import IngestItem, ingest_items
from kb.maintenance.check import run_check
from kb.retrieval.indexing import ensure_fresh
from kb.retrieval.merging import merge_segments
from kb.retrieval.searching import SearchRequest, search
from search.hybrid import HybridSearcher
from search.pause import PausePoint

NOTE = "# 门店公告\n\n上海门店周一闭店维护，{when}恢复营业。\n"


def _items(corpus: Corpus) -> list[IngestItem]:
    return [IngestItem(p.name, p.read_bytes()) for p in sorted(corpus.folder.iterdir())]


def _versions(chunks: list, document_id: str) -> set[int]:  # type: ignore[type-arg]
    return {c.version for c in chunks if c.document_id == document_id}


@pytest.mark.timeout(900)
@pytest.mark.parametrize(
    ("change", "point"),
    [("merge", "generation-staged"), ("merge", "before-switch"), ("delta", "before-switch")],
)
def test_a_kill_while_writing_a_delta_or_merging_leaves_the_previous_generation_serving(
    change: str,
    point: PausePoint,
    make_kb: Callable[..., KnowledgeBase],
    embedding_cache_dir: Path,
    tmp_path: Path,
) -> None:
    kb = make_kb()
    corpus = new_corpus(tmp_path / "corpus")
    corpus.write_first_version()
    ingest_items(kb, _items(corpus), collection=COLLECTION)  # the main segment
    (corpus.folder / "note.md").write_text(NOTE.format(when="周二"), encoding="utf-8")
    ingest_items(kb, _items(corpus), collection=COLLECTION)  # the note: a delta beside it
    live = kb.index_store.current_generation(COLLECTION)
    searcher = kb.searchers.get(COLLECTION)
    assert searcher is not None and searcher.generation.segments == 2
    docs = {d.source_name: d.id for d in list_documents(kb, DocumentQuery(COLLECTION))}
    faq, note = docs["faq.csv"], docs["note.md"]
    kb.close()

    if change == "merge":
        corpus.write_second_version()  # 40 of 43 rows replaced: the deltas merge
    else:
        (corpus.folder / "note.md").write_text(NOTE.format(when="周三"), encoding="utf-8")
    ingest_killed_at(point, corpus, kb.settings.data_dir, embedding_cache_dir, tmp_path / "paused")

    after = KnowledgeBase(kb.settings)
    try:
        # The previous generation is live and serves the previous versions, the note included.
        assert after.index_store.current_generation(COLLECTION) == live
        previous = after.index_store.load(COLLECTION)
        assert previous.segments == 2
        assert _versions(previous.chunks, faq) == {1}
        assert _versions(previous.chunks, note) == {1}
        old = HybridSearcher(
            previous, after.embedder, previous.tokenizer, after.settings.fusion_config
        )
        [hit] = old.search("上海门店 闭店", limit=1, mode="bm25")
        assert (hit.chunk.document_id, hit.chunk.version) == (note, 1)

        # The next search completes the switch the kill left: the new versions answer.
        changed = faq if change == "merge" else note
        [hit] = search(after, SearchRequest("上海门店 闭店", collection=COLLECTION, limit=1))
        assert hit.chunk.document_id == note
        served = after.searchers.get(COLLECTION)
        assert served is not None
        assert _versions(served.generation.chunks, changed) == {2}
        assert run_check(after).findings == []
        if change == "merge":
            assert served.generation.segments == 1  # merged into one main segment
    finally:
        after.close()


@pytest.mark.timeout(900)
@pytest.mark.parametrize("point", ["merge-staged", "before-switch", "after-switch"])
def test_a_kill_during_a_background_merge_leaves_the_same_rows_serving(
    point: PausePoint,
    make_kb: Callable[..., KnowledgeBase],
    embedding_cache_dir: Path,
    tmp_path: Path,
) -> None:
    """``kb index merge`` (what the server's merge thread runs) SIGKILLed with the merged main
    written aside, with it in place and the lease held, and just after the switch: a merge
    changes no live row, so every point serves the rows it served, and the next merge ends."""
    kb = make_kb()
    corpus = new_corpus(tmp_path / "corpus")
    corpus.write_first_version()
    ingest_items(kb, _items(corpus), collection=COLLECTION)
    (corpus.folder / "note.md").write_text(NOTE.format(when="周二"), encoding="utf-8")
    ingest_items(kb, _items(corpus), collection=COLLECTION)
    live = kb.index_store.current_generation(COLLECTION)
    before = sorted(map(repr, kb.index_store.load(COLLECTION).chunks))
    assert kb.index_store.load(COLLECTION).segments == 2
    kb.close()

    marker = tmp_path / "paused"
    command = [sys.executable, "-m", "kb.cli", "index", "merge", "--collection", COLLECTION,
               "--data-dir", str(kb.settings.data_dir)]  # fmt: skip
    env = child_env(embedding_cache_dir, point, marker)
    quiet = subprocess.DEVNULL
    process = subprocess.Popen(command, env=env, stdout=quiet, stderr=quiet)
    try:
        assert wait_for_marker(process, marker, time.monotonic() + 300) == process.pid
    finally:
        kill(process)

    after = KnowledgeBase(kb.settings)
    try:
        served = after.index_store.load(COLLECTION)
        assert sorted(map(repr, served.chunks)) == before
        if point != "after-switch":
            assert after.index_store.current_generation(COLLECTION) == live
        [hit] = search(after, SearchRequest("上海门店 闭店", collection=COLLECTION, limit=1))
        assert hit.chunk.document_title and "上海门店" in hit.chunk.text
        assert ensure_fresh(after, COLLECTION) is False  # nothing to rebuild: the same rows
        kinds = {f.kind for f in run_check(after).findings}
        assert kinds <= {"generation-abandoned"}, kinds  # a merged main never switched in
        merge_segments(after, COLLECTION)  # the next merge clears what the kill left
        assert after.index_store.load(COLLECTION).segments == 1
        assert run_check(after).findings == []
    finally:
        after.close()
