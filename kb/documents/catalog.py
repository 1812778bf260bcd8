"""Reading, editing and deleting documents."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, col, func, select

from kb.audit import SYSTEM_ACTOR, record
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.documents.ingestion import DocumentMeta
from kb.documents.schemas import (
    ChunkContext,
    ChunkOut,
    DeletedDocument,
    DocumentDetail,
    DocumentSummary,
    VersionOut,
)
from kb.errors import NotFound
from kb.models import ChunkRecord, Document, DocumentVersion, UserAccount, utcnow
from kb.retrieval.indexing import reindex_documents
from kb.review import review_clocks


@dataclass(frozen=True)
class DocumentQuery:
    collection: str | None = None
    doc_type: str | None = None
    tag: str | None = None
    text: str | None = None  # substring of title or file name
    overdue: bool = False  # only documents due for review, the longest overdue first


def list_documents(
    kb: KnowledgeBase, query: DocumentQuery = DocumentQuery()
) -> list[DocumentSummary]:
    with session_scope(kb.engine) as session:
        stmt = select(Document).order_by(col(Document.collection), col(Document.title))
        if query.collection:
            stmt = stmt.where(Document.collection == query.collection)
        if query.doc_type:
            stmt = stmt.where(Document.doc_type == query.doc_type)
        docs = session.exec(stmt).all()
        upkeep = _upkeep(session, docs)
        counts = dict(
            session.exec(
                select(DocumentVersion.document_id, DocumentVersion.chunk_count)
                .join(Document, col(Document.id) == col(DocumentVersion.document_id))
                .where(col(DocumentVersion.number) == col(Document.current_version))
            ).all()
        )
    out = []
    for doc in docs:
        if query.tag and query.tag not in doc.tags:
            continue
        if query.text and query.text.lower() not in f"{doc.title} {doc.source_name}".lower():
            continue
        summary = DocumentSummary(
            **doc.model_dump(), **upkeep.get(doc.id, {}), chunk_count=counts.get(doc.id, 0)
        )
        if query.overdue and not summary.due_for_review:
            continue
        out.append(summary)
    if query.overdue:
        out.sort(key=lambda d: (d.review_due, d.collection, d.title))
    return out


def get_document(
    kb: KnowledgeBase, document_id: str, *, with_chunks: bool = True
) -> DocumentDetail:
    """Metadata, every version, and the chunks of the current version."""
    with session_scope(kb.engine) as session:
        doc = document_row(session, document_id)
        versions = session.exec(
            select(DocumentVersion)
            .where(DocumentVersion.document_id == doc.id)
            .order_by(col(DocumentVersion.number))
        ).all()
        chunks: list[ChunkRecord] = []
        if with_chunks:
            current = next(v for v in versions if v.number == doc.current_version)
            chunks = list(
                session.exec(
                    select(ChunkRecord)
                    .where(ChunkRecord.version_id == current.id)
                    .order_by(col(ChunkRecord.ordinal))
                ).all()
            )
        return DocumentDetail(
            **doc.model_dump(),
            **_upkeep(session, [doc]).get(doc.id, {}),
            versions=[VersionOut.model_validate(v.model_dump()) for v in versions],
            chunks=[ChunkOut.model_validate(c.model_dump()) for c in chunks],
        )


def neighbourhood(doc: DocumentDetail, chunk_id: str, radius: int = 2) -> ChunkContext:
    """The chunk, ``radius`` chunks either side, and every chunk of its section (same heading)."""
    chunks = doc.chunks
    at = next((i for i, c in enumerate(chunks) if c.id == chunk_id), None)
    if at is None:
        raise NotFound(
            "chunk {chunk_id!r} is not in the current version of document {id!r}",
            field="chunk_id",
            chunk_id=chunk_id,
            id=doc.id,
        )
    chunk = chunks[at]
    section = [c for c in chunks if c.heading_path == chunk.heading_path]
    ids = {c.id for c in chunks[max(0, at - radius) : at + radius + 1]}
    if len(section) <= 4 * radius + 1:  # a short section is shown whole
        ids |= {c.id for c in section}
    shown = [c for c in chunks if c.id in ids]
    return ChunkContext(chunk=chunk, shown=shown, section=chunk.heading_path)


def delete_document(
    kb: KnowledgeBase, document_id: str, *, actor: str = SYSTEM_ACTOR
) -> DeletedDocument:
    """Remove a document, all its versions and chunks; it leaves search results at once."""
    with session_scope(kb.engine) as session:
        collection = document_row(session, document_id).collection
    with kb.collection_lock(collection):
        with session_scope(kb.engine) as session:
            doc = document_row(session, document_id)
            version_ids = session.exec(
                select(DocumentVersion.id).where(DocumentVersion.document_id == doc.id)
            ).all()
            for chunk in session.exec(
                select(ChunkRecord).where(col(ChunkRecord.version_id).in_(version_ids))
            ):
                session.delete(chunk)
            session.flush()
            for version in session.exec(
                select(DocumentVersion).where(DocumentVersion.document_id == doc.id)
            ):
                session.delete(version)
            session.flush()
            session.delete(doc)
            summary = DeletedDocument(id=doc.id, title=doc.title, collection=doc.collection)
            detail = {"filename": doc.source_name, "title": doc.title, "collection": collection}
            record(session, actor=actor, action="document.delete", target=doc.id, detail=detail)
        reindex_documents(kb, collection, {document_id})
    return summary


@dataclass(frozen=True)
class MetadataEdit:
    """New metadata for a document: ``None`` keeps a value; ``clear_dates`` empties both dates."""

    title: str | None = None
    doc_type: str | None = None
    tags: list[str] | None = None
    product: str | None = None  # "" clears it
    valid_from: date | None = None
    valid_to: date | None = None
    clear_dates: bool = False


def update_metadata(
    kb: KnowledgeBase, document_id: str, edit: MetadataEdit, *, actor: str = SYSTEM_ACTOR
) -> DocumentDetail:
    """Save ``edit`` and re-index the collection; returns the document without its chunks."""
    title, doc_type, tags, product = edit.title, edit.doc_type, edit.tags, edit.product
    valid_from, valid_to = edit.valid_from, edit.valid_to
    DocumentMeta(
        doc_type, title, product=product, valid_from=valid_from, valid_to=valid_to
    )  # validates
    with session_scope(kb.engine) as session:
        collection = document_row(session, document_id).collection
    with kb.collection_lock(collection):
        with session_scope(kb.engine) as session:
            doc = document_row(session, document_id)
            before = doc.model_dump()
            if title:
                doc.title = title
            if doc_type:
                doc.doc_type = doc_type
            if tags is not None:
                doc.tags = tags
            if product is not None:
                doc.product = product or None
            if edit.clear_dates:
                doc.valid_from = doc.valid_to = None
            if valid_from is not None:
                doc.valid_from = valid_from
            if valid_to is not None:
                doc.valid_to = valid_to
            session.add(doc)
            fields = sorted(k for k, v in doc.model_dump().items() if before.get(k) != v)
            if fields:  # a form saved as it was is no change
                record(session, actor=actor, action="document.update", target=doc.id,
                       detail={"filename": doc.source_name, "fields": fields})  # fmt: skip
        reindex_documents(kb, collection, {document_id})
    return get_document(kb, document_id, with_chunks=False)


def count_documents(kb: KnowledgeBase, collection: str) -> int:
    with session_scope(kb.engine) as session:
        return session.exec(
            select(func.count()).select_from(Document).where(Document.collection == collection)
        ).one()


def _upkeep(session: Session, docs: Sequence[Document]) -> dict[str, dict[str, Any]]:
    """Each document's owner e-mail and review date, as ``DocumentPublic`` publishes them."""
    owners = {d.owner_id for d in docs if d.owner_id}
    emails = dict(
        session.exec(
            select(UserAccount.id, UserAccount.email).where(col(UserAccount.id).in_(owners))
        ).all()
        if owners
        else []
    )
    clocks = review_clocks(session, [d.id for d in docs if d.review_interval_days is not None])
    today = utcnow().date()
    out: dict[str, dict[str, Any]] = {}
    for doc in docs:
        clock = clocks.get(doc.id)
        out[doc.id] = {
            "owner": emails.get(doc.owner_id) if doc.owner_id else None,
            "review_due": clock.due() if clock else None,
            "due_for_review": clock.overdue(today) if clock else False,
        }
    return out


def document_row(session: Session, document_id: str) -> Document:
    """The catalogue row of ``document_id``; NotFound naming the field otherwise."""
    doc = session.get(Document, document_id)
    if doc is None:
        raise NotFound(
            "no document with id {document_id!r}", field="document_id", document_id=document_id
        )
    return doc
