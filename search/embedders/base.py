"""The embedder interface shared by all backends."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Embedder(Protocol):
    """Maps texts to float32, L2-normalised rows; queries and passages may be encoded differently.

    ``name`` and ``version`` identify the vector space: an index or cache entry built under
    another name, version or ``dim`` is not comparable.
    """

    # Read-only: a remote embedder learns its version and dimension from the server.
    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...


class EmbedderUnavailableError(ConnectionError):
    """The embedder cannot embed now (its server is down, too slow or broken): a hybrid search
    then serves BM25 alone, saying so; a vector search or an ingestion fails with it."""


def as_unit_rows(vectors: np.ndarray, dim: int) -> np.ndarray:
    """Return ``vectors`` as a C-contiguous float32 (n, dim) array with unit-length rows."""
    rows = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32).reshape(-1, dim))
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.maximum(norms, 1e-12)
