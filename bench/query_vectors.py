"""Query vectors kept in the bench's embedding cache, so each re-run embeds only new queries.

On two shared cores a run of the dev sets embeds ~2,900 queries; the evaluation, the fusion
grid and the calibration all embed the same ones. Bench only: the product never stores what
customers asked (its query memo lives in memory).
"""

from __future__ import annotations

import numpy as np

from kb.settings import Settings
from search.cache import EmbeddingCache, embedder_key, text_hash
from search.embedders.base import Embedder
from search.embedders.factory import make_embedder


class StoredQueries:
    """An embedder whose ``embed_queries`` answers from, and fills, an embedding cache."""

    def __init__(self, inner: Embedder, cache: EmbeddingCache) -> None:
        self.inner = inner
        self.cache = cache
        self.name = inner.name
        self.version = inner.version
        self.dim = inner.dim
        # Queries get their own namespace: e5 embeds a query and a passage differently.
        self._key = embedder_key(inner) + "#query"

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        keys = [(self._key, text_hash(t)) for t in texts]
        found = self.cache.get_many(keys)
        missing = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in found))
        if missing:
            fresh = self.inner.embed_queries(missing)
            stored = {(self._key, text_hash(t)): v for t, v in zip(missing, fresh, strict=True)}
            self.cache.put_many(stored)
            found.update(stored)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([found[k] for k in keys])

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self.inner.embed_passages(texts)


def stored_queries(settings: Settings) -> StoredQueries:
    """The settings' embedder keeping its query vectors in their embedding cache, to inject into
    a bench's ``KnowledgeBase(settings, embedder=...)``."""
    settings.embedding_cache_path.parent.mkdir(parents=True, exist_ok=True)
    cache = EmbeddingCache(settings.embedding_cache_path)
    return StoredQueries(make_embedder(settings.embedder, remote=settings.remote_embedder), cache)
