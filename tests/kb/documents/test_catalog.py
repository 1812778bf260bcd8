"""The catalog (kb/documents/catalog.py): listing, showing, editing metadata, on both databases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from kb.context import KnowledgeBase
from kb.documents.catalog import (
    DocumentQuery,
    MetadataEdit,
    count_documents,
    get_document,
    list_documents,
    neighbourhood,
    update_metadata,
)
from kb.documents.ingestion import DocumentMeta, IngestItem, ingest_items
from kb.errors import NotFound
from kb.retrieval.searching import SearchRequest, search
from search.types import SearchFilters

MANUAL = "# 第1章 保修\n\n## 1.1 期限\n\n整机保修一年。\n\n## 1.2 电池\n\n电池保修两年。\n"
FAQ = "问题,答案\n保修多久？,整机保修一年，电池保修两年。\n".encode()


@pytest.fixture
def kb(make_db_kb: Callable[..., KnowledgeBase]) -> KnowledgeBase:
    kb = make_db_kb()
    items = [
        IngestItem("warranty.md", MANUAL.encode(), DocumentMeta(tags=["保修"])),
        IngestItem("faq.csv", FAQ, DocumentMeta(doc_type="faq")),
    ]
    assert [r.status for r in ingest_items(kb, items, collection="default")] == ["ingested"] * 2
    return kb


def _id(kb: KnowledgeBase, source_name: str) -> str:
    return next(d.id for d in list_documents(kb) if d.source_name == source_name)


@pytest.mark.parametrize(
    ("query", "names"),
    [
        (DocumentQuery(), ["faq.csv", "warranty.md"]),
        (DocumentQuery(doc_type="faq"), ["faq.csv"]),
        (DocumentQuery(tag="保修"), ["warranty.md"]),
        (DocumentQuery(text="WARRANTY"), ["warranty.md"]),
        (DocumentQuery(collection="elsewhere"), []),
    ],
)
def test_list_filters(kb: KnowledgeBase, query: DocumentQuery, names: list[str]) -> None:
    assert sorted(d.source_name for d in list_documents(kb, query)) == names


def test_a_document_shows_versions_chunks_and_a_chunk_in_its_section(kb: KnowledgeBase) -> None:
    doc = get_document(kb, _id(kb, "warranty.md"))
    assert [v.number for v in doc.versions] == [1] and doc.versions[0].chunk_count == len(
        doc.chunks
    )
    battery = next(c for c in doc.chunks if "电池" in c.text)
    context = neighbourhood(doc, battery.id)
    assert context.chunk.id == battery.id and battery.id in {c.id for c in context.shown}
    assert context.section == battery.heading_path
    assert count_documents(kb, "default") == 2
    with pytest.raises(NotFound, match="no-such-id"):
        get_document(kb, "no-such-id")


def test_edited_metadata_is_saved_and_searched_at_once(kb: KnowledgeBase) -> None:
    doc_id = _id(kb, "warranty.md")
    edit = MetadataEdit(title="保修政策", tags=["售后"], product="X1", valid_from=date(2020, 1, 1))
    saved = update_metadata(kb, doc_id, edit)
    assert (saved.title, saved.tags, saved.product, saved.valid_from) == (
        "保修政策",
        ["售后"],
        "X1",
        date(2020, 1, 1),
    )
    hits = search(kb, SearchRequest("电池保修", filters=SearchFilters(products=("X1",))))
    assert hits and {h.chunk.document_title for h in hits} == {"保修政策"}
    cleared = update_metadata(kb, doc_id, MetadataEdit(product="", clear_dates=True))
    assert (cleared.product, cleared.valid_from, cleared.title) == (None, None, "保修政策")
