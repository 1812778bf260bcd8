"""FAISS vector store: inner product on L2-normalised vectors (cosine), exact or HNSW.

The first backend of the ``VectorIndex`` port (``search/vectorindex.py``). Row ``i`` of the
store is chunk ``i`` of the generation, so no id map is needed inside FAISS; removed rows are
tombstones (FAISS's HNSW cannot delete, and a flat index would renumber the rows after them),
kept in a ``.removed.npy`` file beside the index.
Below ``hnsw_threshold`` vectors the index is exact (``IndexFlatIP``); above it, HNSW. A
restricted search over few allowed rows is done exactly with numpy, because HNSW with a tight
selector loses recall; larger allowed sets use a FAISS ``IDSelectorBitmap``.

A query-time search runs FAISS on one OpenMP thread: on two busy cores a flat search at 10k took
7.8 ms with OpenMP's default (every core) against 0.58 ms on one (issue 17); the server already
answers requests on several threads. OpenMP's thread count belongs to the calling thread, so
each search sets it; builds and adds set it back to every core. A saved index is loaded by
memory map (``IO_FLAG_MMAP_IFC``, flat and HNSW alike): start-up reads no vectors, the pages
are shared by every process serving the generation, and the kernel may drop them under
pressure. A mapped index is copied into memory before its first ``add`` (FAISS cannot grow a
mapped array), and :meth:`FaissVectorStore.save` never writes over the file it maps.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import faiss
import numpy as np

DEFAULT_HNSW_THRESHOLD = 50_000  # by measurement: README, Speed, "At 100k chunks"
EXACT_SUBSET_LIMIT = 20_000  # allowed rows up to which a filtered search is brute force
SEARCH_THREADS = 1  # OpenMP threads of one query-time search (see the module's docstring)
BUILD_THREADS = faiss.omp_get_max_threads()  # OpenMP's default: every core, for builds


class FaissVectorStore:
    """Exact or HNSW inner-product index over unit vectors; rows are chunk positions."""

    def __init__(
        self,
        index: Any,
        *,
        ef_search: int = 128,
        exact_subset_limit: int = EXACT_SUBSET_LIMIT,
        mapped: bool = False,
    ) -> None:
        self._index = index
        self.mapped = mapped  # the stored vectors are a view of the file (read-only)
        self.exact_subset_limit = exact_subset_limit
        self.dim: int = index.d
        self.kind = "hnsw" if isinstance(index, faiss.IndexHNSW) else "flat"
        if self.kind == "hnsw":
            index.hnsw.efSearch = ef_search
        self._ef_search = ef_search
        self._removed = np.zeros(index.ntotal, dtype=bool)
        self._view()

    def _view(self) -> None:
        """A zero-copy view of the stored vectors (remade after an add may move them)."""
        storage: Any = faiss.downcast_index(self._index.storage) if self.kind == "hnsw" else None
        storage = storage or self._index
        count = self._index.ntotal
        if count:
            flat = faiss.rev_swig_ptr(storage.get_xb(), count * self.dim)
            self._vectors = np.asarray(flat).reshape(count, self.dim)
        else:
            self._vectors = np.zeros((0, self.dim), dtype=np.float32)

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
            faiss.omp_set_num_threads(BUILD_THREADS)
            index.add(matrix)
        return cls(index, ef_search=ef_search)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, vectors: np.ndarray) -> np.ndarray:
        """Append unit ``vectors``; returns their rows, numbered after the existing ones."""
        matrix = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        start = len(self)
        if len(matrix):
            if self.mapped:
                # FAISS aborts the process when a mapped array grows: own a copy first.
                self._index = faiss.deserialize_index(faiss.serialize_index(self._index))
                self.mapped = False
            faiss.omp_set_num_threads(BUILD_THREADS)
            self._index.add(matrix)
            self._removed = np.concatenate([self._removed, np.zeros(len(matrix), dtype=bool)])
            self._view()
        return np.arange(start, start + len(matrix), dtype=np.int64)

    def remove(self, rows: np.ndarray) -> None:
        """Tombstone ``rows``: never returned again, the others keep their numbers."""
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size and (rows.min() < 0 or rows.max() >= len(self)):
            raise IndexError(f"rows out of range 0..{len(self) - 1}: {rows.tolist()[:5]}")
        self._removed[rows] = True

    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> list[list[tuple[int, float]]]:
        """For each query, its best ``k`` rows by cosine, best first; ``allowed`` masks rows."""
        q = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim)
        total = len(self)
        if k <= 0 or total == 0:
            return [[] for _ in q]
        faiss.omp_set_num_threads(SEARCH_THREADS)
        if self._removed.any():
            allowed = ~self._removed if allowed is None else allowed & ~self._removed
        if allowed is None:
            scores, rows = self._index.search(q, min(k, total))
        else:
            subset = np.flatnonzero(allowed)
            if subset.size == 0:
                return [[] for _ in q]
            if subset.size <= self.exact_subset_limit:
                stored = self._vectors[subset]
                return [_best(subset, stored @ query, k) for query in q]
            bitmap = np.packbits(allowed.astype(bool), bitorder="little")
            selector = faiss.IDSelectorBitmap(total, faiss.swig_ptr(bitmap))
            # faiss's bundled type stubs lack the search-parameter classes' keyword arguments.
            swig: Any = faiss
            if self.kind == "hnsw":
                params = swig.SearchParametersHNSW(sel=selector, efSearch=max(self._ef_search, k))
            else:
                params = swig.SearchParameters(sel=selector)
            scores, rows = self._index.search(q, min(k, subset.size), params=params)
        return [
            [(int(r), float(s)) for r, s in zip(rows[i], scores[i], strict=True) if r >= 0]
            for i in range(len(q))
        ]

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        """The stored vectors of ``rows`` (indices): exact cosines are ``vectors(rows) @ q``."""
        return self._vectors[rows]

    def save(self, path: Path) -> None:
        """Write the FAISS index to ``path``; a full disk raises ``OSError(ENOSPC)``.

        Written beside ``path`` and renamed over it: a process that maps the old file (this one,
        or a server still answering from it) keeps reading the old, intact pages."""
        staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            faiss.write_index(self._index, str(staging))
            os.replace(staging, path)
            if self._removed.any():
                with open(_removed_path(path), "wb") as handle:
                    np.save(handle, np.flatnonzero(self._removed))
            else:
                _removed_path(path).unlink(missing_ok=True)
        except RuntimeError as exc:
            # FAISS's C++ writer reports a failed write as a RuntimeError whose text ends with
            # strerror; give callers the OSError they can recognise (a full disk is a 507).
            for code in (errno.ENOSPC, errno.EDQUOT):
                if os.strerror(code) in str(exc):
                    raise OSError(code, os.strerror(code), str(path)) from exc
            raise
        finally:
            staging.unlink(missing_ok=True)

    @classmethod
    def load(cls, path: Path, *, ef_search: int = 128, mmap: bool = True) -> FaissVectorStore:
        """Read an index written by :meth:`save`: mapped from the file, or fully into memory."""
        flags = faiss.IO_FLAG_MMAP_IFC if mmap else 0
        store = cls(faiss.read_index(str(path), flags), ef_search=ef_search, mapped=mmap)
        removed = _removed_path(path)
        if removed.is_file():
            store.remove(np.load(removed))
        return store


def _removed_path(path: Path) -> Path:
    return path.with_name(path.name + ".removed.npy")


def _best(rows: np.ndarray, scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    if rows.size > k:
        part = np.argpartition(-scores, k - 1)[:k]
        rows, scores = rows[part], scores[part]
    order = np.lexsort((rows, -scores))
    return [(int(rows[i]), float(scores[i])) for i in order]
