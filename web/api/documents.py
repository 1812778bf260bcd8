"""Documents: upload (multipart), list, show with chunks, delete."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile

from kb.documents.catalog import DocumentQuery, delete_document, get_document, list_documents
from kb.documents.ingestion import DocumentMeta, IngestItem, ingest_items
from kb.documents.schemas import IngestResponse
from kb.errors import Invalid
from web.deps import KBDep
from web.errors import error_responses

router = APIRouter(prefix="/api/v1/documents", tags=["documents"])


@router.post("", response_model=IngestResponse, responses=error_responses(422))
def upload_documents(
    kb: KBDep,
    files: Annotated[list[UploadFile], File(description="One or more files.")],
    collection: Annotated[str, Form()] = "default",
    doc_type: Annotated[str | None, Form(alias="type")] = None,
    tags: Annotated[str | None, Form(description="Comma-separated.")] = None,
    product: Annotated[str | None, Form()] = None,
    language: Annotated[str | None, Form()] = None,
    valid_from: Annotated[date | None, Form()] = None,
    valid_to: Annotated[date | None, Form()] = None,
) -> dict[str, Any]:
    """Ingest the uploaded files; the result is per file (ingested / unchanged / failed: reason)."""
    if not files:
        raise Invalid("no files uploaded", field="files")
    meta = DocumentMeta(
        doc_type=doc_type,
        tags=tuple(t.strip() for t in (tags or "").split(",") if t.strip()),
        product=product,
        language=language,
        valid_from=valid_from,
        valid_to=valid_to,
    )
    limit = kb.settings.max_upload_bytes
    # Read at most limit+1 bytes: enough to say "too large" without holding a huge upload.
    items = [IngestItem(f.filename or "unnamed", f.file.read(limit + 1), meta) for f in files]
    results = ingest_items(kb, items, collection=collection)
    return {"collection": collection, "files": [r.__dict__ for r in results]}


@router.get("", responses=error_responses(422))
def list_route(
    kb: KBDep,
    collection: str | None = None,
    doc_type: Annotated[str | None, Query(alias="type")] = None,
    tag: str | None = None,
    q: str | None = None,
) -> dict[str, Any]:
    """Documents with their current version and chunk count."""
    docs = list_documents(kb, DocumentQuery(collection, doc_type, tag, q))
    return {"documents": docs}


@router.get("/{document_id}", responses=error_responses(404, 422))
def show_route(document_id: str, kb: KBDep) -> dict[str, Any]:
    """Metadata, versions and the chunks of the current version."""
    return get_document(kb, document_id)


@router.delete("/{document_id}", responses=error_responses(404, 422))
def delete_route(document_id: str, kb: KBDep) -> dict[str, Any]:
    """Delete a document with all its versions; it leaves search results at once."""
    return {"deleted": delete_document(kb, document_id)}
