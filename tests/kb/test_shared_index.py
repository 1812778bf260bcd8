"""Two knowledge bases on one PostgreSQL and one index directory, as two web processes see them
(KB_SHARED): a generation one publishes is served by the other within its poll, searches never
fail across the switch, and the library's caches follow the database, not the writer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from kb.context import SHARED_KEEP_SECONDS, KnowledgeBase
from kb.documents.ingestion import IngestItem, ingest_items
from kb.library.replies import make_reply
from kb.library.store import active_rules, import_rules, save_reply
from kb.retrieval.searching import SearchRequest, query_terms, search
from kb.retrieval.vocabulary import Vocabulary, save_vocabulary
from kb.settings import Settings
from kb.shared_index import PostgresGenerationCatalog, SharedIndexRefused
from search.generations import FileGenerationCatalog

POLL = 0.2
FAQ = "问题,答案\n退货运费谁出？,非质量问题退货由顾客承担运费。\n发什么快递？,默认顺丰快递。\n"
MORE = "问题,答案\n电池保修多久？,电池保修两年。\n"
RULES = """version: 1
rules:
  - id: battery
    name: 提到电池
    priority: 10
    when:
      any:
        - keywords: [电池]
    then: {level: tier2, team: warranty, steps: [核对保修]}
"""

Pair = tuple[KnowledgeBase, KnowledgeBase]


@pytest.fixture
def pair(make_kb: Callable[..., KnowledgeBase], postgres_url: str, tmp_path: Path) -> Pair:
    """A writer and a reader: two processes' knowledge bases on one database and index dir."""
    shared = {"database_url": postgres_url, "data_dir": tmp_path, "shared": True}
    return make_kb(**shared, index_poll_seconds=POLL), make_kb(**shared, index_poll_seconds=POLL)


def _ids(kb: KnowledgeBase, query: str) -> list[str]:
    return [hit.chunk.chunk_id for hit in search(kb, SearchRequest(query, "default"))]


def _eventually(check: Callable[[], bool], seconds: float = 10 * POLL) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(POLL / 4)  # the reader's poll is what we wait for
    return check()


@pytest.mark.postgres
def test_the_catalogue_follows_the_setting(
    pair: Pair, make_kb: Callable[..., KnowledgeBase]
) -> None:
    alone = make_kb()
    assert isinstance(pair[0].catalog, PostgresGenerationCatalog)
    assert isinstance(alone.catalog, FileGenerationCatalog)
    # Replaced generations stay a while when other hosts may still map them.
    assert pair[0].index_store.keep_superseded_seconds == SHARED_KEEP_SECONDS > 0
    assert alone.index_store.keep_superseded_seconds == 0


def test_a_shared_index_needs_postgresql(tmp_path: Path) -> None:
    with pytest.raises(SharedIndexRefused, match="KB_SHARED needs a PostgreSQL KB_DATABASE_URL"):
        KnowledgeBase(Settings(data_dir=tmp_path, shared=True))


@pytest.mark.postgres
def test_a_generation_one_process_publishes_is_served_by_the_other(pair: Pair) -> None:
    writer, reader = pair
    ingest_items(writer, [IngestItem("faq.csv", FAQ.encode())], collection="default")
    assert _eventually(lambda: _ids(reader, "快递") == _ids(writer, "快递") != [])
    failures: list[BaseException] = []
    stop = threading.Event()

    def keep_searching() -> None:  # the reader serves agents while the writer switches
        while not stop.is_set():
            try:
                _ids(reader, "电池保修")
            except BaseException as exc:  # any failure is the finding
                failures.append(exc)

    searching = threading.Thread(target=keep_searching)
    searching.start()
    try:
        ingest_items(writer, [IngestItem("more.csv", MORE.encode())], collection="default")
        new = _ids(writer, "电池保修多久")
        assert _eventually(lambda: _ids(reader, "电池保修多久") == new)
    finally:
        stop.set()
        searching.join()
    assert failures == []
    assert reader.catalog.live("default") == writer.catalog.live("default")


@pytest.mark.postgres
def test_the_library_a_process_changes_is_what_the_others_use(pair: Pair) -> None:
    writer, reader = pair
    assert active_rules(reader) == []
    import_rules(writer, RULES, "rules.yaml")
    assert [rule.id for rule in active_rules(reader)] == ["battery"]
    reply = make_reply(id="battery-warranty", title="电池保修", body="您好，电池保修两年。")
    save_reply(writer, reply)
    from kb.assist.matching import ReplyMatcher

    assert ReplyMatcher.for_kb(reader).get("battery-warranty") is not None


@pytest.mark.postgres
def test_a_vocabulary_saved_through_one_process_cuts_the_others_queries(pair: Pair) -> None:
    writer, reader = pair
    ingest_items(writer, [IngestItem("faq.csv", FAQ.encode())], collection="default")
    save_vocabulary(writer, Vocabulary(synonyms="快递,物流\n"))

    def synonyms_of_courier() -> bool:
        return any("物流" in syns for term, syns in query_terms(reader, "default", "快递"))

    assert _eventually(synonyms_of_courier)


@pytest.mark.postgres
def test_an_index_built_on_one_machine_is_served_when_it_becomes_shared(
    make_kb: Callable[..., KnowledgeBase], postgres_url: str, tmp_path: Path
) -> None:
    alone = make_kb(database_url=postgres_url, data_dir=tmp_path)
    ingest_items(alone, [IngestItem("faq.csv", FAQ.encode())], collection="default")
    built = _ids(alone, "快递")
    shared = {"database_url": postgres_url, "data_dir": tmp_path, "shared": True}
    writer, reader = make_kb(**shared, index_poll_seconds=POLL), make_kb(**shared)
    assert _ids(reader, "快递") == built  # the folder's pointer, until the first shared switch
    assert writer.catalog.collections() == ["default"]
    ingest_items(writer, [IngestItem("more.csv", MORE.encode())], collection="default")
    assert _eventually(lambda: _ids(reader, "电池保修多久") == _ids(writer, "电池保修多久"))
    assert alone.catalog.live("default") == writer.catalog.live("default")  # the pointer follows
