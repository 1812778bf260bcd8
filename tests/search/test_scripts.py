"""Each chunk's CJK share is stored with its segment at build time (search/scripts.py) instead of
computed from every chunk's text when a searcher is built: rankings must not move, deltas must
carry their live rows' shares, and a generation written before the file must still load."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from kb.settings import Settings
from search.embedders import Embedder
from search.hybrid import HybridSearcher
from search.index import Generation, IndexStore
from search.scripts import CJK_SHARE_FILE, cjk_share, cjk_shares
from search.tokenize import Tokenizer
from search.types import IndexedChunk

FUSION = Settings().fusion_config
QUERIES = ["退款要多久", "How can I reset my password?", "发票 invoice PDF", "打印机卡纸", "2024"]


def _answers(searcher: HybridSearcher) -> list[list[tuple[str, float, float | None]]]:
    return [
        [(h.chunk.chunk_id, h.score, h.bm25_score) for h in searcher.search(q, limit=10, mode=m)]
        for q in QUERIES
        for m in ("hybrid", "bm25")
    ]


def _searcher(generation: Generation, e5: Embedder, tokenizer: Tokenizer) -> HybridSearcher:
    return HybridSearcher(generation, e5, tokenizer, FUSION)


def test_cjk_share_counts_letters_by_script() -> None:
    assert cjk_share("退款 refund") == pytest.approx(2 / 8)
    assert (cjk_share("退款"), cjk_share("refund"), cjk_share("2024 ,。")) == (1.0, 0.0, 1.0)


def test_stored_shares_rank_exactly_as_computed_ones(
    built: tuple[IndexStore, Generation], e5: Embedder, tokenizer: Tokenizer
) -> None:
    _, generation = built
    stored = generation.cjk_share
    assert stored is not None and (generation.path / CJK_SHARE_FILE).is_file()
    assert np.array_equal(stored, cjk_shares(generation.chunks))
    assert 0.0 in stored and 1.0 in stored  # the corpus has English and Chinese chunks
    # The searcher as it was: shares computed from the chunks' text at construction.
    computed = Generation(**{**generation.__dict__, "cjk_share": None})
    assert _answers(_searcher(generation, e5, tokenizer)) == _answers(
        _searcher(computed, e5, tokenizer)
    )


def test_a_generation_without_the_file_still_loads_and_ranks_the_same(
    tmp_path: Path,
    built: tuple[IndexStore, Generation],
    e5: Embedder,
    tokenizer: Tokenizer,
    shared_cache,  # type: ignore[no-untyped-def]
) -> None:
    store, generation = built
    copied = tmp_path / "index"
    shutil.copytree(store.root, copied)
    (copied / "kb" / generation.meta.generation / CJK_SHARE_FILE).unlink()
    older = IndexStore(copied, e5, shared_cache, tokenizer=tokenizer).load("kb")
    assert older.cjk_share is not None
    assert np.array_equal(older.cjk_share, generation.cjk_share)  # type: ignore[arg-type]
    assert _answers(_searcher(older, e5, tokenizer)) == _answers(
        _searcher(generation, e5, tokenizer)
    )


def test_a_delta_generation_carries_the_shares_of_its_live_rows(
    store: IndexStore,
    corpus: list[IndexedChunk],
    make_chunk: Callable[..., IndexedChunk],
) -> None:
    store.build("kb", corpus, fingerprint="v1")
    gone = corpus[0].document_id
    added = [
        make_chunk("new-0", "Reset the router from the admin page.", document_id="doc-new"),
        make_chunk("new-1", "门店周一闭店维护。", document_id="doc-new"),
    ]
    assert store.update("kb", {gone, "doc-new"}, added) is not None
    delta = store.load("kb")
    assert delta.segments == 2 and all(c.document_id != gone for c in delta.chunks)
    assert delta.cjk_share is not None
    assert np.array_equal(delta.cjk_share, cjk_shares(delta.chunks))
    assert delta.cjk_share[-2:].tolist() == [0.0, 1.0]
