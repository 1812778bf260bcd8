"""A searcher asked for while writers switch generations: the one it read in ``CURRENT`` may be
pruned before it is loaded (two newer builds finished meanwhile); it then serves the newest."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kb.settings import Settings
from search.index import Generation, IndexStore
from search.registry import SearcherCache
from search.types import IndexedChunk

FUSION = Settings().fusion_config  # the one source of fusion defaults


def test_a_generation_pruned_before_it_loads_is_replaced_by_the_live_one(
    store: IndexStore, make_chunk: Callable[..., IndexedChunk], monkeypatch: pytest.MonkeyPatch
) -> None:
    store.build("kb", [make_chunk("v1", "退款政策第一版")])
    store.build("kb", [make_chunk("v2", "退款政策第二版")])
    load = store.load
    interleaved: list[str] = []

    def load_after_two_builds(collection: str, generation: str | None = None) -> Generation:
        # The named point: CURRENT has been read, the generation not yet loaded.
        if not interleaved:
            interleaved.append(generation or "")
            store.build("kb", [make_chunk("v3", "退款政策第三版")])
            store.build("kb", [make_chunk("v4", "退款政策第四版")])  # prunes what was read
        return load(collection, generation)

    monkeypatch.setattr(store, "load", load_after_two_builds)
    searcher = SearcherCache(store, FUSION).get("kb")
    assert interleaved and not (store.collection_dir("kb") / interleaved[0]).exists()
    assert searcher is not None
    assert [h.chunk.chunk_id for h in searcher.search("退款政策")] == ["v4"]
