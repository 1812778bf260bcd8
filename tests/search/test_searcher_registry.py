from collections.abc import Callable
from dataclasses import replace

from kb.settings import Settings
from search.index import IndexStore
from search.registry import SearcherCache
from search.types import IndexedChunk

FUSION = Settings().fusion_config  # the one source of fusion defaults


def test_serves_the_live_generation_and_reloads_on_switch(
    store: IndexStore, make_chunk: Callable[..., IndexedChunk]
) -> None:
    searchers = SearcherCache(store, FUSION)
    assert searchers.get("kb") is None
    store.build("kb", [make_chunk("old", "旧版退款政策：十五个工作日内退款。")])
    first = searchers.get("kb")
    assert first is not None
    assert searchers.get("kb") is first  # unchanged CURRENT: no reload
    store.build("kb", [make_chunk("new", "新版退款政策：三个工作日内退款。")])
    second = searchers.get("kb")
    assert second is not None and second is not first
    assert [h.chunk.chunk_id for h in second.search("退款")] == ["new"]
    # a search that started on the old searcher finishes on the old generation
    assert [h.chunk.chunk_id for h in first.search("退款")] == ["old"]


def test_settings_reach_the_searcher(
    store: IndexStore, make_chunk: Callable[..., IndexedChunk]
) -> None:
    store.build("kb", [make_chunk("a", "发票下载")])
    config = replace(FUSION, method="rrf", rrf_k=10, vector_weight=2.0)
    searcher = SearcherCache(store, config).get("kb")
    assert searcher is not None
    assert searcher.config == config
    assert (searcher.config.method, searcher.config.rrf_k, searcher.config.vector_weight) == (
        "rrf",
        10,
        2.0,
    )


def test_invalidate_forces_a_reload(
    store: IndexStore, make_chunk: Callable[..., IndexedChunk]
) -> None:
    store.build("kb", [make_chunk("a", "发票下载")])
    searchers = SearcherCache(store, FUSION)
    first = searchers.get("kb")
    searchers.invalidate("kb")
    assert searchers.get("kb") is not first
