"""Index generations against the database: is what the index serves what the database says?

Looked at only while nobody writes the collection (its lock, without waiting): a build in
progress has a staging directory that is not a leftover. A repair rebuilds the live generation
from the database (vectors from the embedding cache; only what it lacks is embedded) and removes
what killed builds left behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlmodel import col, select

from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.maintenance.schemas import Finding, FindingKind
from kb.models import ChunkRecord
from kb.retrieval.indexing import is_current, known_collections, live_chunks, rebuild_index
from search.index import IndexMismatchError
from search.types import IndexedChunk
from search.upkeep import leftovers, remove_leftover

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
    return sorted(set(known_collections(kb)) | set(kb.catalog.collections()))


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
        findings = _live_generation(kb, collection) + _leftovers(kb, collection)
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
    meta = store.current_meta(collection)
    if meta is None:
        return finding("generation-missing", "CURRENT names a generation that is not on disk")
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
    if not is_current(meta, chunks):
        return finding(
            "generation-stale",
            f"serves {_versions(generation.chunks)}; the database says {_versions(chunks)}",
        )
    if meta.tokenizer_version != kb.tokenizer.version:
        return finding("generation-stale", "cut with a vocabulary that is no longer in force")
    return []


def _missing_chunk_ids(kb: KnowledgeBase, chunks: Sequence[IndexedChunk]) -> set[str]:
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


def _versions(chunks: Sequence[IndexedChunk]) -> str:
    pairs = sorted({(c.document_id, c.version) for c in chunks})
    text = ", ".join(f"{doc} v{version}" for doc, version in pairs[:6])
    return (text + (", …" if len(pairs) > 6 else "")) or "no chunks"


_LEFTOVER_DETAIL = {
    "staging": "a half-written generation left by a build that did not finish",
    "pointer": "a half-written pointer left by a build that did not finish",
    "never-switched-in": "never switched in",
    "older": "older than the one kept",
}


def _leftovers(kb: KnowledgeBase, collection: str) -> list[Finding]:
    live = kb.catalog.live(collection) or "(none)"
    findings = []
    for left in leftovers(kb.index_store, collection):
        if left.kind in ("staging", "pointer"):
            kind: FindingKind = "staging-leftover"
            detail = _LEFTOVER_DETAIL[left.kind]
        else:
            kind = "generation-abandoned"
            detail = (
                f"neither the live generation {live} nor the one before it: "
                + _LEFTOVER_DETAIL[left.kind]
            )
        findings.append(Finding(kind=kind, subject=str(left.path), detail=detail, repairable=True))
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
            remove_leftover(kb.index_store, Path(f.subject))
            f.repaired = "removed"
