"""Query vectors for gap clustering kept in the embedding cache: a fresh process (a second
KnowledgeBase on the same data dir) lists the same gaps without embedding anything, and the
clusters are those of embedding every text directly (real embedder, SQLite)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from gap_log import CHARGING, INVOICE, not_helpful, tiny_kb

from kb.context import KnowledgeBase
from kb.upkeep.clustering import average_link, center, similarity
from kb.upkeep.gaps import find_gaps
from kb.upkeep.reference import query_vectors, reference_questions
from search.embedders.base import Embedder
from search.normalize import normalize


class Recording:
    """The real embedder, noting which query texts it was asked to embed (a spy at the port)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.asked: list[str] = []

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def version(self) -> str:
        return self.inner.version

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        self.asked += texts
        return self.inner.embed_queries(texts)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self.inner.embed_passages(texts)


def test_a_fresh_process_lists_the_same_gaps_without_embedding(
    make_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = tiny_kb(make_kb)
    not_helpful(kb, CHARGING)
    not_helpful(kb, INVOICE)
    first = find_gaps(kb)

    # The clusters as the code before the cache made them: every text embedded directly.
    wordings = sorted(set(CHARGING + INVOICE))
    mean = np.asarray(kb.encoder.embed_queries(reference_questions()), np.float64).mean(axis=0)
    vectors = center(kb.encoder.embed_queries(wordings), mean)
    tokens = [frozenset(kb.tokenizer.tokenize(w)) for w in wordings]
    direct = average_link(similarity(vectors, tokens), kb.settings.upkeep_cluster_similarity)
    assert {frozenset(g.normalized) for g in first} == {
        frozenset(normalize(wordings[i]) for i in members) for members in direct
    }

    spy = Recording(kb.encoder.inner)
    fresh = KnowledgeBase(kb.settings, embedder=spy)
    try:
        again = find_gaps(fresh)
        assert spy.asked == []  # the reference questions and the wordings came from the cache
        assert [(g.key, g.normalized) for g in again] == [(g.key, g.normalized) for g in first]
        assert np.array_equal(query_vectors(fresh, list(CHARGING)),
                              kb.encoder.embed_queries(list(CHARGING)))  # fmt: skip
        query_vectors(fresh, ["一句新的问法", CHARGING[0]])
        assert spy.asked == ["一句新的问法"]  # only what was never embedded
    finally:
        fresh.close()
