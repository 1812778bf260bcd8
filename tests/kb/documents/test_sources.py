"""A cited passage with its neighbours (kb/documents/sources.py), on both databases: the same
document version, title, section path and page, and one 404 for unknown and unreadable ids."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from backends import BACKENDS
from source_files import PAGES, manual_pdf

from kb.assist.script import convert
from kb.context import KnowledgeBase
from kb.documents.catalog import DocumentQuery, get_document, list_documents
from kb.documents.ingestion import DocumentMeta, IngestItem, ingest_items
from kb.documents.sources import SourceView, read_source
from kb.errors import NotFound
from kb.settings import Settings

FAQ = "问题,答案\n電池保固多久？,電池保固兩年，軟體更新終身免費。\n"


def _fill(kb: KnowledgeBase) -> KnowledgeBase:
    manual = IngestItem("robot-manual.pdf", manual_pdf(PAGES), DocumentMeta())
    [result] = ingest_items(kb, [manual], collection="hr")
    assert result.status == "ingested"
    faq = IngestItem("faq.csv", FAQ.encode(), DocumentMeta(doc_type="faq"))
    assert ingest_items(kb, [faq], collection="finance")[0].status == "ingested"
    return kb


@pytest.fixture(scope="module", params=BACKENDS)
def kb(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    embedding_cache_dir: Path,
) -> Iterator[KnowledgeBase]:
    """Both collections on each database, built once per module: the tests only read."""
    overrides: dict[str, object] = {}
    if request.param == "postgresql":
        overrides["database_url"] = request.getfixturevalue("new_postgres_url")()
    data_dir = tmp_path_factory.mktemp("sources")
    settings = Settings(data_dir=data_dir, cache_dir=embedding_cache_dir, **overrides)  # type: ignore[arg-type]
    kb = _fill(KnowledgeBase(settings))
    yield kb
    kb.close()


def _chunks(kb: KnowledgeBase, source_name: str, collection: str) -> list[str]:
    [doc] = [
        d for d in list_documents(kb, DocumentQuery(collection)) if d.source_name == source_name
    ]
    return [c.id for c in get_document(kb, doc.id).chunks]


def _ordinals(view: SourceView) -> tuple[list[int], int, list[int]]:
    return (
        [p.ordinal for p in view.before],
        view.passage.ordinal,
        [p.ordinal for p in view.after],
    )


@pytest.mark.parametrize(
    ("at", "around", "expected", "more"),
    [
        (2, 2, ([0, 1], 2, [3, 4]), (False, False)),
        (2, 1, ([1], 2, [3]), (True, True)),
        (0, 2, ([], 0, [1, 2]), (False, True)),
        (4, 2, ([2, 3], 4, []), (True, False)),
        (3, 0, ([], 3, []), (True, True)),
    ],
)
def test_a_passage_comes_with_its_neighbours_in_document_order(
    kb: KnowledgeBase,
    at: int,
    around: int,
    expected: tuple[list[int], int, list[int]],
    more: tuple[bool, bool],
) -> None:
    ids = _chunks(kb, "robot-manual.pdf", "hr")
    view = read_source(kb, ids[at], collections=None, around=around)
    assert _ordinals(view) == expected
    assert (view.more_before, view.more_after) == more
    assert view.passage.section == [PAGES[at][0]] and view.passage.page == at + 1
    assert PAGES[at][1] in view.passage.text
    assert [p.page for p in view.before + view.after] == [o + 1 for o in expected[0] + expected[2]]
    assert view.document.title and view.document.collection == "hr"
    assert view.document.version == view.document.current_version == 1


def test_an_old_versions_passage_keeps_its_own_neighbours_and_says_it_was_replaced(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = _fill(make_db_kb())
    old = _chunks(kb, "robot-manual.pdf", "hr")
    changed = [
        *PAGES[:2],
        ("3 Storage", "Store the robot half charged, in a dry room."),
        *PAGES[3:],
    ]
    replaced = IngestItem("robot-manual.pdf", manual_pdf(changed), DocumentMeta())
    assert ingest_items(kb, [replaced], collection="hr")[0].version == 2

    view = read_source(kb, old[2], collections=frozenset({"hr"}), around=1)
    assert (view.document.version, view.document.current_version) == (1, 2)
    assert view.superseded
    assert "fully before storing" in view.passage.text  # the text that was cited, not v2's
    assert [p.id for p in view.before + view.after] == [old[1], old[3]]
    new = _chunks(kb, "robot-manual.pdf", "hr")
    assert not read_source(kb, new[2], collections=None).superseded


@pytest.mark.parametrize(
    "chunk_id",
    ["nosuchchunk", "0" * 16, "x" * 65, "a\x00b", "../../etc", "'; drop table chunk; --", "段落"],
)
def test_an_unknown_or_malformed_id_is_404_naming_it(kb: KnowledgeBase, chunk_id: str) -> None:
    with pytest.raises(NotFound) as refused:
        read_source(kb, chunk_id, collections=None)
    assert refused.value.message == f"no source passage with id {chunk_id!r}"
    assert refused.value.field == "chunk_id"


def test_a_passage_in_an_unreadable_collection_is_the_same_404_as_an_unknown_one(
    kb: KnowledgeBase,
) -> None:
    [finance] = _chunks(kb, "faq.csv", "finance")
    for allowed in (frozenset({"hr"}), frozenset()):
        with pytest.raises(NotFound) as refused:
            read_source(kb, finance, collections=allowed)
        assert refused.value.message == f"no source passage with id {finance!r}"
    assert read_source(kb, finance, collections=frozenset({"finance"})).passage.id == finance


def test_the_view_converts_to_the_agents_script_and_leaves_ids_alone(kb: KnowledgeBase) -> None:
    [finance] = _chunks(kb, "faq.csv", "finance")
    view = read_source(kb, finance, collections=None)
    assert view.passage.question == "電池保固多久？"  # as stored
    shown = view.converted(lambda text: convert(text, "zh-Hans"))
    assert shown.passage.question == "电池保固多久？"
    assert "软件" in shown.passage.text and "軟體" in view.passage.text
    assert shown.passage.id == view.passage.id and shown.document.id == view.document.id


def test_around_outside_its_bounds_is_a_programming_error(kb: KnowledgeBase) -> None:
    [finance] = _chunks(kb, "faq.csv", "finance")
    with pytest.raises(ValueError, match="around must be from 0 to 10"):
        read_source(kb, finance, collections=None, around=11)
