"""bench/startup.py times the stages of a start-up on a real knowledge base, and refuses to
time one whose index was stale (a rebuild is not a start-up)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlmodel import select

from bench.startup import COLLECTION, STAGES, one_run
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.documents.ingestion import IngestItem, ingest_items
from kb.models import Document

FAQ = (
    "question,answer\n保单可以退保吗?,可以，犹豫期内退保全额退还保费。\n"
    "怎么报案?,拨打客服电话报案。\n"
)


def test_every_stage_is_timed_and_a_stale_index_is_refused(
    make_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = make_kb()
    [result] = ingest_items(kb, [IngestItem("faq.csv", FAQ.encode())], collection=COLLECTION)
    assert result.status == "ingested"
    data_dir = kb.settings.data_dir
    times = one_run(data_dir)
    assert set(STAGES) <= set(times) and all(times[s] >= 0 for s in STAGES)
    assert (times["chunks"], times["hits"]) == (2, 2)
    with session_scope(kb.engine) as session:
        doc = session.exec(select(Document)).one()
        doc.title = "改过的标题"
        session.add(doc)
    with pytest.raises(SystemExit, match="stale"):
        one_run(data_dir)
