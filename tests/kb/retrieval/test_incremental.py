"""Incremental indexing through the real path: upload, replace, edit and delete one document of
an existing collection write a delta generation with only that document's chunks, it answers at
once, and the database and the index stay one fact (``kb check`` finds nothing)."""

from __future__ import annotations

from collections.abc import Callable

from kb.context import KnowledgeBase
from kb.documents.catalog import MetadataEdit, delete_document, update_metadata
from kb.documents.ingestion import IngestItem, ingest_items
from kb.maintenance.check import run_check
from kb.retrieval.indexing import ensure_fresh
from kb.retrieval.searching import SearchRequest, search

GUIDE = "question,answer\n" + "".join(  # 40 rows: the main segment
    f"第{i}款设备怎么保养?,第{i}款设备每周用干布擦拭一次，充电口不要沾水。\n" for i in range(40)
)
FAQ = "question,answer\n" + "".join(  # 3 rows: a delta
    f"型号{i}怎么重置?,按住型号{i}的电源键{i + 5}秒直到指示灯闪烁。\n" for i in range(6, 9)
)


def _ingest(kb: KnowledgeBase, name: str, text: str) -> str:
    [result] = ingest_items(kb, [IngestItem(name, text.encode())], collection="default")
    assert result.status == "ingested", result.reason
    assert result.document_id is not None
    return result.document_id


def _segments(kb: KnowledgeBase) -> int:
    searcher = kb.searchers.get("default")
    assert searcher is not None
    return searcher.generation.segments


def _consistent(kb: KnowledgeBase) -> None:
    assert run_check(kb).findings == []
    assert ensure_fresh(kb, "default") is False  # the delta's fingerprint is the database's


def test_one_document_is_findable_at_once_and_costs_only_its_chunks(
    make_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = make_kb()
    _ingest(kb, "guide.csv", GUIDE)
    faq = _ingest(kb, "faq.csv", FAQ)  # small against the guide: a delta
    assert _segments(kb) == 2
    meta = kb.index_store.current_meta("default")
    assert meta is not None and (meta.chunk_count, meta.embedded) == (43, 3)
    # Found by a keyword only it holds, through the search the API answers.
    [hit] = search(kb, SearchRequest("型号7 重置", limit=1, mode="bm25"))
    assert (hit.chunk.document_id, hit.chunk.version) == (faq, 1)
    _consistent(kb)

    # Replacing it: the old searcher (searches in flight) answers the old version until the
    # switch, the live one the new version; only the changed row is embedded.
    before = kb.searchers.get("default")
    assert before is not None
    new_faq = FAQ.replace("型号7的电源键12秒", "型号7背面的复位孔3秒")
    [result] = ingest_items(kb, [IngestItem("faq.csv", new_faq.encode())], collection="default")
    assert result.status == "ingested"
    meta = kb.index_store.current_meta("default")
    assert meta is not None and meta.embedded == 1
    assert before.search("复位孔", limit=1, mode="bm25") == []
    [hit] = search(kb, SearchRequest("复位孔", limit=1, mode="bm25"))
    assert (hit.chunk.document_id, hit.chunk.version) == (faq, 2)
    served = {c.version for c in kb.searchers.get("default").generation.chunks  # type: ignore[union-attr]
              if c.document_id == faq}  # fmt: skip
    assert served == {2}
    _consistent(kb)

    # A metadata edit re-indexes that document only, and filters see it.
    update_metadata(kb, faq, MetadataEdit(tags=["reset"]))
    hits = search(kb, SearchRequest("重置", limit=20, mode="bm25"))
    assert hits and {h.chunk.tags for h in hits if h.chunk.document_id == faq} == {("reset",)}
    _consistent(kb)

    # Deleting it: gone from every search at once.
    delete_document(kb, faq)
    hits = search(kb, SearchRequest("型号7 重置", limit=20))
    assert hits and not [h for h in hits if h.chunk.document_id == faq]
    assert search(kb, SearchRequest("干布擦拭", limit=1))
    _consistent(kb)
