"""``kb check``: each kind of inconsistency made on purpose, found, and repaired without loss.

The database cases run on SQLite and PostgreSQL; the rows are broken with the foreign keys
switched off for one connection, as a hand edit or a bad restore would leave them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from checking import COLLECTION, ingested
from sqlalchemy import text

from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.documents.catalog import DocumentQuery, list_documents
from kb.documents.jobs import fail_interrupted_jobs
from kb.maintenance.check import run_check
from kb.models import IngestJob
from kb.queue.leases import release_lease, take_lease
from kb.retrieval.searching import SearchRequest, search


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> dict[str, object]:
    if request.param == "postgresql":
        return {"database_url": request.getfixturevalue("postgres_url")}
    return {}


def _sql(kb: KnowledgeBase, *statements: str) -> None:
    """Run ``statements`` with foreign keys off, in one transaction of one connection."""
    with kb.engine.connect() as connection:
        if kb.engine.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        else:
            connection.exec_driver_sql("SET session_replication_role = replica")
        for statement in statements:
            connection.execute(text(statement))
        connection.commit()
        if kb.engine.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")


def _ids(kb: KnowledgeBase) -> dict[str, str]:
    return {d.source_name: d.id for d in list_documents(kb, DocumentQuery(COLLECTION))}


def _generation(kb: KnowledgeBase) -> Path:
    name = kb.index_store.current_generation(COLLECTION)
    assert name is not None
    return kb.index_store.collection_dir(COLLECTION) / name


# --- each breakage: what it does to a freshly ingested knowledge base -------------------------


def orphan_chunk(kb: KnowledgeBase) -> None:
    _sql(
        kb,
        "INSERT INTO chunk (id, version_id, document_id, ordinal, kind, text, heading_path) "
        "VALUES ('orphanchunk', 'noversion', 'nodoc', 0, 'passage', 'lost text', '[]')",
    )


def orphan_version(kb: KnowledgeBase) -> None:
    _sql(
        kb,
        "INSERT INTO document_version (id, document_id, number, content_hash, size_bytes, format,"
        " chunk_count, warnings, created_at) VALUES ('orphanversion', 'gonedoc', 1, 'x', 1, "
        "'text', 1, '[]', CURRENT_TIMESTAMP)",
        "INSERT INTO chunk (id, version_id, document_id, ordinal, kind, text, heading_path) "
        "VALUES ('chunkofgone', 'orphanversion', 'gonedoc', 0, 'passage', 'gone text', '[]')",
    )


def mismatched_chunk(kb: KnowledgeBase) -> None:
    ids = _ids(kb)
    _sql(
        kb,
        f"UPDATE chunk SET document_id = '{ids['guide.md']}' WHERE id IN (SELECT id FROM chunk "
        f"WHERE document_id = '{ids['faq.csv']}' ORDER BY ordinal LIMIT 1)",
    )


def missing_current_version(kb: KnowledgeBase) -> None:
    _sql(kb, f"UPDATE document SET current_version = 7 WHERE id = '{_ids(kb)['guide.md']}'")


def document_without_versions(kb: KnowledgeBase) -> None:
    _sql(
        kb,
        "INSERT INTO document (id, collection, source_name, title, doc_type, tags, "
        "current_version, created_at, updated_at) VALUES ('emptydoc', 'default', 'empty.txt', "
        "'Empty', 'manual', '[]', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    )


def partial_version(kb: KnowledgeBase) -> None:
    faq = _ids(kb)["faq.csv"]
    _sql(
        kb,
        f"DELETE FROM chunk WHERE id IN (SELECT id FROM chunk WHERE document_id = '{faq}' "
        "ORDER BY ordinal LIMIT 1)",
    )


def document_gone_from_database(kb: KnowledgeBase) -> None:
    guide = _ids(kb)["guide.md"]
    _sql(
        kb,
        f"DELETE FROM chunk WHERE document_id = '{guide}'",
        f"DELETE FROM document_version WHERE document_id = '{guide}'",
        f"DELETE FROM document WHERE id = '{guide}'",
    )


def title_edited_behind_the_index(kb: KnowledgeBase) -> None:
    _sql(kb, f"UPDATE document SET title = 'Renamed' WHERE id = '{_ids(kb)['guide.md']}'")


def stuck_job(kb: KnowledgeBase) -> None:
    with session_scope(kb.engine) as session:
        session.add(IngestJob(id="stuckjob", collection=COLLECTION, status="running"))


DATABASE_CASES = [
    # breakage, what check finds, what is left after --repair
    (orphan_chunk, ["orphan-chunk"], []),
    (orphan_version, ["orphan-version"], []),
    (mismatched_chunk, ["chunk-document-mismatch", "generation-stale"], []),
    (missing_current_version, ["missing-current-version", "generation-stale"], []),
    (document_without_versions, ["missing-current-version"], []),
    (partial_version, ["partial-version", "index-orphan-entry"], ["partial-version"]),
    (document_gone_from_database, ["index-orphan-entry"], []),
    (title_edited_behind_the_index, ["generation-stale"], []),
    (stuck_job, ["job-stuck"], []),
]


@pytest.mark.parametrize(
    ("breakage", "found", "left"), DATABASE_CASES, ids=[c[0].__name__ for c in DATABASE_CASES]
)
def test_database_inconsistencies_are_found_and_repaired(
    breakage: Callable[[KnowledgeBase], None],
    found: list[str],
    left: list[str],
    backend: dict[str, object],
    make_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = ingested(make_kb, **backend)
    breakage(kb)
    report = run_check(kb)
    assert sorted(f.kind for f in report.findings) == sorted(found)
    assert not report.ok
    repaired = run_check(kb, repair=True)
    assert all(f.repaired for f in repaired.findings if f.repairable)
    assert [f.kind for f in repaired.remaining] == left
    assert repaired.ok is (not left)
    # The live documents are still there and searchable.
    assert search(kb, SearchRequest("pair the remote lamp blue", collection=COLLECTION, limit=1))


def test_a_job_whose_process_is_alive_is_not_stuck(make_kb: Callable[..., KnowledgeBase]) -> None:
    kb = ingested(make_kb)
    stuck_job(kb)
    lease = take_lease(kb, "stuckjob")  # as the process running it holds it
    try:
        assert run_check(kb).findings == []
        assert fail_interrupted_jobs(kb) == 0  # another worker's start-up leaves it be too
    finally:
        release_lease(kb, "stuckjob", lease)
    assert [f.kind for f in run_check(kb).findings] == ["job-stuck"]
    run_check(kb, repair=True)
    with session_scope(kb.engine) as session:
        job = session.get(IngestJob, "stuckjob")
        assert job is not None and job.status == "failed" and "interrupted" in (job.error or "")
