"""The vector index port: what a searcher and an index build need from any vector backend.

Rows are chunk positions in a generation (row ``i`` of the vectors is chunk ``i``), so a backend
keeps no id map of its own. FAISS (``search/vectorstore.py``) is the default backend, Milvus
(``search/milvus_index.py``) the one for corpora beyond one machine's memory; both pass the same
contract suite (``tests/search/test_vector_index.py``). A :class:`VectorBackend` builds and
loads one kind for an :class:`~search.index.IndexStore`. Modules outside ``search/`` never read
a backend's files: they ask the port.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from search.vectorstore import DEFAULT_HNSW_THRESHOLD, FaissVectorStore

RowFilter = np.ndarray  # boolean mask over rows: True where a row may be returned
Ranked = list[tuple[int, float]]  # (row, cosine), best first, ties by row


class VectorEngineError(ConnectionError):
    """The engine holding the vectors (a Milvus server, a Milvus Lite file another process has
    open) cannot be reached or refused a request. An ``OSError``, as a lost disk would be."""

    def __init__(self, uri: str, reason: str) -> None:
        super().__init__(f"the vector engine at {uri} failed: {reason}")
        self.uri = uri
        self.reason = reason


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


class VectorBackend(Protocol):
    """Where a build keeps its vectors and how a saved index is found again: FAISS files in the
    generation (:class:`FaissBackend`), or a vector engine the files only point to (Milvus)."""

    name: str  # faiss | milvus

    def reads(self, kind: str) -> bool:
        """Whether an index of ``kind`` (a generation meta's ``vector_index``) is this backend's."""
        ...

    def build(self, vectors: np.ndarray, *, dim: int, collection: str, segment: str) -> VectorIndex:
        """A new index of ``vectors`` (n, dim) for ``segment`` of ``collection``."""
        ...

    def load(self, path: Path) -> VectorIndex:
        """The index :meth:`VectorIndex.save` wrote under ``path``."""
        ...

    def sweep(self, collection: str, keep: set[str]) -> None:
        """Forget what ``collection``'s segments other than ``keep`` hold outside their files
        (the caller holds the collection's writer lease and deletes their directories). Best
        effort: an engine that is down is logged, and the next sweep tries again."""
        ...


class FaissBackend:
    """FAISS files inside each segment's directory: exact below ``hnsw_threshold``, HNSW above."""

    name = "faiss"

    def __init__(self, hnsw_threshold: int = DEFAULT_HNSW_THRESHOLD) -> None:
        self.hnsw_threshold = hnsw_threshold

    def reads(self, kind: str) -> bool:
        return kind in ("flat", "hnsw")

    def build(self, vectors: np.ndarray, *, dim: int, collection: str, segment: str) -> VectorIndex:
        return build_vector_index(vectors, dim=dim, hnsw_threshold=self.hnsw_threshold)

    def load(self, path: Path) -> VectorIndex:
        return load_vector_index(path)

    def sweep(self, collection: str, keep: set[str]) -> None:
        """Nothing outside the files: deleting a segment's directory deletes its vectors."""


class MissingVectors:
    """The vectors of a segment written before its passages were embedded (keyword-findable at
    once, ``search/index.py``): ``rows`` rows, none with a vector, so a search finds none of them
    and :meth:`vectors` gives zeros (callers ask :attr:`~search.generation.Generation.unembedded`
    which rows those are)."""

    kind = "none"

    def __init__(self, rows: int, dim: int) -> None:
        self.rows = rows
        self.dim = dim

    def __len__(self) -> int:
        return self.rows

    def add(self, vectors: np.ndarray) -> np.ndarray:
        raise NotImplementedError("a segment without vectors is replaced, never added to")

    def remove(self, rows: np.ndarray) -> None:
        raise NotImplementedError("a segment without vectors is replaced, never changed")

    def search(self, queries: np.ndarray, k: int, allowed: RowFilter | None = None) -> list[Ranked]:
        return [[] for _ in range(np.asarray(queries).reshape(-1, self.dim).shape[0])]

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        return np.zeros((np.asarray(rows).size, self.dim), dtype=np.float32)

    def save(self, path: Path) -> None:
        raise NotImplementedError("a segment without vectors writes its marker, not an index")


def build_vector_index(
    vectors: np.ndarray, *, dim: int, hnsw_threshold: int | None = None
) -> VectorIndex:
    """A new FAISS index of ``vectors`` (n, dim)."""
    threshold = DEFAULT_HNSW_THRESHOLD if hnsw_threshold is None else hnsw_threshold
    return FaissVectorStore.build(vectors, dim=dim, hnsw_threshold=threshold)


def load_vector_index(path: Path, *, mmap: bool = True) -> VectorIndex:
    """The FAISS index :meth:`VectorIndex.save` wrote under ``path``, memory-mapped unless
    ``mmap`` is False (the backend copies it into memory before it first grows)."""
    return FaissVectorStore.load(path, mmap=mmap)
