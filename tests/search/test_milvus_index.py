"""Milvus as an index store's vector backend: segments as Milvus collections, on a real Milvus Lite.

The contract every backend passes is tests/search/test_vector_index.py; here, what Milvus adds:
an index store whose generations (main and delta segments) rank as FAISS's do, Milvus
collections dropped with the segments they hold, a generation of the other backend refused,
row filters as Milvus expressions, and clear errors when the engine is missing or locked.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from uuid import uuid4

import numpy as np
import pytest

from kb.settings import Settings
from search.cache import EmbeddingCache
from search.embedders import Embedder
from search.hybrid import HybridSearcher
from search.index import IndexMismatchError, IndexNotFoundError, IndexStore
from search.milvus_index import POINTER_SUFFIX, MilvusBackend, MilvusConfig, row_filter
from search.segments import referenced
from search.tokenize import Tokenizer
from search.types import IndexedChunk, SearchFilters
from search.vectorindex import VectorEngineError

FUSION = Settings().fusion_config
QUERIES = ["退款", "password reset", "发票 invoice PDF", "电池鼓包怎么办", "打印机卡纸"]


@pytest.fixture
def milvus(milvus_uri: str) -> MilvusBackend:
    """A backend of its own prefix on the session's Milvus Lite: tests never see each other's."""
    return MilvusBackend(MilvusConfig(milvus_uri, prefix=f"t{uuid4().hex[:12]}"))


def _stores(
    root: Path, e5: Embedder, cache: EmbeddingCache, tokenizer: Tokenizer, milvus: MilvusBackend
) -> tuple[IndexStore, IndexStore]:
    faiss = IndexStore(root / "faiss", e5, cache, tokenizer=tokenizer)
    engine = IndexStore(root / "milvus", e5, cache, tokenizer=tokenizer, vector_backend=milvus)
    return faiss, engine


def _owned(milvus: MilvusBackend) -> set[str]:
    prefix = milvus.config.prefix + "_"
    return {n for n in milvus.client.list_collections() if n.startswith(prefix)}


def _served(milvus: MilvusBackend, store: IndexStore, collection: str) -> set[str]:
    """The Milvus collections of the segments ``collection``'s kept generations read."""
    base = store.collection_dir(collection)
    names = {n for entry in base.iterdir() if entry.is_dir() for n in referenced(entry)}
    return {milvus.collection_name(collection, name) for name in names}


def _same_hits(mine: HybridSearcher, theirs: HybridSearcher, **options: object) -> None:
    for query in QUERIES:
        for mode in ("hybrid", "vector"):
            a = mine.search(query, limit=6, mode=mode, **options)  # type: ignore[arg-type]
            b = theirs.search(query, limit=6, mode=mode, **options)  # type: ignore[arg-type]
            assert a, (query, mode)
            assert [h.chunk.chunk_id for h in a] == [h.chunk.chunk_id for h in b], (query, mode)
            assert np.allclose([h.score for h in a], [h.score for h in b], atol=1e-5)


def test_a_milvus_generation_ranks_as_the_faiss_one(
    tmp_path: Path,
    e5: Embedder,
    shared_cache: EmbeddingCache,
    tokenizer: Tokenizer,
    corpus: list[IndexedChunk],
    milvus: MilvusBackend,
) -> None:
    faiss, engine = _stores(tmp_path, e5, shared_cache, tokenizer, milvus)
    faiss.build("kb", corpus)
    engine.build("kb", corpus)
    generation = engine.load("kb")
    assert generation.meta.vector_index == "milvus-flat"
    live = generation.path / "vectors.faiss"
    assert live.with_suffix(POINTER_SUFFIX).is_file() and not live.exists()
    mine = HybridSearcher(generation, e5, tokenizer, FUSION)
    theirs = HybridSearcher(faiss.load("kb"), e5, tokenizer, FUSION)
    _same_hits(mine, theirs)
    # A row filter (a product, a document type) reaches Milvus as an expression over rows.
    _same_hits(mine, theirs, filters=SearchFilters(products=("shop",)))
    _same_hits(mine, theirs, filters=SearchFilters(doc_types=("policy",)))


def test_deltas_live_in_milvus_and_pruned_segments_leave_it(
    tmp_path: Path,
    e5: Embedder,
    shared_cache: EmbeddingCache,
    tokenizer: Tokenizer,
    corpus: list[IndexedChunk],
    make_chunk,  # type: ignore[no-untyped-def]
    milvus: MilvusBackend,
) -> None:
    faiss, engine = _stores(tmp_path, e5, shared_cache, tokenizer, milvus)
    engine.build("kb", corpus)
    old = HybridSearcher(engine.load("kb"), e5, tokenizer, FUSION)
    before = [(h.chunk.chunk_id, h.chunk.text) for h in old.search("退款 电池", limit=4)]
    added = [make_chunk("new-0", "电池鼓包可以到门店免费检测，确认后更换。", document_id="doc-new")]
    replaced = [make_chunk("refund", "新版退款政策：发货前退款当天到账。", version=2)]
    assert engine.update("kb", {"doc-new"}, added) is not None
    assert engine.update("kb", {"doc-refund"}, replaced) is not None
    generation = engine.load("kb")
    assert generation.segments == 3  # the main and two deltas, each its own Milvus collection
    assert _owned(milvus) == _served(milvus, engine, "kb")
    live = [c for c in corpus if c.document_id != "doc-refund"] + added + replaced
    faiss.build("kb", live)
    _same_hits(
        HybridSearcher(generation, e5, tokenizer, FUSION),
        HybridSearcher(faiss.load("kb"), e5, tokenizer, FUSION),
    )
    # A searcher that loaded an older generation finishes on it while newer ones are published.
    assert [(h.chunk.chunk_id, h.chunk.text) for h in old.search("退款 电池", limit=4)] == before
    # Merges rebuild a main segment; the segments no kept generation reads leave Milvus too.
    engine.build("kb", live)
    engine.build("kb", live)
    assert _owned(milvus) == _served(milvus, engine, "kb")
    assert len(_owned(milvus)) == 2  # the live main and its predecessor's
    # Another collection's segments are its own: building it drops nothing of "kb".
    engine.build("kb-2", corpus[:3])
    assert _owned(milvus) == _served(milvus, engine, "kb") | _served(milvus, engine, "kb-2")


