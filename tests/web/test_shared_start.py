"""A web process on a shared index (KB_SHARED) only reads at start-up: even an index its checks
would call stale is left to the writers, where one machine's ``kb serve`` rebuilds it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.documents.ingestion import IngestItem, ingest_items
from kb.models import VocabularyRecord
from web.app import create_app

FAQ = "问题,答案\n发什么快递？,默认顺丰快递。\n"


@pytest.mark.parametrize(
    ("shared", "rebuilt"), [(False, True), pytest.param(True, False, marks=pytest.mark.postgres)]
)
def test_only_a_single_machine_server_rebuilds_at_start_up(
    make_kb: Callable[..., KnowledgeBase],
    request: pytest.FixtureRequest,
    shared: bool,
    rebuilt: bool,
) -> None:
    url = request.getfixturevalue("postgres_url") if shared else None
    kb = make_kb(database_url=url, shared=shared)
    ingest_items(kb, [IngestItem("faq.csv", FAQ.encode())], collection="default")
    before = kb.catalog.live("default")
    with session_scope(kb.engine) as session:  # a vocabulary saved without re-indexing: stale
        session.add(VocabularyRecord(user_dict="顺丰快递 5\n", synonyms=""))
    with TestClient(create_app(kb.settings, warm=True)) as client:
        assert client.get("/healthz").status_code == 200
        after = client.app.state.kb.catalog.live("default")  # type: ignore[attr-defined]
    assert (after != before) is rebuilt
    assert after is not None
