"""Merging deltas into one main segment aside, then switching under the lease (search/merging.py).

The merged generation serves exactly the rows the merged one did, scored as a rebuild of them
would be; writes that land between the merge's two steps (an added, a replaced and a deleted
document) are kept, on top of the merged main; a merge overtaken by a rebuild is dropped; the
write that takes the deltas past the policy's limits is still a delta, and says a merge is due.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from kb.settings import Settings
from search.hybrid import HybridSearcher
from search.index import Generation, IndexStore
from search.merging import MERGING_DIR, finish_merge, merge_lock, prepare_merge
from search.normalize import normalize
from search.segments import MergePolicy
from search.types import IndexedChunk
from search.upkeep import leftovers

FUSION = Settings().fusion_config
QUERIES = ["退款", "退款 发货 订单", "password reset", "打印机卡纸", "积分规则", "门店 闭店"]


def _doc(make_chunk: Callable[..., IndexedChunk], doc: str, *texts: str) -> list[IndexedChunk]:
    return [make_chunk(f"{doc}-{i}", t, document_id=doc) for i, t in enumerate(texts)]


def _with_deltas(store: IndexStore, corpus: list[IndexedChunk], make_chunk) -> None:  # type: ignore[no-untyped-def]
    store.build("kb", corpus)
    store.update("kb", {"doc-a"}, _doc(make_chunk, "doc-a", "补充说明：积分规则每年更新。"))
    store.update("kb", {"doc-b"}, _doc(make_chunk, "doc-b", "门店周一闭店维护。", "周二恢复营业。"))
    store.update("kb", {"doc-refund"}, [])  # a main document deleted


def _same_as_rebuild(store: IndexStore, generation: Generation) -> None:
    store.build("rebuilt", list(generation.chunks))
    rebuilt = store.load("rebuilt")
    a = HybridSearcher(generation, store.embedder, generation.tokenizer, FUSION)
    b = HybridSearcher(rebuilt, store.embedder, rebuilt.tokenizer, FUSION)
    for query in QUERIES:
        terms = generation.tokenizer.query_terms(normalize(query))
        mine = dict(
            zip([c.chunk_id for c in generation.chunks], generation.bm25.scores(terms), strict=True)
        )
        theirs = dict(
            zip([c.chunk_id for c in rebuilt.chunks], rebuilt.bm25.scores(terms), strict=True)
        )
        assert mine.keys() == theirs.keys()
        assert np.allclose([mine[k] for k in mine], [theirs[k] for k in mine], rtol=1e-5), query
        for mode in ("hybrid", "vector", "bm25"):
            left = a.search(query, limit=8, mode=mode)  # type: ignore[arg-type]
            right = b.search(query, limit=8, mode=mode)  # type: ignore[arg-type]
            assert [h.chunk.chunk_id for h in left] == [h.chunk.chunk_id for h in right]
            assert np.allclose([h.score for h in left], [h.score for h in right])


def test_a_merge_serves_the_same_rows_as_one_main_segment(
    store: IndexStore, corpus: list[IndexedChunk], make_chunk
) -> None:  # type: ignore[no-untyped-def]
    _with_deltas(store, corpus, make_chunk)
    before = store.load("kb")
    assert before.segments == 3  # the main and two deltas (the deletion hides rows only)
    with merge_lock(store, "kb") as mine:
        assert mine
        prepared = prepare_merge(store, "kb")
        assert prepared is not None
        assert store.current_generation("kb") == before.meta.generation  # nothing switched yet
        meta = finish_merge(store, prepared)
    assert meta is not None and meta.embedded == 0  # the segments' own vectors
    after = store.load("kb")
    assert after.segments == 1 and after.meta.fingerprint == before.meta.fingerprint
    assert sorted(map(repr, after.chunks)) == sorted(map(repr, before.chunks))
    _same_as_rebuild(store, after)
    assert leftovers(store, "kb") == []
    assert not any((store.root / MERGING_DIR / "kb").iterdir())
    with merge_lock(store, "kb"):
        assert prepare_merge(store, "kb") is None  # one segment: nothing to merge


def test_writes_during_a_merge_land_on_top_of_the_merged_main(
    store: IndexStore, corpus: list[IndexedChunk], make_chunk
) -> None:  # type: ignore[no-untyped-def]
    _with_deltas(store, corpus, make_chunk)
    with merge_lock(store, "kb"):
        prepared = prepare_merge(store, "kb")
        assert prepared is not None
        # Between the two steps, writers go on: an added, a replaced (in the main) and a
        # deleted document (the whole of a delta the merge holds).
        store.update("kb", {"doc-new"}, _doc(make_chunk, "doc-new", "新增：发票可以重开。"))
        replaced = _doc(make_chunk, "doc-printer", "打印机卡纸时先断电。")
        store.update("kb", {"doc-printer"}, replaced)
        store.update("kb", {"doc-b"}, [])
        written = store.load("kb")
        meta = finish_merge(store, prepared)
    assert meta is not None and meta.fingerprint == written.meta.fingerprint
    after = store.load("kb")
    assert after.segments == 3  # the merged main and the two deltas written meanwhile
    assert sorted(map(repr, after.chunks)) == sorted(map(repr, written.chunks))
    ids = {c.chunk_id for c in after.chunks}
    assert {"doc-new-0", "doc-printer-0", "doc-a-0"} <= ids
    assert not ids & {"printer", "doc-b-0", "doc-b-1", "refund"}
    _same_as_rebuild(store, after)
    # It takes deltas and merges as any generation does.
    store.update("kb", {"doc-c"}, _doc(make_chunk, "doc-c", "优惠券说明。"))
    with merge_lock(store, "kb"):
        prepared = prepare_merge(store, "kb")
        assert prepared is not None and finish_merge(store, prepared) is not None
    merged = store.load("kb")
    assert merged.segments == 1 and len(merged.chunks) == len(after.chunks) + 1
    assert leftovers(store, "kb") == []


def test_a_merge_overtaken_by_a_rebuild_is_dropped(
    store: IndexStore, corpus: list[IndexedChunk], make_chunk
) -> None:  # type: ignore[no-untyped-def]
    _with_deltas(store, corpus, make_chunk)
    with merge_lock(store, "kb"):
        prepared = prepare_merge(store, "kb")
        assert prepared is not None
        rebuilt = store.build("kb", corpus[:5])
        assert finish_merge(store, prepared) is None
    assert store.current_generation("kb") == rebuilt.generation
    assert (
        not prepared.staged.exists() and not (store.collection_dir("kb") / prepared.name).exists()
    )


def test_one_merge_at_a_time_and_a_killed_ones_files_are_cleared(
    store: IndexStore, corpus: list[IndexedChunk], make_chunk, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    _with_deltas(store, corpus, make_chunk)
    with merge_lock(store, "kb") as first:
        prepared = prepare_merge(store, "kb")  # left aside, as by a merge killed here
        assert first and prepared is not None and prepared.staged.is_dir()
        with merge_lock(store, "kb") as second:
            assert not second
    with merge_lock(store, "kb") as again:
        assert again and not prepared.staged.exists()


def test_the_write_past_the_limits_is_a_delta_and_says_a_merge_is_due(
    store: IndexStore, corpus: list[IndexedChunk], make_chunk
) -> None:  # type: ignore[no-untyped-def]
    store.build("kb", corpus)
    store.merge_policy = MergePolicy(max_deltas=1, max_share=0.5)
    assert store.update("kb", {"doc-a"}, _doc(make_chunk, "doc-a", "积分规则。")) is not None
    assert not store.merge_due("kb")
    meta = store.update("kb", {"doc-b"}, _doc(make_chunk, "doc-b", "门店公告。"))
    assert meta is not None and store.load("kb").segments == 3  # written, served at once
    assert store.merge_due("kb")
    # Past the ceiling (merges fell behind), the write itself rebuilds.
    store.merge_policy = MergePolicy(max_deltas=1, max_share=0.5, ceiling=1.0)
    assert store.update("kb", {"doc-c"}, _doc(make_chunk, "doc-c", "优惠券。")) is None
