"""The benches' stored query vectors: embedded once, kept apart from passage vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.query_vectors import StoredQueries
from search.cache import EmbeddingCache, embedder_key, text_hash
from search.embedders import Embedder, make_embedder


class CountingEmbedder:
    """The real e5 embedder, counting the queries it is asked to embed."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name, self.version, self.dim = inner.name, inner.version, inner.dim
        self.queries: list[str] = []

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        self.queries.extend(texts)
        return self.inner.embed_queries(texts)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self.inner.embed_passages(texts)


def test_a_query_is_embedded_once_across_runs_and_never_read_as_a_passage(tmp_path: Path) -> None:
    e5 = CountingEmbedder(make_embedder("e5-small"))
    texts = ["退款多久到账", "how do I reset my password"]
    path = tmp_path / "embeddings.sqlite3"
    cache = EmbeddingCache(path)
    first = StoredQueries(e5, cache).embed_queries(texts)
    cache.close()
    reopened = EmbeddingCache(path)  # the next bench run
    again = StoredQueries(e5, reopened).embed_queries([texts[1], texts[0], texts[1]])
    assert e5.queries == texts
    assert np.array_equal(again, first[[1, 0, 1]])
    assert np.allclose(first, e5.inner.embed_queries(texts), atol=1e-6)
    # e5 embeds "query: x" and "passage: x" differently: the passage namespace stays empty.
    assert reopened.get_many([(embedder_key(e5), text_hash(t)) for t in texts]) == {}
    reopened.close()
