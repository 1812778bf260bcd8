"""The vector index port: what a searcher and an index build need from any vector backend.

Rows are chunk positions in a generation (row ``i`` of the vectors is chunk ``i``), so a backend
keeps no id map of its own. FAISS (``search/vectorstore.py``) is the first backend; a later one
(Milvus) must pass the same contract suite (``tests/search/test_vector_index.py``). Modules
outside ``search/`` never read a backend's files: they ask the port.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from search.vectorstore import DEFAULT_HNSW_THRESHOLD, FaissVectorStore

RowFilter = np.ndarray  # boolean mask over rows: True where a row may be returned
Ranked = list[tuple[int, float]]  # (row, cosine), best first, ties by row


class VectorIndex(Protocol):
    """Inner product over unit vectors (cosine); rows keep their numbers for the index's life."""

    dim: int
    kind: str  # the backend's own structure, recorded in a generation's meta (flat, hnsw, ...)

    def __len__(self) -> int:
        """Rows ever added, removed ones included: the next row added gets this number."""
        ...

    def add(self, vectors: np.ndarray) -> np.ndarray:
        """Append unit ``vectors`` (n, dim); returns the rows they got (consecutive)."""
        ...

    def remove(self, rows: np.ndarray) -> None:
        """Never return ``rows`` again; the other rows keep their numbers."""
        ...

    def search(self, queries: np.ndarray, k: int, allowed: RowFilter | None = None) -> list[Ranked]:
        """For each query of ``queries`` (n, dim), its best ``k`` rows among ``allowed``."""
        ...

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        """The stored vectors of ``rows`` (len(rows), dim), for exact scoring."""
        ...

    def save(self, path: Path) -> None:
        """Write the index under ``path``; a full disk raises ``OSError(ENOSPC)``."""
        ...


def build_vector_index(
    vectors: np.ndarray, *, dim: int, hnsw_threshold: int | None = None
) -> VectorIndex:
    """A new index of ``vectors`` (n, dim) with the configured backend (FAISS, the only one)."""
    threshold = DEFAULT_HNSW_THRESHOLD if hnsw_threshold is None else hnsw_threshold
    return FaissVectorStore.build(vectors, dim=dim, hnsw_threshold=threshold)


def load_vector_index(path: Path, *, mmap: bool = True) -> VectorIndex:
    """The index :meth:`VectorIndex.save` wrote under ``path``, memory-mapped unless ``mmap``
    is False (the backend copies it into memory before it first grows)."""
    return FaissVectorStore.load(path, mmap=mmap)
