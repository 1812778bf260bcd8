"""The query encoder: the one owner of query vectors, a memo in front of any embedder.

One suggestion embeds the same customer text for the search, the reply matcher and the
escalation examples, and CRMs re-send the same turn; at ~10-25 ms a query on two cores,
embedding it once matters. A vector is computed only when a caller asks for it (a BM25-only
search never does). Passages are not memoised here: they have the on-disk cache.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from search.embedders.base import Embedder


class QueryEncoder:
    """Wraps an embedder (local or remote); ``embed_queries`` answers repeated texts from an LRU.

    It is an :class:`Embedder` itself, so an index store or a searcher takes it where they take
    an embedder, and every query vector of a process goes through this one memo.
    """

    def __init__(self, inner: Embedder, size: int = 4096) -> None:
        self.inner = inner
        self.name = inner.name
        self.version = inner.version
        self.dim = inner.dim
        self._size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def of(cls, embedder: Embedder) -> QueryEncoder:
        """``embedder`` as a query encoder: itself when it already is one (no memo over a memo)."""
        return embedder if isinstance(embedder, QueryEncoder) else cls(embedder)

    def encode(self, text: str) -> np.ndarray:
        """The vector of one (normalised) query text."""
        return self.embed_queries([text])[0]

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            computed = self.inner.embed_queries(missing)
            with self._lock:
                for text, vector in zip(missing, computed, strict=True):
                    self._vectors[text] = vector
                while len(self._vectors) > self._size:
                    self._vectors.popitem(last=False)
        with self._lock:
            rows = []
            for text in texts:
                vector = self._vectors.get(text)
                if vector is None:  # evicted by a concurrent caller in between: recompute
                    vector = self.inner.embed_queries([text])[0]
                else:
                    self._vectors.move_to_end(text)
                rows.append(vector)
        return np.stack(rows) if rows else np.zeros((0, self.dim), dtype=np.float32)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self.inner.embed_passages(texts)
