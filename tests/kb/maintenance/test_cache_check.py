"""``kb check`` on the embedding cache: unreadable, newer format, vectors of the wrong size.

Each test breaks a private copy of the session's cache, so the shared one stays whole.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

from checking import COLLECTION, ingested

from kb.context import KnowledgeBase
from kb.maintenance.check import run_check
from kb.settings import Settings
from search.cache import embedder_key


def _with_private_cache(kb: KnowledgeBase, folder: Path) -> KnowledgeBase:
    """The same data directory with a copy of the cache, as a second KB_CACHE_DIR."""
    folder.mkdir()
    source = kb.settings.embedding_cache_path
    with sqlite3.connect(source) as db, sqlite3.connect(folder / source.name) as copy:
        db.backup(copy)
    settings = Settings(data_dir=kb.settings.data_dir, cache_dir=folder)
    return KnowledgeBase(settings)


def test_an_unreadable_cache_is_moved_aside_and_the_index_still_checked(
    make_kb: Callable[..., KnowledgeBase], tmp_path: Path
) -> None:
    kb = _with_private_cache(ingested(make_kb), tmp_path / "cache")
    path = kb.settings.embedding_cache_path
    try:
        path.write_bytes(b"this is not a SQLite file" * 100)
        report = run_check(kb)
        assert [f.kind for f in report.findings] == ["cache-unreadable"]
        assert "not checked" in report.findings[0].detail
        repaired = run_check(kb, repair=True)
        assert repaired.ok and repaired.remaining == []
        assert repaired.findings[0].repaired and "moved it to" in repaired.findings[0].repaired
        kept = [p for p in path.parent.iterdir() if ".unreadable-" in p.name]
        assert len(kept) == 1 and kept[0].read_bytes().startswith(b"this is not")
    finally:
        kb.close()


def test_a_cache_from_a_newer_build_is_reported_not_touched(
    make_kb: Callable[..., KnowledgeBase], tmp_path: Path
) -> None:
    kb = _with_private_cache(ingested(make_kb), tmp_path / "cache")
    path = kb.settings.embedding_cache_path
    try:
        with sqlite3.connect(path) as db:
            db.execute("PRAGMA user_version = 99")
        before = path.read_bytes()
        repaired = run_check(kb, repair=True)
        assert [f.kind for f in repaired.remaining] == ["cache-format-newer"]
        assert not repaired.ok and not repaired.findings[0].repairable
        assert path.read_bytes() == before
    finally:
        kb.close()


def test_vectors_of_the_wrong_size_are_deleted_and_others_kept(
    make_kb: Callable[..., KnowledgeBase], tmp_path: Path
) -> None:
    kb = _with_private_cache(ingested(make_kb), tmp_path / "cache")
    path = kb.settings.embedding_cache_path
    namespace = embedder_key(kb.embedder)
    try:
        with sqlite3.connect(path) as db:
            (stored,) = db.execute("SELECT count(*) FROM embeddings").fetchone()
            db.execute(
                "INSERT INTO embeddings VALUES (?, 'truncated', ?), ('other@1', 'short', ?)",
                (namespace, b"\x00" * 12, b"\x00" * 12),
            )
        assert [f.kind for f in run_check(kb).findings] == ["cache-bad-vector"]
        assert run_check(kb, repair=True).ok
        with sqlite3.connect(path) as db:
            (left,) = db.execute("SELECT count(*) FROM embeddings").fetchone()
        assert left == stored + 1  # another embedder's rows are not ours to judge
        assert kb.index_store.current_meta(COLLECTION) is not None
    finally:
        kb.close()
    shutil.rmtree(tmp_path / "cache")
