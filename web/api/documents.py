"""Documents: upload (multipart), list, show with chunks, owner and review, delete."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse

from kb.accounts.access import collection_for, document_for, documents_for
from kb.documents.catalog import DocumentQuery, delete_document
from kb.documents.ingestion import (
    DocumentMeta,
    IngestItem,
    check_upload_count,
    column_limit,
    ingest_items,
)
from kb.documents.jobs import get_job, start_ingest_job
from kb.documents.ownership import OwnershipEdit, mark_reviewed, set_ownership
from kb.documents.reasons import reason_message
from kb.documents.schemas import (
    DeleteResponse,
    DocumentDetail,
    DocumentList,
    DocumentPatch,
    FileResultOut,
    IngestResponse,
    JobAccepted,
)
from kb.documents.stages import with_stages
from kb.errors import Invalid
from web.auth import PrincipalDep, requires
from web.deps import KBDep
from web.errors import error_responses
from web.i18n import localize

router = APIRouter(prefix="/api/v1/documents", tags=["documents"])
READ, WRITE = [requires("documents:read")], [requires("documents:write")]


_QUEUED: dict[int | str, dict[str, Any]] = {
    202: {
        "model": JobAccepted,
        "description": "With KB_WORKERS=external: the upload is queued for a `kb worker`; "
        "`Location` and `status_url` name the job (GET /api/v1/jobs/{job_id}).",
    }
}


@router.post(
    "",
    response_model=IngestResponse,
    responses={**_QUEUED, **error_responses(401, 403, 413, 422, 429)},
    dependencies=WRITE,
)
def upload_documents(
    request: Request,
    kb: KBDep,
    principal: PrincipalDep,
    files: Annotated[list[UploadFile], File(description="One or more files.")],
    collection: Annotated[
        str | None, Form(description="Default: KB_DEFAULT_COLLECTION, or a limited caller's first.")
    ] = None,
    doc_type: Annotated[str | None, Form(alias="type")] = None,
    tags: Annotated[str | None, Form(description="Comma-separated.")] = None,
    product: Annotated[str | None, Form(max_length=column_limit("product"))] = None,
    language: Annotated[str | None, Form(max_length=column_limit("language"))] = None,
    valid_from: Annotated[date | None, Form()] = None,
    valid_to: Annotated[date | None, Form()] = None,
) -> IngestResponse | JSONResponse:
    """Ingest the uploaded files; the result is per file (ingested / unchanged / failed: reason).
    With workers (KB_WORKERS=external) the files are queued instead: 202 and the job."""
    target = collection_for(kb, principal, collection)
    if not files:
        raise Invalid("no files uploaded", field="files")
    check_upload_count(kb.settings, len(files))
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
    if kb.settings.workers == "external":
        job_id = start_ingest_job(kb, items, target, actor=principal.actor)
        url = str(request.url_for("api_job", job_id=job_id))
        body = JobAccepted(job_id=job_id, status_url=url, job=get_job(kb, job_id))
        return JSONResponse(body.model_dump(mode="json"), 202, headers={"Location": url})
    results = ingest_items(kb, items, collection=target, actor=principal.actor)
    # A failed file's reason in the caller's language (Accept-Language), like an error's message.
    published = [
        FileResultOut.model_validate(r).model_copy(
            update={"reason": localize(request, reason_message(r.reason)) if r.reason else None}
        )
        for r in results
    ]
    return IngestResponse(collection=target, files=published)


@router.get(
    "",
    response_model=DocumentList,
    responses=error_responses(401, 403, 422, 429),
    dependencies=READ,
)
def list_route(
    kb: KBDep,
    principal: PrincipalDep,
    collection: str | None = None,
    doc_type: Annotated[str | None, Query(alias="type")] = None,
    tag: str | None = None,
    q: str | None = None,
    overdue: Annotated[
        bool, Query(description="Only documents due for review, the longest overdue first.")
    ] = False,
) -> DocumentList:
    """Documents with their current version, chunk count, owner and review date."""
    query = DocumentQuery(collection, doc_type, tag, q, overdue=overdue)
    found = documents_for(kb, principal, query)
    return DocumentList(documents=with_stages(kb, found))


@router.get(
    "/{document_id}",
    response_model=DocumentDetail,
    responses=error_responses(401, 403, 404, 422, 429),
    dependencies=READ,
)
def show_route(document_id: str, kb: KBDep, principal: PrincipalDep) -> DocumentDetail:
    """Metadata, versions, the chunks of the current version, and its stage."""
    return with_stages(kb, [document_for(kb, principal, document_id)])[0]


@router.patch(
    "/{document_id}",
    response_model=DocumentDetail,
    responses=error_responses(401, 403, 404, 422, 429),
    dependencies=WRITE,
)
def patch_route(
    document_id: str, body: DocumentPatch, kb: KBDep, principal: PrincipalDep
) -> DocumentDetail:
    """Set the owner (an enabled manager or admin who may read the collection) and the review
    interval; a field left out is kept, ``null`` clears it. Audited. Without chunks."""
    document_for(kb, principal, document_id, with_chunks=False)  # 404 outside its collections
    given = body.model_fields_set
    edit = OwnershipEdit(
        owner=(body.owner or "") if "owner" in given else None,
        interval_days=(body.review_interval_days or 0) if "review_interval_days" in given else None,
    )
    return set_ownership(kb, document_id, edit, actor=principal.actor)


@router.post(
    "/{document_id}/reviewed",
    response_model=DocumentDetail,
    responses=error_responses(401, 403, 404, 422, 429),
    dependencies=WRITE,
)
def reviewed_route(document_id: str, kb: KBDep, principal: PrincipalDep) -> DocumentDetail:
    """Mark the document reviewed as it is, without re-uploading: its review clock starts
    again. Audited. Without chunks."""
    document_for(kb, principal, document_id, with_chunks=False)  # 404 outside its collections
    return mark_reviewed(kb, document_id, actor=principal.actor)


@router.delete(
    "/{document_id}",
    response_model=DeleteResponse,
    responses=error_responses(401, 403, 404, 422, 429),
    dependencies=WRITE,
)
def delete_route(document_id: str, kb: KBDep, principal: PrincipalDep) -> DeleteResponse:
    """Delete a document with all its versions; it leaves search results at once."""
    document_for(kb, principal, document_id, with_chunks=False)  # 404 outside its collections
    return DeleteResponse(deleted=delete_document(kb, document_id, actor=principal.actor))
