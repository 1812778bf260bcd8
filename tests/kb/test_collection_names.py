"""One collection-name rule: settings, request bodies, ingestion, search and the index agree."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from kb.assist.schemas import SuggestBody
from kb.context import KnowledgeBase
from kb.documents.catalog import DocumentQuery, list_documents
from kb.documents.ingestion import IngestItem, ingest_items
from kb.documents.jobs import start_ingest_job
from kb.errors import Invalid
from kb.retrieval.indexing import rebuild_index
from kb.retrieval.schemas import SearchBody
from kb.retrieval.searching import SearchRequest, search
from kb.settings import Settings
from kb.types import collection_name
from search.index import IndexStore

GUIDE = "# 退货\n\n七天内可以无理由退货。\n".encode()

GOOD = ["default", "x", "support-2", "a_b", "9", "z" * 64, "x-", "x_"]
# The first six are the names fuzzing found: the settings accepted what the index refused, or
# the upload route let the refusal escape as a server error.
BAD = ["_x", "-x", "__main__", "../x", "Default", "z" * 65, "", "a.b", "a/b", " x", "x\n", "é"]


def _accepted(check: Callable[[], object]) -> bool:
    try:
        check()
    except (Invalid, ValidationError, ValueError):
        return False
    return True


@pytest.fixture(scope="module")
def store(
    tmp_path_factory: pytest.TempPathFactory, embedding_cache_dir: Path
) -> Iterator[IndexStore]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("names"), cache_dir=embedding_cache_dir)
    kb = KnowledgeBase(settings)
    yield kb.index_store
    kb.close()


@pytest.mark.parametrize("name", GOOD + BAD)
def test_every_check_accepts_exactly_the_same_names(
    name: str, store: IndexStore, tmp_path: Path
) -> None:
    verdicts = {
        "kb.types": _accepted(lambda: collection_name(name)),
        "settings": _accepted(lambda: Settings(data_dir=tmp_path, default_collection=name)),
        "search body": _accepted(lambda: SearchBody(query="退货", collection=name)),
        "suggest body": _accepted(
            lambda: SuggestBody.model_validate(
                {"conversation": [{"role": "customer", "text": "退货"}], "collection": name}
            )
        ),
        "index": _accepted(lambda: store.collection_dir(name)),
    }
    assert set(verdicts.values()) == {name in GOOD}, verdicts


@pytest.mark.parametrize("name", ["_x", "-x", "__main__", "../x", "Default", "z" * 65])
def test_bad_names_are_refused_before_anything_is_written(
    make_kb: Callable[..., KnowledgeBase], name: str
) -> None:
    kb = make_kb()
    for attempt in (
        lambda: ingest_items(kb, [IngestItem("guide.md", GUIDE)], collection=name),
        lambda: start_ingest_job(kb, [IngestItem("guide.md", GUIDE)], name),
        lambda: search(kb, SearchRequest("退货", name)),
        lambda: rebuild_index(kb, name),
    ):
        with pytest.raises(Invalid) as caught:
            attempt()
        assert caught.value.field == "collection"
        assert "a-z" in caught.value.message
    assert list_documents(kb, DocumentQuery()) == []
    assert not kb.settings.index_dir.exists() or list(kb.settings.index_dir.iterdir()) == []