def test_a_generation_of_the_other_backend_is_refused_until_rebuilt(
    tmp_path: Path,
    e5: Embedder,
    shared_cache: EmbeddingCache,
    tokenizer: Tokenizer,
    corpus: list[IndexedChunk],
    milvus: MilvusBackend,
) -> None:
    faiss = IndexStore(tmp_path, e5, shared_cache, tokenizer=tokenizer)
    engine = IndexStore(tmp_path, e5, shared_cache, tokenizer=tokenizer, vector_backend=milvus)
    faiss.build("kb", corpus)
    with pytest.raises(IndexMismatchError, match="milvus"):
        engine.load("kb")
    assert engine.update("kb", {"doc-refund"}, []) is None  # no delta on it: the caller rebuilds
    engine.build("kb", corpus)
    assert engine.load("kb").meta.vector_index == "milvus-flat"
    with pytest.raises(IndexMismatchError, match="faiss"):
        faiss.load("kb")


def test_a_segment_whose_milvus_collection_is_gone_is_missing(
    tmp_path: Path,
    e5: Embedder,
    shared_cache: EmbeddingCache,
    tokenizer: Tokenizer,
    corpus: list[IndexedChunk],
    milvus: MilvusBackend,
) -> None:
    store = IndexStore(tmp_path, e5, shared_cache, tokenizer=tokenizer, vector_backend=milvus)
    store.build("kb", corpus)
    [name] = _owned(milvus)
    milvus.client.drop_collection(name)
    fresh = IndexStore(tmp_path, e5, shared_cache, tokenizer=tokenizer, vector_backend=milvus)
    with pytest.raises(IndexNotFoundError, match="missing"):
        fresh.load("kb")


def _mask(size: int, rows: list[int]) -> np.ndarray:
    mask = np.zeros(size, dtype=bool)
    mask[rows] = True
    return mask


@pytest.mark.parametrize(
    ("mask", "expression"),
    [
        (_mask(5, []), None),
        (_mask(5, [0, 1, 2, 3, 4]), ""),
        (_mask(10, [2, 3, 4, 5]), "(row >= 2 and row <= 5)"),
        (_mask(10, [1, 4, 5, 6, 9]), "(row >= 4 and row <= 6) or row in [1, 9]"),
        (_mask(10, [0, 1, 2, 4, 5, 6, 7, 8, 9]), "not (row in [3])"),
        (_mask(10, [0, 2, 4, 6, 8]), "row in [0, 2, 4, 6, 8]"),
    ],
)
def test_a_row_filter_is_the_shorter_of_its_runs_and_their_complement(
    mask: np.ndarray, expression: str | None
) -> None:
    assert row_filter(mask) == expression


def test_collection_names_are_distinct_valid_and_found_by_collection(milvus_uri: str) -> None:
    backend = MilvusBackend(MilvusConfig(milvus_uri, prefix="kb1"))
    names = {
        backend.collection_name(collection, segment)
        for collection, segment in [("a_b", "c"), ("a", "b_c"), ("a-b", "c"), ("a_1b", "c")]
    }
    assert len(names) == 4
    assert all(n.replace("_", "").isalnum() and n.startswith("kb1_c") for n in names)
    longest = backend.collection_name("x" * 64, "20261207T134750123456-abcdef")
    assert len(longest) <= 255  # Milvus's limit
    stem_of_a = backend.collection_name("a", "s").removesuffix("s")  # what a sweep of "a" drops
    assert not backend.collection_name("a_x", "s").startswith(stem_of_a)
    for prefix in ("", "1abc", "a-b", "a" * 33):
        with pytest.raises(ValueError, match="prefix"):
            MilvusConfig(milvus_uri, prefix=prefix)
    with pytest.raises(ValueError, match="Milvus collection"):
        backend.collection_name("a/b", "s")


def test_an_unreachable_server_is_an_engine_error_not_a_crash() -> None:
    backend = MilvusBackend(MilvusConfig("http://127.0.0.1:9"))  # the discard port: nobody
    with pytest.raises(VectorEngineError, match=r"127\.0\.0\.1:9") as caught:
        backend.client  # noqa: B018
    assert isinstance(caught.value, OSError)  # answered as a fault (503), never a bare 500


def test_a_milvus_lite_file_open_in_another_process_says_so(tmp_path: Path) -> None:
    held = MilvusBackend(MilvusConfig(str(tmp_path / "held.db")))
    held.client  # noqa: B018  # this process holds the Lite file now
    script = (
        "from search.milvus_index import MilvusBackend, MilvusConfig\n"
        f"MilvusBackend(MilvusConfig({held.config.uri!r})).client\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert "VectorEngineError" in done.stderr
    assert "serves one process" in done.stderr and "Milvus server" in done.stderr
