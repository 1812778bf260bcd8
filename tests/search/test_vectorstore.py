from pathlib import Path

import numpy as np
import pytest

from search.vectorstore import FaissVectorStore

DIM = 16


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    rows = np.random.default_rng(7).standard_normal((200, DIM)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def exact(vectors: np.ndarray, query: np.ndarray, k: int, allowed: np.ndarray) -> list[int]:
    scores = np.where(allowed, vectors @ query, -np.inf)
    return [int(i) for i in np.argsort(-scores, kind="stable")[:k] if allowed[i]]


@pytest.mark.parametrize(
    ("threshold", "kind"), [(50_000, "flat"), (201, "flat"), (200, "hnsw"), (10, "hnsw")]
)
def test_threshold_picks_the_index(vectors: np.ndarray, threshold: int, kind: str) -> None:
    store = FaissVectorStore.build(vectors, dim=DIM, hnsw_threshold=threshold)
    assert store.kind == kind
    assert len(store) == len(vectors)
    row, score = store.search(vectors[42], 1)[0][0]
    assert row == 42
    assert score == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("threshold", [50_000, 10])
@pytest.mark.parametrize("exact_subset_limit", [20_000, 0])  # numpy subset or FAISS selector
def test_allowed_rows_restrict_results(
    vectors: np.ndarray, threshold: int, exact_subset_limit: int
) -> None:
    store = FaissVectorStore.build(vectors, dim=DIM, hnsw_threshold=threshold)
    store.exact_subset_limit = exact_subset_limit
    allowed = np.zeros(len(vectors), dtype=bool)
    allowed[::3] = True
    query = vectors[1]  # itself not allowed
    hits = store.search(query, 5, allowed)[0]
    assert [row for row, _ in hits] == exact(vectors, query, 5, allowed)
    assert all(allowed[row] for row, _ in hits)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)


def test_nothing_allowed_and_empty_store(vectors: np.ndarray) -> None:
    store = FaissVectorStore.build(vectors, dim=DIM)
    assert store.search(vectors[0], 5, np.zeros(len(vectors), dtype=bool)) == [[]]
    empty = FaissVectorStore.build(np.zeros((0, DIM), dtype=np.float32), dim=DIM)
    assert len(empty) == 0
    assert empty.search(vectors[0], 5) == [[]]


def test_stored_vectors_give_exact_cosines(vectors: np.ndarray) -> None:
    store = FaissVectorStore.build(vectors, dim=DIM, hnsw_threshold=10)
    rows = np.array([3, 9, 27])
    assert np.allclose(store.vectors(rows) @ vectors[0], vectors[rows] @ vectors[0])


@pytest.mark.parametrize("threshold", [50_000, 10])
def test_save_and_load_round_trip(vectors: np.ndarray, tmp_path: Path, threshold: int) -> None:
    store = FaissVectorStore.build(vectors, dim=DIM, hnsw_threshold=threshold)
    store.save(tmp_path / "vectors.faiss")
    loaded = FaissVectorStore.load(tmp_path / "vectors.faiss")
    assert (loaded.kind, loaded.dim, len(loaded)) == (store.kind, DIM, len(vectors))
    assert loaded.search(vectors[5], 10) == store.search(vectors[5], 10)
