"""The VectorIndex contract: what every vector backend must do, parametrised over the backends.

A backend adds itself to BACKENDS (FAISS, built in the test) or ENGINES (Milvus: a real Milvus
Lite started once per session, or a server) and passes every test here unchanged. Real indexes
on random unit vectors, checked against exact numpy cosines.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from uuid import uuid4

import numpy as np
import pytest

from search.milvus_index import MilvusBackend, MilvusConfig
from search.vectorindex import VectorIndex, build_vector_index, load_vector_index
from search.vectorstore import FaissVectorStore

DIM = 24
Build = Callable[[np.ndarray], VectorIndex]
Load = Callable[[Path], VectorIndex]

BACKENDS: dict[str, tuple[Build, Load]] = {
    "faiss-flat": (
        lambda v: FaissVectorStore.build(v, dim=DIM, hnsw_threshold=10**9),
        FaissVectorStore.load,
    ),
    "faiss-hnsw": (
        lambda v: FaissVectorStore.build(v, dim=DIM, hnsw_threshold=1),
        FaissVectorStore.load,
    ),
    "faiss-filtered-by-selector": (
        lambda v: _selector_only(FaissVectorStore.build(v, dim=DIM, hnsw_threshold=10**9)),
        lambda p: _selector_only(FaissVectorStore.load(p)),
    ),
    "factory": (lambda v: build_vector_index(v, dim=DIM), load_vector_index),
}


# Milvus, exact (FLAT) and HNSW, by the HNSW threshold each is built with, on the session's
# Milvus (tests/conftest.py: Milvus Lite, or the server $KB_TEST_MILVUS_SERVER names).
ENGINES = {"milvus-flat": 10**9, "milvus-hnsw": 1}


def milvus_backend(uri: str, hnsw_threshold: int) -> tuple[Build, Load]:
    engine = MilvusBackend(MilvusConfig(uri, prefix="contract", hnsw_threshold=hnsw_threshold))

    def build(vectors: np.ndarray) -> VectorIndex:
        return engine.build(vectors, dim=DIM, collection="contract", segment=uuid4().hex)

    return build, engine.load


def _selector_only(store: FaissVectorStore) -> FaissVectorStore:
    store.exact_subset_limit = 0  # every filtered search through FAISS's IDSelectorBitmap
    return store


def unit_rows(count: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((count, DIM)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def exact(stored: np.ndarray, query: np.ndarray, k: int, allowed: np.ndarray) -> list[int]:
    scores = np.where(allowed, stored @ query, -np.inf)
    return [int(i) for i in np.argsort(-scores, kind="stable")[:k] if allowed[i]]


@pytest.fixture(params=[*BACKENDS, *ENGINES])
def backend(request: pytest.FixtureRequest) -> tuple[Build, Load]:
    if request.param in ENGINES:
        return milvus_backend(request.getfixturevalue("milvus_uri"), ENGINES[request.param])
    return BACKENDS[request.param]


STORED = unit_rows(120, seed=3)
QUERIES = unit_rows(4, seed=4)


def test_batch_search_finds_the_exact_nearest_rows_best_first(backend: tuple[Build, Load]) -> None:
    index = backend[0](STORED)
    assert (len(index), index.dim) == (len(STORED), DIM)
    everything = np.ones(len(STORED), dtype=bool)
    results = index.search(QUERIES, 5)
    assert len(results) == len(QUERIES)
    for query, hits in zip(QUERIES, results, strict=True):
        assert [row for row, _ in hits] == exact(STORED, query, 5, everything)
        assert [s for _, s in hits] == pytest.approx([float(STORED[r] @ query) for r, _ in hits])


def test_batch_search_answers_each_query_as_alone(backend: tuple[Build, Load]) -> None:
    index = backend[0](STORED)
    batch = index.search(QUERIES, 7)
    for query, hits in zip(QUERIES, batch, strict=True):
        alone = index.search(query[np.newaxis], 7)[0]
        assert [row for row, _ in hits] == [row for row, _ in alone]
        # An engine may sum a batch in another order than one query: the last bits may differ.
        assert [s for _, s in hits] == pytest.approx([s for _, s in alone], abs=1e-6)


@pytest.mark.parametrize("step", [1, 3, 40])
def test_a_row_filter_returns_only_allowed_rows(backend: tuple[Build, Load], step: int) -> None:
    index = backend[0](STORED)
    allowed = np.zeros(len(STORED), dtype=bool)
    allowed[::step] = True
    for query, hits in zip(QUERIES, index.search(QUERIES, 6, allowed), strict=True):
        assert [row for row, _ in hits] == exact(STORED, query, 6, allowed)


def test_nothing_allowed_nothing_stored_nothing_asked(backend: tuple[Build, Load]) -> None:
    index = backend[0](STORED)
    assert index.search(QUERIES, 5, np.zeros(len(STORED), dtype=bool)) == [[]] * len(QUERIES)
    assert index.search(QUERIES, 0) == [[]] * len(QUERIES)
    empty = backend[0](np.zeros((0, DIM), dtype=np.float32))
    assert len(empty) == 0
    assert empty.search(QUERIES[:1], 5) == [[]]


def test_asking_for_more_than_there_is_returns_every_row(backend: tuple[Build, Load]) -> None:
    index = backend[0](STORED[:9])
    assert sorted(row for row, _ in index.search(QUERIES[:1], 50)[0]) == list(range(9))


def test_vectors_by_row_are_the_stored_ones(backend: tuple[Build, Load]) -> None:
    index = backend[0](STORED)
    rows = np.array([0, 17, 119, 17])
    assert np.allclose(index.vectors(rows), STORED[rows])


def test_added_rows_are_numbered_after_the_others_and_found(backend: tuple[Build, Load]) -> None:
    index = backend[0](STORED[:100])
    rows = index.add(STORED[100:])
    assert rows.tolist() == list(range(100, 120))
    assert len(index) == 120
    assert np.allclose(index.vectors(rows), STORED[100:])
    assert index.search(STORED[110:111], 1)[0][0][0] == 110
    assert index.add(np.zeros((0, DIM), dtype=np.float32)).tolist() == []


def test_removed_rows_are_never_returned_and_the_rest_keep_their_rows(
    backend: tuple[Build, Load],
) -> None:
    index = backend[0](STORED)
    gone = np.array([5, 6, 50])
    index.remove(gone)
    kept = np.ones(len(STORED), dtype=bool)
    kept[gone] = False
    assert index.search(STORED[5:6], 3)[0][0][0] != 5
    allowed = np.zeros(len(STORED), dtype=bool)
    allowed[[5, 6, 7, 50, 51]] = True
    for query, hits in zip(QUERIES, index.search(QUERIES, 10, allowed), strict=True):
        assert [row for row, _ in hits] == exact(STORED, query, 10, allowed & kept)
    for query, hits in zip(QUERIES, index.search(QUERIES, 10), strict=True):
        assert [row for row, _ in hits] == exact(STORED, query, 10, kept)
    assert np.allclose(index.vectors(np.array([7])), STORED[[7]])
    with pytest.raises(IndexError):
        index.remove(np.array([len(STORED)]))


def test_save_and_load_keep_rows_additions_and_removals(
    backend: tuple[Build, Load], tmp_path: Path
) -> None:
    build, load = backend
    index = build(STORED[:100])
    index.add(STORED[100:])
    index.remove(np.array([3, 104]))
    index.save(tmp_path / "vectors")
    loaded = load(tmp_path / "vectors")
    assert (len(loaded), loaded.dim) == (len(index), DIM)
    assert loaded.search(QUERIES, 10) == index.search(QUERIES, 10)
    assert all(
        row not in (3, 104) for hits in loaded.search(STORED[[3, 104]], 5) for row, _ in hits
    )
