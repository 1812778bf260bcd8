"""The embedding cache file: readable, of a format this build reads, vectors of the right size.

Looked at with a connection of its own (``search.cache.EmbeddingCache`` would upgrade the file
as it opens it; a check changes nothing). Cached vectors are derived data, but re-embedding a
corpus is slow: a repair deletes only unusable vectors, and moves an unreadable file aside
rather than deleting it.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from kb.context import KnowledgeBase
from kb.maintenance.schemas import Finding
from search.cache import FORMAT_VERSION, embedder_key


def check_cache(kb: KnowledgeBase, *, repair: bool) -> list[Finding]:
    """What is wrong with the embedding cache file of ``kb``; repaired when ``repair``."""
    path = kb.settings.embedding_cache_path
    if not path.exists():
        return []
    try:
        return _check_file(kb, path, repair=repair)
    except sqlite3.DatabaseError as exc:
        finding = Finding(
            kind="cache-unreadable",
            subject=str(path),
            detail=f"{exc}; the index is rebuilt from it, so it must be readable",
            repairable=True,
        )
        if repair:
            aside = path.with_name(f"{path.name}.unreadable-{datetime.now(UTC):%Y%m%dT%H%M%S}")
            path.rename(aside)
            for suffix in ("-wal", "-shm"):
                path.with_name(path.name + suffix).unlink(missing_ok=True)
            finding.repaired = f"moved it to {aside.name}; a new cache starts empty"
        return [finding]


def _check_file(kb: KnowledgeBase, path: Path, *, repair: bool) -> list[Finding]:
    db = sqlite3.connect(path, timeout=30.0)
    try:
        problems = [row[0] for row in db.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise sqlite3.DatabaseError("integrity check: " + "; ".join(problems[:3]))
        stored = int(db.execute("PRAGMA user_version").fetchone()[0]) or 1
        if stored > FORMAT_VERSION:
            return [
                Finding(
                    kind="cache-format-newer",
                    subject=str(path),
                    detail=f"format {stored}, this build reads up to {FORMAT_VERSION}: use the "
                    "newer build, or another KB_CACHE_DIR",
                    repairable=False,
                )
            ]
        findings = []
        if stored < FORMAT_VERSION:
            findings.append(
                Finding(
                    kind="cache-format-older",
                    subject=str(path),
                    detail=f"format {stored}; this build upgrades it to {FORMAT_VERSION}",
                    repairable=True,
                )
            )
        findings += _bad_vectors(kb, db, path, repair=repair)
    finally:
        db.close()
    if repair and findings and findings[0].kind == "cache-format-older":
        kb.embedding_cache.format_version()  # opening it upgrades it, keeping every vector
        findings[0].repaired = f"upgraded to format {FORMAT_VERSION}"
    return findings


def _bad_vectors(
    kb: KnowledgeBase, db: sqlite3.Connection, path: Path, *, repair: bool
) -> list[Finding]:
    namespace, size = embedder_key(kb.embedder), kb.embedder.dim * 4  # float32
    where = "embedder = ? AND length(vector) != ?"
    (bad,) = db.execute(
        f"SELECT count(*) FROM embeddings WHERE {where}", (namespace, size)
    ).fetchone()
    if not bad:
        return []
    finding = Finding(
        kind="cache-bad-vector",
        subject=str(path),
        detail=f"{bad} vectors of {namespace} are not {kb.embedder.dim} floats long",
        repairable=True,
    )
    if repair:
        with db:
            db.execute(f"DELETE FROM embeddings WHERE {where}", (namespace, size))
        finding.repaired = f"deleted them: those {bad} texts are embedded again when indexed"
    return [finding]
