"""Index generations against the database: is what the index serves what the database says?

Looked at only while nobody writes the collection (its lock, without waiting): a build in
progress has a staging directory that is not a leftover. A repair rebuilds the live generation
from the database (vectors from the embedding cache; only what it lacks is embedded) and removes
what killed builds left behind.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlmodel import col, select

from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.maintenance.schemas import Finding, FindingKind
from kb.models import ChunkRecord
from kb.retrieval.indexing import fingerprint, known_collections, live_chunks, rebuild_index
from search.index import META_FILE, IndexMismatchError, IndexStore
from search.types import IndexedChunk

_REBUILT_BY: frozenset[FindingKind] = frozenset(
    {
        "index-missing",
        "generation-missing",
        "generation-broken",
        "generation-incompatible",
        "index-orphan-entry",
        "generation-stale",
    }
)


def indexed_collections(kb: KnowledgeBase) -> list[str]:
    """Collections the database knows, and those that only have index files."""
    names = set(known_collections(kb))
    root = kb.settings.index_dir
    if root.is_dir():
        names |= {p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")}
    return sorted(names)


def check_generations(kb: KnowledgeBase, collection: str, *, repair: bool) -> list[Finding]:
    """What is wrong with ``collection``'s index files; fixed under its lock when ``repair``."""
    with kb.collection_lock(collection, wait=False) as held:
        if not held:
            return [
                Finding(
                    kind="collection-busy",
                    subject=collection,
                    detail="another process is writing this collection; check again later",
                    repairable=False,
                )
            ]
        findings = _live_generation(kb, collection) + _leftovers(kb.index_store, collection)
        if repair:
            _repair(kb, collection, findings)
    return findings


def _live_generation(kb: KnowledgeBase, collection: str) -> list[Finding]:
    store = kb.index_store
    with session_scope(kb.engine) as session:
        chunks = live_chunks(session, collection)
    name = store.current_generation(collection)

    def finding(kind: FindingKind, detail: str) -> list[Finding]:
        return [Finding(kind=kind, subject=f"{collection}/{name}", detail=detail, repairable=True)]

    if name is None:
        if not chunks:
            return []
        return finding("index-missing", f"{len(chunks)} live chunks and no CURRENT generation")
    if not (store.collection_dir(collection) / name / META_FILE).is_file():
        return finding("generation-missing", "CURRENT names a generation that is not on disk")
    meta = store.current_meta(collection)
    assert meta is not None  # its meta.json was just seen
    try:
        store.check_compatible(meta)
    except IndexMismatchError as exc:
        return finding("generation-incompatible", str(exc))
    try:
        generation = store.load(collection, name)
    except Exception as exc:  # any unreadable file: the repair is the same rebuild
        return finding("generation-broken", f"{type(exc).__name__}: {exc}")
    missing = _missing_chunk_ids(kb, generation.chunks)
    if missing:
        shown = ", ".join(sorted(missing)[:5])
        return finding(
            "index-orphan-entry",
            f"{len(missing)} indexed chunks are not in the database (e.g. {shown})",
        )
    kb.refresh_tokenizer()
    if meta.fingerprint != fingerprint(chunks):
        return finding(
            "generation-stale",
            f"serves {_versions(generation.chunks)}; the database says {_versions(chunks)}",
        )
    if meta.tokenizer_version != kb.tokenizer.version:
        return finding("generation-stale", "cut with a vocabulary that is no longer in force")
    return []


def _missing_chunk_ids(kb: KnowledgeBase, chunks: list[IndexedChunk]) -> set[str]:
    wanted = {c.chunk_id for c in chunks}
    found: set[str] = set()
    ids = sorted(wanted)
    with session_scope(kb.engine) as session:
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            found |= set(
                session.exec(select(ChunkRecord.id).where(col(ChunkRecord.id).in_(part))).all()
            )
    return wanted - found


def _versions(chunks: list[IndexedChunk]) -> str:
    pairs = sorted({(c.document_id, c.version) for c in chunks})
    text = ", ".join(f"{doc} v{version}" for doc, version in pairs[:6])
    return (text + (", …" if len(pairs) > 6 else "")) or "no chunks"


def _leftovers(store: IndexStore, collection: str) -> list[Finding]:
    base = store.collection_dir(collection)
    if not base.is_dir():
        return []
    live = store.current_generation(collection) or ""
    # A build keeps the live generation and the one before it (searches in flight may read it).
    older = [p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")]
    kept = {live, max((n for n in older if n < live), default="")}
    findings = []
    for entry in sorted(base.iterdir()):
        if entry.name.startswith(".") and entry.name.endswith(".tmp"):
            what = "a half-written generation" if entry.is_dir() else "a half-written pointer"
            findings.append(
                Finding(
                    kind="staging-leftover",
                    subject=str(entry),
                    detail=f"{what} left by a build that did not finish",
                    repairable=True,
                )
            )
        elif entry.is_dir() and entry.name not in kept:
            when = "never switched in" if entry.name > live else "older than the one kept"
            findings.append(
                Finding(
                    kind="generation-abandoned",
                    subject=str(entry),
                    detail=f"neither the live generation {live or '(none)'} nor the one before "
                    f"it: {when}",
                    repairable=True,
                )
            )
    return findings


def _repair(kb: KnowledgeBase, collection: str, findings: list[Finding]) -> None:
    rebuild = [f for f in findings if f.kind in _REBUILT_BY]
    if rebuild:
        count = rebuild_index(kb, collection)  # the caller holds the collection's lock
        meta = kb.index_store.current_meta(collection)
        embedded = meta.embedded if meta else 0
        for f in rebuild:
            f.repaired = (
                f"rebuilt {collection} from the database: {count} chunks, {embedded} embedded, "
                "the rest from the cache"
            )
    for f in findings:
        if f.kind in ("staging-leftover", "generation-abandoned"):
            _remove(Path(f.subject))
            f.repaired = "removed"


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
