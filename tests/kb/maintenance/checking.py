"""Shared by the ``kb check`` tests: a small knowledge base, checked clean before it is broken."""

from __future__ import annotations

from collections.abc import Callable

from kb.context import KnowledgeBase
from kb.documents.ingestion import IngestItem, ingest_items
from kb.maintenance.check import run_check

COLLECTION = "default"
FAQ = (
    "question,answer,tags\n"
    "How do I pair the remote?,Hold the pair key for five seconds until the lamp is blue.,remote\n"
    "Can I wash the filter?,Rinse the filter in cold water and let it dry for a day.,filter\n"
)
GUIDE = (
    "# Battery\n\nCharge the battery fully before the first use. A full charge takes two hours.\n"
)


def ingested(make_kb: Callable[..., KnowledgeBase], **overrides: object) -> KnowledgeBase:
    kb = make_kb(**overrides)
    items = [IngestItem("faq.csv", FAQ.encode()), IngestItem("guide.md", GUIDE.encode())]
    assert {r.status for r in ingest_items(kb, items, collection=COLLECTION)} == {"ingested"}
    assert run_check(kb).findings == []
    return kb
