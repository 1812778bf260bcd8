import threading
from pathlib import Path

import faiss
import numpy as np
import pytest

from search.vectorstore import BUILD_THREADS, SEARCH_THREADS, FaissVectorStore

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


@pytest.mark.parametrize("threshold", [50_000, 10])
def test_a_mapped_index_answers_like_one_read_into_memory(
    vectors: np.ndarray, tmp_path: Path, threshold: int
) -> None:
    store = FaissVectorStore.build(vectors, dim=DIM, hnsw_threshold=threshold)
    store.remove(np.array([4, 8]))
    store.save(tmp_path / "vectors.faiss")
    mapped = FaissVectorStore.load(tmp_path / "vectors.faiss")
    whole = FaissVectorStore.load(tmp_path / "vectors.faiss", mmap=False)
    assert (mapped.mapped, whole.mapped) == (True, False)
    allowed = np.arange(len(vectors)) % 2 == 0
    for query in vectors[[0, 4, 17, 99]]:
        assert mapped.search(query, 10) == whole.search(query, 10) == store.search(query, 10)
        assert mapped.search(query, 5, allowed) == whole.search(query, 5, allowed)
    rows = np.array([1, 50, 199])
    assert np.array_equal(mapped.vectors(rows), whole.vectors(rows))


@pytest.mark.parametrize("threshold", [50_000, 10])
def test_a_mapped_index_grows_and_is_saved_over_its_own_file(
    vectors: np.ndarray, tmp_path: Path, threshold: int
) -> None:
    # FAISS aborts the whole process if a mapped array grows, and rewriting a mapped file in
    # place would pull the pages from under a reader: neither may happen.
    path = tmp_path / "vectors.faiss"
    FaissVectorStore.build(vectors[:150], dim=DIM, hnsw_threshold=threshold).save(path)
    reader = FaissVectorStore.load(path)
    before = reader.search(vectors[3], 5)
    writer = FaissVectorStore.load(path)
    assert list(writer.add(vectors[150:])) == list(range(150, 200))
    assert not writer.mapped
    assert writer.search(vectors[180], 1)[0][0][0] == 180
    writer.save(path)
    assert reader.search(vectors[3], 5) == before  # still reads the old file's pages
    assert len(FaissVectorStore.load(path)) == 200
    assert [p.name for p in tmp_path.iterdir()] == ["vectors.faiss"]


def test_a_search_runs_faiss_on_one_thread_and_a_build_on_every_core(
    vectors: np.ndarray,
) -> None:
    seen: list[int] = []

    def in_a_fresh_thread() -> None:  # OpenMP's thread count belongs to the calling thread
        faiss.omp_set_num_threads(2)
        store = FaissVectorStore.build(vectors, dim=DIM, hnsw_threshold=10)
        seen.append(faiss.omp_get_max_threads())
        store.search(vectors[:3], 5)
        seen.append(faiss.omp_get_max_threads())
        store.add(vectors[:1])
        seen.append(faiss.omp_get_max_threads())

    worker = threading.Thread(target=in_a_fresh_thread)
    worker.start()
    worker.join()
    assert seen == [BUILD_THREADS, SEARCH_THREADS, BUILD_THREADS]
    assert SEARCH_THREADS == 1
