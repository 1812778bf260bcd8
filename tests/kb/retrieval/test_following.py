"""A shared web process loads what another publishes in the background, before any request."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from kb.context import KnowledgeBase
from kb.documents.ingestion import IngestItem, ingest_items
from kb.retrieval.following import GenerationFollower

pytestmark = pytest.mark.postgres

POLL = 0.2
FAQ = "问题,答案\n发什么快递？,默认顺丰快递。\n"
MORE = "问题,答案\n电池保修多久？,电池保修两年。\n"


def test_a_published_generation_is_loaded_before_any_request_asks(
    make_kb: Callable[..., KnowledgeBase], postgres_url: str, tmp_path: Path
) -> None:
    shared = {"database_url": postgres_url, "data_dir": tmp_path, "shared": True}
    writer, reader = make_kb(**shared), make_kb(**shared, index_poll_seconds=POLL)
    follower = GenerationFollower(reader).start()
    try:
        for name, text in (("faq.csv", FAQ), ("more.csv", MORE)):
            ingest_items(writer, [IngestItem(name, text.encode())], collection="default")
            # Live is read again each look: the writer may publish once more after returning
            # (a background merge or the vectors of a keyword-first delta), and the reader
            # must follow that one too.
            deadline = time.monotonic() + 30 * POLL
            while (
                reader.searchers.loaded("default") != writer.catalog.live("default")
                and time.monotonic() < deadline
            ):
                time.sleep(POLL / 4)  # the follower's poll is what we wait for
            live = writer.catalog.live("default")
            assert reader.searchers.loaded("default") == live  # no search was made on reader
    finally:
        follower.stop()
    assert not follower._thread.is_alive()
