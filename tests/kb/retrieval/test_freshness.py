"""The start-up freshness check reads two columns per chunk, not the chunks: it must still agree
with the fingerprint of the full chunks (both forms) and catch every change the index holds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from backends import BACKENDS
from sqlmodel import select

from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.documents.ingestion import IngestItem, ingest_items
from kb.models import ChunkRecord, Document
from kb.retrieval.indexing import (
    ensure_fresh,
    fingerprint,
    is_current,
    live_chunks,
    live_lines,
    serves_database,
)
from search.segments import chunk_line

FAQ = "question,answer\n怎么重置?,按住电源键5秒。\n多久保修?,整机保修一年。\n"
GUIDE = "# 保养\n\n每周用干布擦拭一次。\n\n## 充电\n\n充电口不要沾水。\n"


@pytest.fixture(params=BACKENDS)
def kb(make_kb: Callable[..., KnowledgeBase], request: pytest.FixtureRequest) -> KnowledgeBase:
    overrides = {}
    if request.param == "postgresql":  # its dates and JSON come back as other types' values
        overrides["database_url"] = request.getfixturevalue("new_postgres_url")()
    kb = make_kb(**overrides)
    items = [IngestItem("faq.csv", FAQ.encode()), IngestItem("guide.md", GUIDE.encode())]
    results = ingest_items(kb, items, collection="default")
    assert [r.status for r in results] == ["ingested", "ingested"]
    with session_scope(kb.engine) as session:
        doc = session.exec(select(Document).where(Document.source_name == "faq.csv")).one()
        doc.tags, doc.product = ["售后", "重置"], "X1"
        doc.valid_from, doc.valid_to = date(2026, 1, 1), date(2027, 6, 30)
        session.add(doc)
    assert ensure_fresh(kb, "default") is True  # the metadata written behind its back
    return kb


def test_the_column_read_gives_the_lines_of_the_full_chunks(kb: KnowledgeBase) -> None:
    with session_scope(kb.engine) as session:
        chunks = live_chunks(session, "default")
        lines = live_lines(session, "default")
        meta = kb.index_store.current_meta("default")
        assert meta is not None and meta.fingerprint == fingerprint(chunks)
        assert lines == [chunk_line(c) for c in chunks] and len(lines) >= 4
        assert serves_database(session, meta, "default") and is_current(meta, chunks)


def test_the_sequential_form_of_older_generations_is_still_accepted(kb: KnowledgeBase) -> None:
    import hashlib
    from dataclasses import replace

    with session_scope(kb.engine) as session:
        chunks = live_chunks(session, "default")
        meta = kb.index_store.current_meta("default")
        assert meta is not None
        digest = hashlib.sha256("".join(chunk_line(c) for c in chunks).encode()).hexdigest()
        old = replace(meta, fingerprint=digest[:32])
        assert serves_database(session, old, "default") and is_current(old, chunks)
        assert not serves_database(session, replace(meta, fingerprint="0" * 32), "default")


@pytest.mark.parametrize(
    "change",
    ["title", "doc_type", "tags", "product", "language", "valid_to", "version", "chunk_gone"],
)
def test_every_change_the_index_holds_makes_it_stale(kb: KnowledgeBase, change: str) -> None:
    with session_scope(kb.engine) as session:
        doc = session.exec(select(Document).where(Document.source_name == "faq.csv")).one()
        if change == "chunk_gone":
            chunk = session.exec(select(ChunkRecord).where(ChunkRecord.document_id == doc.id))
            session.delete(chunk.first())
        elif change == "version":
            doc.current_version += 1  # a version committed, the switch never made (its chunks)
        else:
            value = {"tags": ["售后"], "valid_to": date(2027, 7, 1), "doc_type": "policy"}
            setattr(doc, change, value.get(change, "zh-Hant" if change == "language" else "Y"))
        session.add(doc)
    meta = kb.index_store.current_meta("default")
    assert meta is not None
    with session_scope(kb.engine) as session:
        assert not serves_database(session, meta, "default")
    assert ensure_fresh(kb, "default") is True
    assert ensure_fresh(kb, "default") is False
