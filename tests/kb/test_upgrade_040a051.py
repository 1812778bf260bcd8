"""A data directory written by release 040a051 (tests/fixtures, made by the script beside it)
opens with this build and keeps everything: rows, index generation, embedding cache."""

from __future__ import annotations

import json
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import func, select
from typer.testing import CliRunner

from kb import migrations
from kb.cli import app
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.documents.catalog import get_document, list_documents
from kb.documents.ingestion import IngestItem, ingest_items
from kb.library.store import active_rules, list_replies
from kb.models import DocumentVersion
from kb.retrieval.indexing import ensure_fresh, live_chunks, rebuild_index
from kb.retrieval.searching import SearchRequest, search
from kb.settings import Settings
from search.index import FORMAT_VERSION

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "datadir-040a051"
TABLES = sorted(migrations.baseline_columns())


def copy_of_fixture(target: Path) -> Path:
    shutil.copytree(FIXTURE, target)
    return target


# Columns later revisions added to 040a051's tables (0003, 0005): NULL in every row 040a051
# wrote, except those 0005 fills from each event's suggestion (BACKFILLED, checked apart).
LATER_COLUMNS = {
    "suggestion": {"actor"},
    "feedback": {"actor"},
    "document": {"owner_id", "review_interval_days", "reviewed_at"},
    "ingest_job": {"lease_owner", "lease_until", "payload"},
}
BACKFILLED = {
    "feedback": {"item_kind", "rank", "query", "collection"},
    "ingest_job": {"kind", "actor", "attempts"},  # 0006's server defaults
}


