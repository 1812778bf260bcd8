"""Crash safety: ``kb ingest`` as a real process, SIGKILLed at each named point (search/pause.py).

After each kill: ``kb check`` finds exactly what the kill left (no orphan rows, no index entry
without its chunk); the next search completes a switch the kill left pending, so what is served
is what ``kb documents show`` lists (the new version once committed, else the previous one); and
the same ingest run again makes exactly one new version and embeds only what the cache lacks.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from crashing import COLLECTION, FAQ_ROWS, Corpus, ingest_killed_at, new_corpus

from kb.context import KnowledgeBase
from kb.documents.catalog import DocumentQuery, get_document, list_documents
from kb.documents.ingestion import IngestItem, ingest_items
from kb.maintenance.check import run_check
from kb.retrieval.searching import SearchRequest, search
from search.pause import PausePoint

BATCH = 32  # search/cache.py embeds in batches of 32: the kill mid-embedding cached one

CASES: list[tuple[PausePoint, bool, set[str], int | None]] = [
    # point, the new version committed, what `kb check` finds, embedded by whoever completes it
    # (the first search once committed, else the re-run; None: the killed run had switched)
    ("after-parse", False, set(), FAQ_ROWS),
    ("in-version-transaction", False, set(), FAQ_ROWS),
    ("after-commit", True, {"generation-stale"}, FAQ_ROWS),
    ("mid-embedding", True, {"generation-stale", "staging-leftover"}, FAQ_ROWS - BATCH),
    ("generation-staged", True, {"generation-stale", "staging-leftover"}, 0),
    ("before-switch", True, {"generation-stale", "generation-abandoned"}, 0),
    ("after-switch", True, set(), None),
]


def _items(corpus: Corpus) -> list[IngestItem]:
    return [IngestItem(p.name, p.read_bytes()) for p in sorted(corpus.folder.iterdir())]


def _served(kb: KnowledgeBase) -> dict[str, set[tuple[str, int]]]:
    """Per document title: the (chunk id, version) pairs the live generation serves."""
    searcher = kb.searchers.get(COLLECTION)
    assert searcher is not None
    served: dict[str, set[tuple[str, int]]] = {}
    for chunk in searcher.generation.chunks:
        served.setdefault(chunk.document_id, set()).add((chunk.chunk_id, chunk.version))
    return served


def _top_document(kb: KnowledgeBase, query: str) -> tuple[str, int]:
    hit = search(kb, SearchRequest(query, collection=COLLECTION, limit=1))[0]
    return hit.chunk.document_id, hit.chunk.version


# Every point on SQLite; on PostgreSQL the two around the transaction (the server rolls back
# what a killed client left uncommitted; the index side is the same code on both).
PARAMS = [pytest.param(*case, "sqlite", id=f"{case[0]}-sqlite") for case in CASES] + [
    pytest.param(*case, "postgresql", id=f"{case[0]}-postgresql", marks=pytest.mark.postgres)
    for case in CASES
    if case[0] in ("in-version-transaction", "after-commit")
]


@pytest.mark.timeout(900)
@pytest.mark.parametrize(("point", "committed", "found", "rerun_embeds", "backend"), PARAMS)
def test_ingest_killed_at_a_point_loses_nothing_and_completes_on_the_next_run(
    point: PausePoint,
    committed: bool,
    found: set[str],
    rerun_embeds: int | None,
    backend: str,
    make_kb: Callable[..., KnowledgeBase],
    embedding_cache_dir: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    database_url = request.getfixturevalue("postgres_url") if backend == "postgresql" else None
    kb = make_kb(database_url=database_url)
    corpus = new_corpus(tmp_path / "corpus")
    corpus.write_first_version()
    assert {r.status for r in ingest_items(kb, _items(corpus), collection=COLLECTION)} == {
        "ingested"
    }
    first = _served(kb)
    docs = {d.source_name: d.id for d in list_documents(kb, DocumentQuery(COLLECTION))}
    faq, guide = docs["faq.csv"], docs["guide.md"]
    kb.close()

    corpus.write_second_version()
    ingest_killed_at(
        point, corpus, kb.settings.data_dir, embedding_cache_dir, tmp_path / "paused", database_url
    )

    after = KnowledgeBase(kb.settings)  # what the next process sees
    try:
        assert {f.kind for f in run_check(after).findings} == found
        shown = {d.id: d.current_version for d in list_documents(after, DocumentQuery(COLLECTION))}
        assert shown == {faq: 2 if committed else 1, guide: 1}
        killed_live = after.index_store.current_generation(COLLECTION)
        cached_before = after.embedding_cache.count()
        # One fact for what is live: the first search completes the switch the kill left
        # pending, so `kb search` serves the version `kb documents show` lists.
        assert _top_document(after, "how long to hold the power button of model 7") == (
            faq,
            shown[faq],
        )
        assert _top_document(after, "wipe with a dry cloth, no water on the charging port") == (
            guide,
            1,
        )
        served = _served(after)
        assert {v for _, v in served[faq]} == {shown[faq]}
        assert served[guide] == first[guide]
        if not committed:  # the previous version, chunk for chunk, is what searches get
            assert served == first
        meta = after.index_store.current_meta(COLLECTION)
        assert meta is not None
        completed_by_search = committed and rerun_embeds is not None
        if completed_by_search:
            # Embedded exactly what the cache lacked: each new vector is a new cache row.
            assert meta.generation != killed_live
            assert meta.embedded == rerun_embeds
            assert after.embedding_cache.count() - cached_before == rerun_embeds
        else:
            assert meta.generation == killed_live
        assert not after.catalog.pending(COLLECTION)

        live_before = meta.generation
        cached_before = after.embedding_cache.count()
        results = {
            r.filename: r.status for r in ingest_items(after, _items(corpus), collection=COLLECTION)
        }
        assert results == {
            "faq.csv": "unchanged" if committed else "ingested",
            "guide.md": "unchanged",
        }
        meta = after.index_store.current_meta(COLLECTION)
        assert meta is not None
        if committed:  # nothing left to do
            assert meta.generation == live_before
        else:
            assert meta.generation != live_before
            assert meta.embedded == rerun_embeds
            assert after.embedding_cache.count() - cached_before == rerun_embeds

        assert run_check(after).findings == []
        assert sorted(v.number for v in get_document(after, faq).versions) == [1, 2]
        assert {v for _, v in _served(after)[faq]} == {2}
        assert _top_document(after, f"ticket code {corpus.token}-7") == (faq, 2)
    finally:
        after.close()
