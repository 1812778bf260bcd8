"""Generation format 2: chunks in memory-mapped columns, BM25 postings as mapped .npy files.

The table gives back exactly the chunks written (every field, None apart from empty); the
filter columns it hands a searcher equal those computed from the chunks; its files are mapped,
not read; a damaged table is refused. A generation of format 1 (``tests/fixtures/index-format1``,
written by the code before format 2: ``chunks.json``, ``postings.npz``) still loads, a delta
of format 2 sits on it, and both answer every query with the hits and scores of format 2.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from kb.settings import Settings
from search.chunkcolumns import ChunkColumns, chunk_columns
from search.chunktable import TABLE_DIR, ChunkRows, ChunkTable, ChunkTableError, write_table
from search.hybrid import HybridSearcher
from search.index import Generation, IndexStore
from search.segments import Manifest
from search.types import IndexedChunk, SearchFilters

FIXTURE = Path(__file__).parents[1] / "fixtures" / "index-format1"
FUSION = Settings().fusion_config
QUERIES = ["退款", "退款 发货 订单", "password reset", "發票 invoice PDF", "打印机卡纸", "积分"]
CHANGED_TEXT = "退款政策（新）：订单发货前可申请全额退款，款项在一个工作日内原路退回。"


def _odd_chunks(corpus: list[IndexedChunk]) -> list[IndexedChunk]:
    """The corpus plus rows that test each field's edge: None against empty, page 0, dates."""
    return [
        *corpus,
        replace(corpus[0], chunk_id="empty", text="", index_text="标题\n", question="",
                external_id="", section=(), tags=("", "售后"), product="", language=""),
        replace(corpus[1], chunk_id="headed", index_text="第三章 › 退款\n" + corpus[1].text,
                section=("第三章", "3.2 退款 \"引号\""), page=0, external_id="ext-1",
                valid_from=date(1, 1, 1), valid_to=date(9999, 12, 31)),
        replace(corpus[2], chunk_id="unrelated", index_text="不以正文结尾的索引文本", page=14),
    ]  # fmt: skip


def _same_columns(a: ChunkColumns, b: ChunkColumns) -> None:
    assert a.rows == b.rows
    for name in ("document_id", "doc_type", "product", "language"):
        left, right = getattr(a, name), getattr(b, name)
        assert [left.values[c] if c >= 0 else None for c in left.codes] == [
            right.values[c] if c >= 0 else None for c in right.codes
        ], name
    pairs = sorted(zip(a.tag_rows.tolist(), [a.tags.values[c] for c in a.tags.codes], strict=True))
    theirs = zip(b.tag_rows.tolist(), [b.tags.values[c] for c in b.tags.codes], strict=True)
    assert pairs == sorted(theirs)
    assert np.array_equal(a.valid_from, b.valid_from) and np.array_equal(a.valid_to, b.valid_to)


def test_the_table_gives_back_every_field_of_every_chunk(
    tmp_path: Path, corpus: list[IndexedChunk]
) -> None:
    chunks = _odd_chunks(corpus)
    write_table(tmp_path, chunks)
    table = ChunkTable(tmp_path / TABLE_DIR)
    assert len(table) == len(chunks)
    assert list(table) == chunks
    assert [hash(c) for c in table] == [hash(c) for c in chunks]
    assert table[-1] == chunks[-1] and table[2:5] == chunks[2:5]
    with pytest.raises(IndexError):
        table[len(chunks)]
    with pytest.raises(AttributeError):  # still frozen
        table[0].text = "changed"  # type: ignore[misc]
    _same_columns(table.columns(), ChunkColumns.of(chunks))
    # The text is stored once: the index text only adds its head.
    stored = (tmp_path / TABLE_DIR / "strings.bin").stat().st_size
    assert stored < sum(len((c.text + c.index_text).encode()) for c in chunks) * 0.7


def test_an_empty_table_loads(tmp_path: Path) -> None:
    write_table(tmp_path, [])
    table = ChunkTable(tmp_path / TABLE_DIR)
    assert len(table) == 0 and list(table) == [] and table.columns().rows == 0


def test_rows_of_several_segments_read_as_one(tmp_path: Path, corpus: list[IndexedChunk]) -> None:
    chunks = _odd_chunks(corpus)
    write_table(tmp_path, chunks)
    table = ChunkTable(tmp_path / TABLE_DIR)
    live = np.asarray([0, 3, 4, len(chunks) - 2], dtype=np.int64)
    rows = ChunkRows([(table, live), (corpus[:3], None), (table, None)])
    expected = [chunks[i] for i in live] + corpus[:3] + chunks
    assert list(rows) == expected and len(rows) == len(expected)
    assert [rows[i] for i in range(-len(rows), len(rows))] == expected * 2
    _same_columns(chunk_columns(rows), ChunkColumns.of(expected))


@pytest.mark.parametrize(
    ("damage", "error"),
    [
        (lambda d: (d / "strings.bin").write_bytes(b"short"), ChunkTableError),
        (lambda d: (d / "numbers.npy").write_bytes((d / "numbers.npy").read_bytes()[:90]),
         ValueError),
        (lambda d: (d / "tag_codes.npy").unlink(), FileNotFoundError),
    ],
)  # fmt: skip
def test_a_damaged_table_is_refused(
    tmp_path: Path, corpus: list[IndexedChunk], damage, error: type[Exception]
) -> None:  # type: ignore[no-untyped-def]
    write_table(tmp_path, corpus)
    damage(tmp_path / TABLE_DIR)
    with pytest.raises(error):
        ChunkTable(tmp_path / TABLE_DIR)


