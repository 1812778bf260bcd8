"""Bridge from SQL to the search index: the live chunks of a collection become a generation."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Collection

from sqlmodel import Session, col, select

from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.models import ChunkRecord, Document, DocumentVersion
from kb.retrieval.merging import request_merge
from kb.types import collection_name
from search.cache import uncached
from search.index import GenerationMeta, IndexMismatchError
from search.normalize import normalize
from search.segments import chunk_digest, chunk_line, combine, fingerprint_line, line_digest
from search.types import IndexedChunk

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


def live_chunks(
    session: Session, collection: str, documents: Collection[str] | None = None
) -> list[IndexedChunk]:
    """Chunks of the current version of every document in ``collection`` (or of ``documents``
    only), in a stable order: by document, then ordinal."""
    query = (
        select(ChunkRecord, Document, DocumentVersion)
        .join(DocumentVersion, col(ChunkRecord.version_id) == col(DocumentVersion.id))
        .join(Document, col(Document.id) == col(ChunkRecord.document_id))
        .where(Document.collection == collection)
        .where(col(DocumentVersion.number) == col(Document.current_version))
    )
    if documents is not None:
        query = query.where(col(Document.id).in_(sorted(documents)))
    rows = session.exec(query.order_by(col(Document.id), col(ChunkRecord.ordinal))).all()
    return [to_indexed(chunk, doc, version.number) for chunk, doc, version in rows]


def to_indexed(chunk: ChunkRecord, doc: Document, version: int) -> IndexedChunk:
    # Headings help both retrievers: "3.2 退款" says what a terse chunk is about. Under them, the
    # document's title names the product ("X1 扫地机器人") a manual's chunks never repeat, which
    # an FAQ states in its question; without it manual passages lose to FAQs that name it.
    path = list(chunk.heading_path)
    if path and path[0] != doc.title:
        path.insert(0, doc.title)
    context = " › ".join(path)
    index_text = "\n".join(p for p in (context, chunk.title, chunk.question, chunk.text) if p)
    return IndexedChunk(
        chunk_id=chunk.id,
        text=chunk.text,
        index_text=index_text,
        document_id=doc.id,
        document_title=doc.title,
        version=version,
        section=tuple(chunk.heading_path),
        page=chunk.page,
        doc_type=doc.doc_type,
        kind=chunk.kind,
        question=chunk.question,
        tags=tuple(doc.tags),
        product=doc.product,
        language=doc.language,
        valid_from=doc.valid_from,
        valid_to=doc.valid_to,
        external_id=chunk.external_id,
    )


def fingerprint(chunks: list[IndexedChunk]) -> str:
    """Identifies the indexed state, so a stale index (e.g. after a crash) is rebuilt.

    A sum of per-chunk digests, in any order: a delta generation's is the sum of its live
    documents' shares, computed without reading the collection (``search/segments.py``)."""
    return combine(chunk_digest(c) for c in chunks)


def is_current(meta: GenerationMeta, chunks: list[IndexedChunk]) -> bool:
    """True when ``meta``'s generation serves exactly ``chunks`` (either fingerprint form)."""
    lines = [chunk_line(c) for c in chunks]
    return _matches(meta, lines)


def serves_database(session: Session, meta: GenerationMeta, collection: str) -> bool:
    """:func:`is_current` against the collection's live chunks, read as two columns (no chunk
    text, no ORM object per chunk): start-up checks the index with it at any size."""
    return _matches(meta, live_lines(session, collection))


def live_lines(session: Session, collection: str) -> list[str]:
    """Each live chunk's fingerprint line (``search.segments.chunk_line``), in the order of
    :func:`live_chunks`, from the chunk ids and one read of each document's metadata."""
    docs = session.exec(select(Document).where(Document.collection == collection)).all()
    described = {d.id: (d.current_version, repr(_document_meta(d))) for d in docs}
    query = (
        select(col(Document.id), col(ChunkRecord.id))
        .join(DocumentVersion, col(ChunkRecord.version_id) == col(DocumentVersion.id))
        .join(Document, col(Document.id) == col(ChunkRecord.document_id))
        .where(Document.collection == collection)
        .where(col(DocumentVersion.number) == col(Document.current_version))
        .order_by(col(Document.id), col(ChunkRecord.ordinal))
    )
    lines = []
    for doc_id, chunk_id in session.exec(query):
        version, meta = described[doc_id]
        lines.append(fingerprint_line(chunk_id, version, meta))
    return lines


