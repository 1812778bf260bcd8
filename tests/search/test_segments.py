"""Delta generations: a main segment, small deltas and deleted rows, scored as a rebuild would.

Every comparison is against a full build of the same live chunks in another collection of the
same store: BM25 scores equal (global document frequencies and average length over all live
segments), vector and hybrid results equal, deleted rows never returned.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from kb.settings import Settings
from search.bm25 import BM25Index
from search.hybrid import HybridSearcher
from search.index import Generation, IndexStore
from search.normalize import normalize
from search.postings import Postings
from search.segmented import Part, SegmentedBM25
from search.segments import MANIFEST_FILE, MergePolicy
from search.types import IndexedChunk, SearchFilters
from search.upkeep import copy_live, leftovers

FUSION = Settings().fusion_config
QUERIES = [
    "退款",
    "退款 发货 订单",
    "password reset",
    "发票 invoice PDF",
    "电池 电池",
    "打印机卡纸",
]


def _extra(make_chunk, doc: str, texts: list[str], **fields: object) -> list[IndexedChunk]:  # type: ignore[no-untyped-def]
    return [
        make_chunk(f"{doc}-{i}", text, document_id=doc, **fields) for i, text in enumerate(texts)
    ]


def _by_id(generation: Generation, scores: np.ndarray) -> dict[str, float]:
    return {c.chunk_id: float(s) for c, s in zip(generation.chunks, scores, strict=True)}


def _assert_same_as_rebuild(store: IndexStore, live: list[IndexedChunk]) -> None:
    segmented = store.load("kb")
    assert segmented.segments > 1
    store.build("rebuilt", live)
    rebuilt = store.load("rebuilt")
    assert sorted(c.chunk_id for c in segmented.chunks) == sorted(c.chunk_id for c in live)
    tokenizer = segmented.tokenizer
    for query in QUERIES:
        terms = tokenizer.query_terms(normalize(query))
        mine = _by_id(segmented, segmented.bm25.scores(terms))
        theirs = _by_id(rebuilt, rebuilt.bm25.scores(terms))
        assert mine.keys() == theirs.keys()
        ids = sorted(mine)
        assert np.allclose([mine[i] for i in ids], [theirs[i] for i in ids], rtol=1e-5), query
        assert any(mine.values()), query  # the comparison compares something
        for term in terms:  # what a long query's budget ranks its terms by
            assert np.isclose(segmented.bm25.idf(term), rebuilt.bm25.idf(term)), (query, term)
    a = HybridSearcher(segmented, store.embedder, tokenizer, FUSION)
    b = HybridSearcher(rebuilt, store.embedder, tokenizer, FUSION)
    # A message over the query budget (search/query_budget.py) is cut by the live rows' idf.
    long_message = "。".join(["您好，我想问一下订单的事情"] * 40 + QUERIES) + "？"
    for query in [*QUERIES, long_message]:
        for mode in ("hybrid", "vector", "bm25"):
            mine_hits = a.search(query, limit=8, mode=mode)  # type: ignore[arg-type]
            their_hits = b.search(query, limit=8, mode=mode)  # type: ignore[arg-type]
            assert [h.chunk.chunk_id for h in mine_hits] == [h.chunk.chunk_id for h in their_hits]
            assert np.allclose([h.score for h in mine_hits], [h.score for h in their_hits])


def test_postings_score_as_bm25s_does(corpus: list[IndexedChunk], built) -> None:  # type: ignore[no-untyped-def]
    store, generation = built
    tokens = [store.tokenizer.tokenize(normalize(c.index_text)) for c in corpus]
    postings = Postings.build(tokens)
    rows = np.arange(len(corpus), dtype=np.int64)
    segmented = SegmentedBM25(
        [Part(rows, len(corpus), postings, generation.vectors)], k1=1.2, b=0.75
    )
    reference = BM25Index.build(tokens)
    for query in QUERIES:
        terms = store.tokenizer.query_terms(normalize(query))
        assert np.allclose(segmented.scores(terms), reference.scores(terms), rtol=1e-5)


def test_a_delta_scores_as_a_rebuild_after_add_replace_and_delete(
    store: IndexStore, corpus: list[IndexedChunk], make_chunk
) -> None:  # type: ignore[no-untyped-def]
    manual = _extra(make_chunk, "doc-manual", ["退款到账需要三个工作日。", "发票在订单页下载。"])
    store.build("kb", [*corpus, *manual])
    main = store.current_generation("kb")
    # Add a document.
    added = _extra(make_chunk, "doc-new", ["电池更换需要携带发票和订单号，退款另行处理。"])
    meta = store.update("kb", {"doc-new"}, added)
    assert meta is not None and meta.embedded == 1 and meta.chunk_count == len(corpus) + 3
    live = [*corpus, *manual, *added]
    _assert_same_as_rebuild(store, live)
    # Replace a document of the main segment: its old rows are hidden, the new ones served.
    texts = ["新版：退款当天到账。", "发票可在订单页下载 PDF。", "退款 退款 电池"]
    replaced = _extra(make_chunk, "doc-manual", texts, version=2)
    assert store.update("kb", {"doc-manual"}, replaced) is not None
    live = [*corpus, *added, *replaced]
    _assert_same_as_rebuild(store, live)
    # Delete a document of the main and one of a delta.
    meta = store.update("kb", {"doc-refund", "doc-new"}, [])
    assert meta is not None and meta.chunk_count == len(live) - 2
    assert store.load("kb").segments == 2  # the delta that held only doc-new is dropped
    live = [c for c in live if c.document_id not in {"doc-refund", "doc-new"}]
    _assert_same_as_rebuild(store, live)
    generation = store.load("kb")
    searcher = HybridSearcher(generation, store.embedder, store.tokenizer, FUSION)
    gone = {"doc-refund", "doc-new"}
    assert not [h for h in searcher.search("退款 电池", limit=50) if h.chunk.document_id in gone]
    filtered = searcher.search("退款", limit=50, filters=SearchFilters(products=("shop",)))
    assert filtered and not [h for h in filtered if h.chunk.document_id in gone]
    old = [h for h in searcher.search("退款到账", limit=50) if h.chunk.document_id == "doc-manual"]
    assert {h.chunk.version for h in old} == {2}
    # The main is kept while a delta serves it, and is no leftover.
    assert main in {p.name for p in store.collection_dir("kb").iterdir()}
    assert not [left for left in leftovers(store, "kb") if left.path.name == main]


def test_the_merge_policy_sends_big_or_many_changes_to_a_rebuild(
    store: IndexStore, corpus: list[IndexedChunk], make_chunk
) -> None:  # type: ignore[no-untyped-def]
    """Past the ceiling (background merges fell behind), the write itself rebuilds."""
    store.build("kb", corpus)
    store.merge_policy = MergePolicy(max_deltas=2, max_share=0.5, ceiling=1.0)
    big = _extra(make_chunk, "doc-big", [f"第{i}条说明：退款规则。" for i in range(len(corpus))])
    live = store.current_generation("kb")
    assert store.update("kb", {"doc-big"}, big) is None  # more than half the main's rows
    assert store.current_generation("kb") == live  # nothing written, nothing switched
    for n in range(2):
        one = _extra(make_chunk, f"doc-n{n}", [f"补充说明{n}：积分规则。"])
        assert store.update("kb", {f"doc-n{n}"}, one) is not None
    three = _extra(make_chunk, "doc-n2", ["补充说明：积分规则。"])
    assert store.update("kb", {"doc-n2"}, three) is None  # a third delta: merge


def test_a_generation_built_before_segments_takes_no_delta(
    store: IndexStore, corpus: list[IndexedChunk], make_chunk
) -> None:  # type: ignore[no-untyped-def]
    store.build("kb", corpus)
    (store.collection_dir("kb") / store.current_generation("kb") / "documents.json").unlink()  # type: ignore[operator]
    assert store.update("kb", {"doc-x"}, _extra(make_chunk, "doc-x", ["新的说明"])) is None


def test_a_delta_generation_is_copied_with_its_main(
    store: IndexStore, corpus: list[IndexedChunk], make_chunk, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    store.build("kb", corpus)
    meta = store.update("kb", {"doc-x"}, _extra(make_chunk, "doc-x", ["门店周一闭店维护。"]))
    assert meta is not None
    assert (store.collection_dir("kb") / meta.generation / MANIFEST_FILE).is_file()
    copied = copy_live(store, "kb", tmp_path / "copy")
    assert copied == meta
    other = IndexStore(tmp_path / "copy", store.embedder, store.cache, tokenizer=store.tokenizer)
    generation = other.load("kb")
    assert generation.segments == 2 and len(generation.chunks) == len(corpus) + 1


def test_a_replaced_document_answers_from_the_old_generation_until_the_switch(
    store: IndexStore, corpus: list[IndexedChunk], make_chunk
) -> None:  # type: ignore[no-untyped-def]
    store.build("kb", corpus)
    before = HybridSearcher(store.load("kb"), store.embedder, store.tokenizer, FUSION)
    new = replace(corpus[3], chunk_id="printer-2", text="打印机卡纸：请联系售后上门。", version=2)
    new = replace(new, index_text=new.text)
    assert store.update("kb", {new.document_id}, [new]) is not None
    after = HybridSearcher(store.load("kb"), store.embedder, store.tokenizer, FUSION)
    assert before.search("打印机卡纸", limit=1, mode="bm25")[0].chunk.version == 1
    assert after.search("打印机卡纸", limit=1, mode="bm25")[0].chunk.version == 2


@pytest.mark.parametrize("rows", [0, 3])
def test_an_empty_delta_or_main_is_served(
    store: IndexStore, corpus: list[IndexedChunk], make_chunk, rows: int
) -> None:  # type: ignore[no-untyped-def]
    store.build("kb", corpus)
    chunks = _extra(make_chunk, "doc-z", [f"说明{i}" for i in range(rows)])
    meta = store.update("kb", {"doc-z", corpus[0].document_id}, chunks)
    assert meta is not None and meta.chunk_count == len(corpus) - 1 + rows
    assert len(store.load("kb").chunks) == meta.chunk_count


def test_chunks_json_reads_back_equal_chunks_of_this_and_older_rows(
    tmp_path: Path, corpus: list[IndexedChunk]
) -> None:
    import json
    from datetime import date

    from search.segments import read_chunks, write_chunks

    dated = replace(corpus[0], valid_from=date(2026, 1, 1), tags=("售后", "X1"), page=3)
    written = [dated, *corpus[1:]]
    write_chunks(tmp_path / "chunks.json", written)
    read = read_chunks(tmp_path / "chunks.json")
    assert read == written and [hash(c) for c in read] == [hash(c) for c in written]
    assert isinstance(read[0].tags, tuple) and read[0].valid_from == date(2026, 1, 1)
    with pytest.raises(AttributeError):  # still frozen
        read[0].text = "changed"  # type: ignore[misc]
    # A row written by an older release (fewer fields) or a newer one (an unknown field).
    rows = json.loads((tmp_path / "chunks.json").read_text(encoding="utf-8"))
    del rows[0]["external_id"], rows[0]["question"]
    rows[1]["from_the_future"] = 1
    (tmp_path / "chunks.json").write_text(json.dumps(rows), encoding="utf-8")
    older, newer = read_chunks(tmp_path / "chunks.json")[:2]
    assert older == replace(dated, external_id=None, question=None) and newer == written[1]
