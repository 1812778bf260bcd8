"""Collections are the unit of access: the one place that says what a caller may see or act on.

Asked for by name, a forbidden collection is 403 (``readable``). Reached by an id, anything in
a forbidden collection is 404 with the very words an unknown id gets (``document_for``,
``job_for``), so another team's ids cannot even be confirmed. The API and the console both go
through here; a service that reads several collections takes ``Principal.readable_collections``.
"""

from __future__ import annotations

from kb.accounts.principal import Principal
from kb.context import KnowledgeBase
from kb.documents.catalog import DocumentQuery, get_document, list_documents
from kb.documents.jobs import get_job
from kb.documents.schemas import DocumentDetail, DocumentSummary, IngestJobPublic
from kb.documents.stages import recent_jobs
from kb.errors import Forbidden, NotFound
from kb.retrieval.indexing import known_collections


def readable(principal: Principal, collection: str) -> str:
    """``collection`` if the caller may read it; asked for by name, a forbidden one is 403."""
    if not principal.may_read(collection):
        raise Forbidden(
            "you may not use the collection {collection!r}",
            field="collection",
            collection=collection,
        )
    return collection


# Replies, escalation rules and the vocabulary apply to every collection's suggestions and
# search, so a change by one team is a change for all: see README, Security.
INSTALLATION_WIDE = (
    "scripted replies, escalation rules and the vocabulary apply to every collection: only a "
    "manager of every collection may change them"
)


def may_edit_installation_wide(principal: Principal) -> bool:
    """Whether the caller may change what applies to every collection (replies, rules,
    vocabulary): a manager or admin limited to no collection."""
    return principal.can("manager") and not principal.collections


def check_installation_wide(principal: Principal) -> Principal:
    """The caller, if :func:`may_edit_installation_wide`; else 403 (reading stays allowed)."""
    if not may_edit_installation_wide(principal):
        raise Forbidden(INSTALLATION_WIDE)
    return principal


def readable_collections(kb: KnowledgeBase, principal: Principal) -> list[str]:
    """The collections that hold documents and that the caller may read (for choosers)."""
    return [c for c in known_collections(kb) if principal.may_read(c)]


def default_collection(kb: KnowledgeBase, principal: Principal) -> str:
    """Where a form with no collection chosen goes: the configured default if the caller may
    read it, else the first of the caller's own collections."""
    default = kb.settings.default_collection
    if principal.may_read(default) or not principal.collections:
        return default
    return principal.collections[0]


def collection_for(kb: KnowledgeBase, principal: Principal, asked: str | None) -> str:
    """The collection a request works in: the one named (403 if forbidden), else the caller's
    default (:func:`default_collection`), so a caller limited to collections never has to name
    one."""
    return readable(principal, asked or default_collection(kb, principal))


def documents_for(
    kb: KnowledgeBase, principal: Principal, query: DocumentQuery | None = None
) -> list[DocumentSummary]:
    """The documents matching ``query`` in collections the caller may read; filtering by a
    forbidden collection is 403."""
    query = query or DocumentQuery()
    if query.collection is not None:
        readable(principal, query.collection)
    return [d for d in list_documents(kb, query) if principal.may_read(d.collection)]


def document_for(
    kb: KnowledgeBase, principal: Principal, document_id: str, *, with_chunks: bool = True
) -> DocumentDetail:
    """A document the caller may read; one in a forbidden collection is 404 like an unknown id."""
    doc = get_document(kb, document_id, with_chunks=with_chunks)
    if not principal.may_read(doc.collection):
        raise NotFound(
            "no document with id {document_id!r}", field="document_id", document_id=document_id
        )
    return doc


def job_for(kb: KnowledgeBase, principal: Principal, job_id: str) -> IngestJobPublic:
    """An ingestion job into a collection the caller may read; any other is 404."""
    job = get_job(kb, job_id)
    if not principal.may_read(job.collection):
        raise NotFound("no ingestion job with id {job_id!r}", field="job_id", job_id=job_id)
    return job


def jobs_for(kb: KnowledgeBase, principal: Principal, limit: int = 100) -> list[IngestJobPublic]:
    """The newest jobs into collections the caller may read."""
    return recent_jobs(kb, principal.readable_collections, limit)
