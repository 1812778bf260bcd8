"""Keyword-findable before vectors exist: a delta segment without vectors, then the vectors.

Phase 1 (``IndexStore.update(..., embed=False)``) serves new chunks by BM25 at once, with BM25
scores equal to a rebuild's; vector search never returns them and hybrid fusion ranks them by
their keyword score alone. Phase 2 (the same update with vectors) replaces their rows, after
which every mode scores as a full rebuild of the same chunks does.
"""

from __future__ import annotations

import numpy as np

from kb.settings import Settings
from search.hybrid import HybridSearcher
from search.index import IndexStore
from search.merging import prepare_merge
from search.normalize import normalize
from search.types import IndexedChunk

FUSION = Settings().fusion_config
NEW_TEXTS = [
    "扫地机器人X9的滚刷每三个月更换一次，更换前请关闭电源。",
    "X9 robot vacuum: replace the roller brush every three months.",
]
QUERIES = ["滚刷 更换", "roller brush", "退款", "发票 invoice PDF"]


def _new(make_chunk, version: int = 1) -> list[IndexedChunk]:  # type: ignore[no-untyped-def]
    return [
        make_chunk(f"x9-{version}-{i}", t, document_id="doc-x9", version=version)
        for i, t in enumerate(NEW_TEXTS)
    ]


def _bm25_by_id(store: IndexStore, collection: str, query: str) -> dict[str, float]:
    generation = store.load(collection)
    terms = generation.tokenizer.query_terms(normalize(query))
    scores = generation.bm25.scores(terms)
    return {c.chunk_id: float(s) for c, s in zip(generation.chunks, scores, strict=True)}


def _same_as_rebuild(
    store: IndexStore, live: list[IndexedChunk], *, modes: tuple[str, ...]
) -> None:
    store.build("rebuilt", live)
    for query in QUERIES:
        mine, theirs = _bm25_by_id(store, "kb", query), _bm25_by_id(store, "rebuilt", query)
        assert mine.keys() == theirs.keys()
        ids = sorted(mine)
        assert np.allclose([mine[i] for i in ids], [theirs[i] for i in ids], rtol=1e-5), query
    a = HybridSearcher(store.load("kb"), store.embedder, store.tokenizer, FUSION)
    b = HybridSearcher(store.load("rebuilt"), store.embedder, store.tokenizer, FUSION)
    for query in QUERIES:
        for mode in modes:
            mine_hits = a.search(query, limit=8, mode=mode)  # type: ignore[arg-type]
            their_hits = b.search(query, limit=8, mode=mode)  # type: ignore[arg-type]
            assert [h.chunk.chunk_id for h in mine_hits] == [h.chunk.chunk_id for h in their_hits]
            assert np.allclose([h.score for h in mine_hits], [h.score for h in their_hits])


def test_a_delta_without_vectors_is_keyword_findable_then_scores_as_a_rebuild(
    store: IndexStore, corpus: list[IndexedChunk], make_chunk
) -> None:  # type: ignore[no-untyped-def]
    store.build("kb", corpus)
    cached = store.cache.count()
    added = _new(make_chunk)
    meta = store.update("kb", {"doc-x9"}, added, embed=False)
    assert meta is not None
    assert (meta.embedded, meta.unembedded, meta.chunk_count) == (0, 2, len(corpus) + 2)
    assert store.cache.count() == cached  # nothing embedded in phase 1
    assert store.awaiting_vectors("kb") == {"doc-x9"}
    assert prepare_merge(store, "kb") is None  # a merge waits for the vectors
    generation = store.load("kb")
    assert generation.unembedded is not None
    assert [c.document_id for c, w in zip(generation.chunks, generation.unembedded, strict=True)
            if w] == ["doc-x9", "doc-x9"]  # fmt: skip
    _same_as_rebuild(store, [*corpus, *added], modes=("bm25",))

    searcher = HybridSearcher(generation, store.embedder, store.tokenizer, FUSION)
    found = searcher.search("扫地机器人 X9 滚刷", limit=3)
    top = found[0]
    assert top.chunk.chunk_id == "x9-1-0"
    # No vector of its own: it stands on the vector side where it stands on the keyword side.
    assert top.vector_score is None and top.bm25_rank == 1
    signals = searcher.signals(normalize("扫地机器人 X9 滚刷"), FUSION.depth)
    assert {r for r, _ in signals.keyword} <= signals.keyword_only | set(signals.cosine)
    assert signals.keyword_only and not signals.keyword_only & set(signals.cosine)
    vector_ids = {h.chunk.document_id for h in searcher.search("滚刷", limit=50, mode="vector")}
    assert "doc-x9" not in vector_ids and vector_ids  # others still found by meaning

    meta = store.update("kb", {"doc-x9"}, added)  # phase 2: the same rows, with vectors
    assert meta is not None and meta.unembedded == 0  # (the rebuild above cached them)
    assert store.awaiting_vectors("kb") == set()
    assert store.load("kb").unembedded is None
    _same_as_rebuild(store, [*corpus, *added], modes=("hybrid", "vector", "bm25"))
    vector_ids = [h.chunk.document_id for h in
                  HybridSearcher(store.load("kb"), store.embedder, store.tokenizer, FUSION)
                  .search("扫地机器人滚刷多久换", limit=3, mode="vector")]  # fmt: skip
    assert vector_ids[0] == "doc-x9"


def test_a_delete_or_replace_while_vectors_wait_wins(
    store: IndexStore, corpus: list[IndexedChunk], make_chunk
) -> None:  # type: ignore[no-untyped-def]
    store.build("kb", corpus)
    assert store.update("kb", {"doc-x9"}, _new(make_chunk), embed=False) is not None
    replaced = _new(make_chunk, version=2)[:1]
    meta = store.update("kb", {"doc-x9"}, replaced, embed=False)
    assert meta is not None and meta.unembedded == 1  # the first keyword-only delta is dropped
    assert store.load("kb").segments == 2
    assert {c.chunk_id for c in store.load("kb").chunks if c.document_id == "doc-x9"} == {"x9-2-0"}
    meta = store.update("kb", {"doc-x9"}, [])
    assert meta is not None and meta.unembedded == 0 and meta.chunk_count == len(corpus)
    assert store.awaiting_vectors("kb") == set()
    assert store.load("kb").unembedded is None