def _mapped_files() -> set[str]:
    lines = Path("/proc/self/maps").read_text().splitlines()
    return {line.split(maxsplit=5)[5] for line in lines if len(line.split(maxsplit=5)) == 6}


def test_a_generation_of_format_2_is_mapped_not_read(
    store: IndexStore, corpus: list[IndexedChunk]
) -> None:
    store.build("kb", corpus)
    store.update("kb", {"doc-extra"}, [replace(corpus[0], chunk_id="x", document_id="doc-extra")])
    generation = store.load("kb")
    assert generation.segments == 2 and generation.meta.format_version == 2
    manifest = Manifest.load(generation.path)
    assert manifest is not None
    mapped = _mapped_files()
    for segment in manifest.segments:
        directory = generation.path.parent / segment
        for name in ("strings.bin", "offsets.npy", "numbers.npy"):
            assert str(directory / TABLE_DIR / name) in mapped, name
        for name in ("postings.rows.npy", "postings.tfs.npy"):
            assert str(directory / "bm25" / name) in mapped, name
    store.build("whole", corpus)
    whole = store.load("whole")
    assert whole.bm25.scores(["退款"]).any()
    assert str(whole.path / "bm25" / "data.csc.index.npy") in _mapped_files()


def _fixture(tmp_path: Path, store: IndexStore) -> IndexStore:
    shutil.copytree(FIXTURE, tmp_path / "old-root")
    return IndexStore(tmp_path / "old-root", store.embedder, store.cache, tokenizer=store.tokenizer)


def _fixture_chunks(corpus: list[IndexedChunk]) -> list[IndexedChunk]:
    changed = replace(corpus[0], text=CHANGED_TEXT, index_text=CHANGED_TEXT, version=2)
    delta = sorted([changed, *corpus[-2:]], key=lambda c: c.document_id)  # as a delta orders
    return [*corpus[1:-2], *delta]  # the main's live rows, then the delta's


def _same_answers(mine: Generation, theirs: Generation, store: IndexStore) -> None:
    a = HybridSearcher(mine, store.embedder, mine.tokenizer, FUSION)
    b = HybridSearcher(theirs, store.embedder, theirs.tokenizer, FUSION)
    for query in QUERIES:
        for mode in ("hybrid", "vector", "bm25"):
            left = a.search(query, limit=8, mode=mode)  # type: ignore[arg-type]
            right = b.search(query, limit=8, mode=mode)  # type: ignore[arg-type]
            assert [h.chunk for h in left] == [h.chunk for h in right], (query, mode)
            assert np.allclose([h.score for h in left], [h.score for h in right]), (query, mode)
            assert [h.highlight for h in left] == [h.highlight for h in right]
        assert left, query  # the comparison compares something


def test_a_generation_of_format_1_loads_and_answers_as_format_2(
    tmp_path: Path, store: IndexStore, corpus: list[IndexedChunk]
) -> None:
    old = _fixture(tmp_path, store)
    generation = old.load("old")
    assert generation.meta.format_version == 1 and generation.segments == 2
    assert list(generation.chunks) == _fixture_chunks(corpus)
    # The same changes written by this build (format 2): the same rows, hits and scores.
    store.build("new", corpus[:-2])
    changed = _fixture_chunks(corpus)[-3:]  # the delta
    store.update("new", {c.document_id for c in changed}, changed)
    new = store.load("new")
    assert new.meta.format_version == 2 and new.segments == 2
    assert list(new.chunks) == list(generation.chunks)
    _same_answers(generation, new, store)
    filtered = HybridSearcher(generation, store.embedder, generation.tokenizer, FUSION)
    [hit] = filtered.search("退款", limit=5, filters=_only_tag("refund", "2026-06-01"))
    assert hit.chunk.chunk_id == "refund" and hit.chunk.version == 2


def _only_tag(tag: str, day: str) -> SearchFilters:
    return SearchFilters(tags=(tag,), valid_on=date.fromisoformat(day))


def test_a_delta_of_format_2_sits_on_a_main_of_format_1(
    tmp_path: Path, store: IndexStore, corpus: list[IndexedChunk]
) -> None:
    old = _fixture(tmp_path, store)
    text = "打印机卡纸：先关机，再取出纸张。"
    moved = replace(corpus[3], text=text, index_text=text, version=2)
    meta = old.update("old", {moved.document_id}, [moved])
    assert meta is not None and meta.format_version == 2
    mixed = old.load("old")
    assert mixed.segments == 3
    live = [c for c in _fixture_chunks(corpus) if c.document_id != moved.document_id] + [moved]
    assert sorted(map(repr, mixed.chunks)) == sorted(map(repr, live))
    store.build("rebuilt", live)
    _same_answers_by_id(mixed, store.load("rebuilt"), store)


def _same_answers_by_id(mine: Generation, theirs: Generation, store: IndexStore) -> None:
    # Row order differs from a rebuild's; ties aside, hits and scores do not.
    a = HybridSearcher(mine, store.embedder, mine.tokenizer, FUSION)
    b = HybridSearcher(theirs, store.embedder, theirs.tokenizer, FUSION)
    for query in QUERIES:
        for mode in ("vector", "bm25"):
            left = {h.chunk.chunk_id: h.score for h in a.search(query, limit=20, mode=mode)}  # type: ignore[arg-type]
            right = {h.chunk.chunk_id: h.score for h in b.search(query, limit=20, mode=mode)}  # type: ignore[arg-type]
            assert left.keys() == right.keys(), (query, mode)
            assert np.allclose([left[k] for k in left], [right[k] for k in left]), (query, mode)
