"""FAISS vector store: inner product on L2-normalised vectors (cosine), exact or HNSW.

Row ``i`` of the store is chunk ``i`` of the generation, so no id map is needed inside FAISS.
Below ``hnsw_threshold`` vectors the index is exact (``IndexFlatIP``); above it, HNSW. A
restricted search over few allowed rows is done exactly with numpy, because HNSW with a tight
selector loses recall; larger allowed sets use a FAISS ``IDSelectorBitmap``.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import faiss
import numpy as np

DEFAULT_HNSW_THRESHOLD = 50_000
EXACT_SUBSET_LIMIT = 20_000  # allowed rows up to which a filtered search is brute force


class FaissVectorStore:
    """Exact or HNSW inner-product index over unit vectors; rows are chunk positions."""

    def __init__(
        self, index: Any, *, ef_search: int = 128, exact_subset_limit: int = EXACT_SUBSET_LIMIT
    ) -> None:
        self._index = index
        self.exact_subset_limit = exact_subset_limit
        self.dim: int = index.d
        self.kind = "hnsw" if isinstance(index, faiss.IndexHNSW) else "flat"
        storage: Any
        if self.kind == "hnsw":
            index.hnsw.efSearch = ef_search
            storage = faiss.downcast_index(index.storage)
        else:
            storage = index
        # A zero-copy view of the stored vectors, for exact scoring of arbitrary rows.
        count = index.ntotal
        if count:
            flat = faiss.rev_swig_ptr(storage.get_xb(), count * self.dim)
            self._vectors = np.asarray(flat).reshape(count, self.dim)
        else:
            self._vectors = np.zeros((0, self.dim), dtype=np.float32)
        self._ef_search = ef_search

    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        *,
        dim: int,
        hnsw_threshold: int = DEFAULT_HNSW_THRESHOLD,
        hnsw_m: int = 32,
        ef_construction: int = 200,
        ef_search: int = 128,
    ) -> FaissVectorStore:
        """Index ``vectors`` (n, dim), which must already be L2-normalised."""
        matrix = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, dim)
        index: Any
        if len(matrix) >= hnsw_threshold:
            index = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = ef_construction
        else:
            index = faiss.IndexFlatIP(dim)
        if len(matrix):
            index.add(matrix)
        return cls(index, ef_search=ef_search)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """Best ``k`` rows by cosine, best first; ``allowed`` is a boolean mask over rows."""
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, self.dim)
        total = len(self)
        if k <= 0 or total == 0:
            return []
        if allowed is None:
            scores, rows = self._index.search(q, min(k, total))
        else:
            subset = np.flatnonzero(allowed)
            if subset.size == 0:
                return []
            if subset.size <= self.exact_subset_limit:
                return _best(subset, self.similarities(q[0], subset), k)
            bitmap = np.packbits(allowed.astype(bool), bitorder="little")
            selector = faiss.IDSelectorBitmap(total, faiss.swig_ptr(bitmap))
            # faiss's bundled type stubs lack the search-parameter classes' keyword arguments.
            swig: Any = faiss
            if self.kind == "hnsw":
                params = swig.SearchParametersHNSW(sel=selector, efSearch=max(self._ef_search, k))
            else:
                params = swig.SearchParameters(sel=selector)
            scores, rows = self._index.search(q, min(k, subset.size), params=params)
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]

    def similarities(self, query: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Exact cosine of ``query`` with each of ``rows`` (indices)."""
        return self._vectors[rows] @ np.asarray(query, dtype=np.float32).reshape(self.dim)

    def save(self, path: Path) -> None:
        """Write the FAISS index to ``path``; a full disk raises ``OSError(ENOSPC)``."""
        try:
            faiss.write_index(self._index, str(path))
        except RuntimeError as exc:
            # FAISS's C++ writer reports a failed write as a RuntimeError whose text ends with
            # strerror; give callers the OSError they can recognise (a full disk is a 507).
            for code in (errno.ENOSPC, errno.EDQUOT):
                if os.strerror(code) in str(exc):
                    raise OSError(code, os.strerror(code), str(path)) from exc
            raise

    @classmethod
    def load(cls, path: Path, *, ef_search: int = 128) -> FaissVectorStore:
        """Read an index written by :meth:`save` (fully into memory)."""
        return cls(faiss.read_index(str(path)), ef_search=ef_search)


def _best(rows: np.ndarray, scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    if rows.size > k:
        part = np.argpartition(-scores, k - 1)[:k]
        rows, scores = rows[part], scores[part]
    order = np.lexsort((rows, -scores))
    return [(int(rows[i]), float(scores[i])) for i in order]