def _document_meta(doc: Document) -> tuple[object, ...]:
    """The document's part of a chunk's line, as :func:`to_indexed` puts it in the chunk."""
    return (doc.title, doc.doc_type, tuple(doc.tags), doc.product, doc.language, doc.valid_from,
            doc.valid_to)  # fmt: skip


def _matches(meta: GenerationMeta, lines: list[str]) -> bool:
    if meta.fingerprint == combine(line_digest(line) for line in lines):
        return True
    # The fingerprint generations were stamped with before segments (still accepted).
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line.encode())
    return meta.fingerprint == digest.hexdigest()[:32]


def rebuild_index(kb: KnowledgeBase, collection: str, progress: Progress | None = None) -> int:
    """Build a new generation from the database and switch to it; returns the chunk count."""
    collection_name(collection)
    with session_scope(kb.engine) as session:
        chunks = live_chunks(session, collection)
    kb.refresh_tokenizer()
    kb.index_store.build(collection, chunks, progress=progress, fingerprint=fingerprint(chunks))
    kb.catalog.settle(collection)
    log.info("index for %r rebuilt with %d chunks", collection, len(chunks))
    return len(chunks)


def reindex_documents(
    kb: KnowledgeBase,
    collection: str,
    documents: Collection[str],
    progress: Progress | None = None,
    *,
    keywords_first: bool = False,
) -> int:
    """Switch the index to the database's live chunks of ``documents`` (all their chunks gone
    when deleted), writing only those chunks as a delta generation; a full rebuild when the
    live generation cannot take one or its deltas are past the merge policy's ceiling. A delta
    that takes them past its limits starts a background merge (``kb/retrieval/merging.py``)
    once written: this write does not wait for it. Returns the chunks served.

    With ``keywords_first``, chunks the embedding cache lacks are switched in without vectors
    (findable by keyword at once); ``kb/retrieval/vectorfill.py`` brings their vectors."""
    collection_name(collection)
    with session_scope(kb.engine) as session:
        chunks = live_chunks(session, collection, documents)
    kb.refresh_tokenizer()
    store = kb.index_store
    texts = [normalize(c.index_text) for c in chunks] if keywords_first else []
    embed = not texts or not uncached(store.embedder, store.cache, texts)
    if not embed and store.current_meta(collection) is None:
        with session_scope(kb.engine) as session:
            alone = len(live_lines(session, collection)) == len(chunks)
        if alone:  # a new collection: an empty main, then its documents by keyword at once
            store.build(collection, [], fingerprint=combine([]))
    meta = store.update(collection, documents, chunks, progress=progress, embed=embed)
    if meta is None:
        return rebuild_index(kb, collection, progress)
    log.info("index for %r: %d chunks of %d documents as a delta", collection, len(chunks),
             len(documents))  # fmt: skip
    request_merge(kb, collection)
    return meta.chunk_count


def ensure_fresh(kb: KnowledgeBase, collection: str) -> bool:
    """Rebuild when the live index does not match the database; True if it rebuilt."""
    with kb.collection_lock(collection):
        return rebuild_if_stale(kb, collection)


def rebuild_if_stale(kb: KnowledgeBase, collection: str, progress: Progress | None = None) -> bool:
    """:func:`ensure_fresh` for a caller that holds the collection's lock already.

    A process killed between committing a version and switching the index left the database
    ahead of the index; whoever writes the collection next finishes that switch."""
    meta = kb.index_store.current_meta(collection)
    kb.refresh_tokenizer()
    if (
        meta is not None
        and meta.tokenizer_version == kb.tokenizer.version
        and _compatible(kb, meta)
    ):
        with session_scope(kb.engine) as session:
            fresh = serves_database(session, meta, collection)
        if fresh:
            kb.catalog.settle(collection)
            return False
    with session_scope(kb.engine) as session:
        chunks = live_chunks(session, collection)
    kb.index_store.build(collection, chunks, progress=progress, fingerprint=fingerprint(chunks))
    kb.catalog.settle(collection)
    return True


def known_collections(kb: KnowledgeBase) -> list[str]:
    with session_scope(kb.engine) as session:
        names = session.exec(select(Document.collection).distinct()).all()
    return sorted(names)


def _compatible(kb: KnowledgeBase, meta: GenerationMeta) -> bool:
    """False when the index was built with another embedder (e.g. KB_EMBEDDER changed)."""
    try:
        kb.index_store.check_compatible(meta)
    except IndexMismatchError as exc:
        log.warning("%s: rebuilding", exc)
        return False
    return True