def all_rows(database: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every 040a051 table in 040a051's columns, read with plain sqlite3 (no
    AssistKB code); a later column must hold nothing in them."""
    rows = {}
    with closing(sqlite3.connect(database)) as db:
        for t in TABLES:
            names = [r[1] for r in db.execute(f"PRAGMA table_info({t})")]
            later = [n for n in names if n in LATER_COLUMNS.get(t, set())]
            for n in later:
                assert db.execute(f"SELECT count(*) FROM {t} WHERE {n} IS NOT NULL").fetchone() == (
                    0,
                )
            kept = ", ".join(
                n for n in names if n not in later and n not in BACKFILLED.get(t, set())
            )
            rows[t] = sorted(db.execute(f"SELECT {kept} FROM {t}").fetchall(), key=repr)
    return rows


@pytest.fixture
def upgraded(tmp_path: Path) -> tuple[Path, dict[str, list[tuple[Any, ...]]], str]:
    """A copy of the fixture after `kb db upgrade`; the rows as 040a051 left them; its output."""
    original = all_rows(copy_of_fixture(tmp_path / "pristine") / "assistkb.sqlite3")
    data = copy_of_fixture(tmp_path / "data")
    result = CliRunner().invoke(app, ["db", "upgrade", "--data-dir", str(data)])
    assert result.exit_code == 0, result.output
    return data, original, result.output


def open_kb(data: Path) -> KnowledgeBase:
    # The fixture's own embedding cache, not the session's: it alone must cover the chunks.
    return KnowledgeBase(Settings(data_dir=data, database_url=None, cache_dir=None))


def test_every_row_is_kept(upgraded: tuple[Path, dict[str, list[tuple[Any, ...]]], str]) -> None:
    data, original, output = upgraded
    assert f"upgraded the database: 040a051 (no revision) → {migrations.head_revision()}" in output
    assert "index default: current" in output
    counts = {table: len(rows) for table, rows in original.items()}
    assert (counts["document"], counts["document_version"]) == (3, 4)
    assert (counts["suggestion"], counts["feedback"], counts["rule_set"]) == (3, 2, 1)
    assert min(counts[t] for t in ("chunk", "reply", "vocabulary")) >= 1
    assert all_rows(data / "assistkb.sqlite3") == original
    [backup] = data.glob("assistkb.sqlite3.before-upgrade-*")
    assert all_rows(backup) == original


def test_old_feedback_gets_the_context_its_suggestion_logged(
    upgraded: tuple[Path, dict[str, list[tuple[Any, ...]]], str],
) -> None:
    """0005 backfills collection, query, kind and rank as shown; an item the suggestion never
    offered (040a051 accepted any id) keeps no kind or rank."""
    data, _, _ = upgraded
    with closing(sqlite3.connect(data / "assistkb.sqlite3")) as db:
        rows = db.execute(
            "SELECT f.item_id, f.item_kind, f.rank, f.query, f.collection, s.query, s.answers "
            "FROM feedback f JOIN suggestion s ON s.id = f.suggestion_id ORDER BY f.action"
        ).fetchall()
    helpful, unknown = rows
    assert helpful[0] == json.loads(helpful[6])[0]["id"]  # the top answer
    assert helpful[1:5] == ("answer", 1, helpful[5], "default")
    assert unknown[0] == "dismissed-item"
    assert unknown[1:5] == (None, None, unknown[5], "default")
    assert "退款" in unknown[3]


def test_the_domain_reads_what_040a051_wrote(
    upgraded: tuple[Path, dict[str, list[tuple[Any, ...]]], str],
) -> None:
    data, original, _ = upgraded
    kb = open_kb(data)
    try:
        docs = {d.source_name: d for d in list_documents(kb)}
        assert set(docs) == {
            "warranty-policy.md",
            "holiday-shipping-2025.md",
            "policy-faq-zh-hant.jsonl",
        }
        warranty = get_document(kb, docs["warranty-policy.md"].id)
        assert sorted(v.number for v in warranty.versions) == [1, 2]
        assert warranty.current_version == 2
        assert "以旧换新活动期间购买的产品同样享受完整保修" in warranty.chunks[-1].text
        assert len(list_replies(kb)) == len(original["reply"])
        [rule_set] = original["rule_set"]
        assert len(active_rules(kb)) == rule_set[3]  # rule_count
        vocabulary = kb.latest_vocabulary()
        assert vocabulary is not None and "七天无理由" in vocabulary.user_dict
        comments = [row[4] for row in original["feedback"]]
        assert "没有回答到账时间" in comments
    finally:
        kb.close()


def test_search_uses_the_040a051_index_and_cache_without_embedding(
    upgraded: tuple[Path, dict[str, list[tuple[Any, ...]]], str],
) -> None:
    data, _, _ = upgraded
    live = (data / "index" / "default" / "CURRENT").read_text().strip()
    assert live == (FIXTURE / "index" / "default" / "CURRENT").read_text().strip()
    kb = open_kb(data)
    try:
        assert ensure_fresh(kb, "default") is False  # the generation is reused as it is
        [hit] = search(kb, SearchRequest("保修期是多久", limit=1))
        assert "保修" in hit.chunk.text or "保固" in hit.chunk.text
        searcher = kb.searchers.get("default")
        assert searcher is not None and searcher.generation.meta.generation == live
        rebuild_index(kb, "default")
        meta = kb.index_store.current_meta("default")
        # Every vector came from 040a051's cache except the chunks whose indexed text this
        # release changed (the document title now leads a heading path that lacked it).
        assert meta is not None and meta.embedded == retitled(kb)
        rebuild_index(kb, "default")
        again = kb.index_store.current_meta("default")
        assert again is not None and again.embedded == 0  # nothing cached is embedded again
        # The upgraded data dir takes new writes.
        item = IngestItem("note.md", "# 门店\n\n上海门店周一闭店维护。\n".encode())
        [result] = ingest_items(kb, [item], collection="default")
        assert (result.status, result.version) == ("ingested", 1)
        with session_scope(kb.engine) as session:
            assert session.exec(select(func.count()).select_from(DocumentVersion)).one() == 5
        assert search(kb, SearchRequest("上海门店", limit=1))[0].chunk.document_id == (
            result.document_id
        )
    finally:
        kb.close()


def retitled(kb: KnowledgeBase) -> int:
    """Live chunks whose heading path 040a051 indexed without the document's title."""
    with session_scope(kb.engine) as session:
        chunks = live_chunks(session, "default")
    return sum(1 for c in chunks if c.section and c.section[0] != c.document_title)


@pytest.mark.parametrize(
    ("stored", "rebuilt"),
    [(None, False), (1, False), (FORMAT_VERSION, False), (FORMAT_VERSION + 1, True), (0, True)],
)
def test_a_generation_of_another_format_is_rebuilt_from_the_cache(
    tmp_path: Path, stored: int | None, rebuilt: bool
) -> None:
    data = copy_of_fixture(tmp_path / "data")
    collection = data / "index" / "default"
    meta_path = collection / (collection / "CURRENT").read_text().strip() / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if stored is None:
        del meta["format_version"]  # missing means the first format
    else:
        meta["format_version"] = stored
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    kb = open_kb(data)
    try:
        assert ensure_fresh(kb, "default") is rebuilt
        fresh = kb.index_store.current_meta("default")
        # Kept as it was when readable (format 1 still is), written anew in this build's format.
        kept = 1 if stored is None else stored
        assert fresh is not None and fresh.format_version == (FORMAT_VERSION if rebuilt else kept)
        assert fresh.embedded == (retitled(kb) if rebuilt else 0)  # the rest from the cache
        assert search(kb, SearchRequest("保修期是多久", limit=1))
    finally:
        kb.close()
