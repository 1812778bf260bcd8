"""Console pages for documents: list and upload, one document (metadata, chunks), chunk context."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from kb.accounts.access import (
    default_collection,
    document_for,
    documents_for,
    readable,
    readable_collections,
)
from kb.accounts.principal import Principal
from kb.accounts.users import list_users
from kb.context import KnowledgeBase
from kb.documents.catalog import DocumentQuery, delete_document, neighbourhood, update_metadata
from kb.documents.jobs import get_job, start_ingest_job
from kb.documents.ownership import OWNER_ROLES, mark_reviewed, set_ownership
from kb.documents.schemas import DocumentDetail, DocumentPublic, IngestJobPublic
from kb.documents.stages import with_stages
from kb.errors import Forbidden, Invalid
from web.auth import PrincipalDep
from web.deps import KBDep
from web.pages.forms import (
    Errors,
    FormError,
    MetadataForm,
    OwnershipForm,
    field_errors,
    form_errors,
    read_uploads,
    reingest_item,
    upload_meta,
)
from web.rendering import HtmxDep, HtmxRequest, Renderer, RendererDep

router = APIRouter(prefix="/kb", include_in_schema=False)


@router.get("/", name="kb_console")
def console(request: Request) -> RedirectResponse:
    return RedirectResponse(request.app.url_path_for("kb_documents"), status_code=303)


@router.get("/documents", name="kb_documents")
def documents_page(
    request: Request,
    kb: KBDep,
    principal: PrincipalDep,
    render: RendererDep,
    collection: str = "",
    doc_type: Annotated[str, Query(alias="type")] = "",
    tag: str = "",
    q: str = "",
    deleted: str = "",
) -> Response:
    """Filterable list (HTMX: the list only) with the upload form; readable collections only."""
    query = DocumentQuery(collection or None, doc_type or None, tag.strip() or None, q or None)
    context = _list_context(kb, principal, query, deleted=deleted)
    return render.page(request, "documents.html", context, block="doc_list")


@router.post("/documents", name="kb_upload")
def upload_documents(
    request: Request,
    kb: KBDep,
    principal: PrincipalDep,
    render: RendererDep,
    htmx: HtmxDep,
    files: Annotated[list[UploadFile], File()] = [],  # noqa: B006 (FastAPI copies defaults)
    collection: Annotated[str, Form()] = "",
    doc_type: Annotated[str, Form(alias="type")] = "",
    tags: Annotated[str, Form()] = "",
) -> Response:
    """Start an ingestion job; HTMX gets the upload block with the polling progress panel."""
    upload = {"collection": collection, "type": doc_type, "tags": tags}

    def refused(exc: Invalid | Forbidden) -> dict[str, Any]:
        errors = field_errors(exc, "files")
        return _list_context(kb, principal, DocumentQuery(), upload=upload, errors=errors)

    # A collection the uploader may not read is refused (403) on the form, before any file.
    with form_errors("documents.html", "upload", refused, catch=Forbidden, status_code=None):
        target = readable(principal, collection or default_collection(kb, principal))
    with form_errors("documents.html", "upload", refused):
        items = read_uploads(files, upload_meta(doc_type, tags), kb.settings.max_upload_bytes)
        job_id = start_ingest_job(kb, items, target, actor=principal.actor)
    if not htmx.wants_fragment:
        return RedirectResponse(request.app.url_path_for("kb_job", job_id=job_id), status_code=303)
    context = _upload_context(kb, principal, upload=upload, job=get_job(kb, job_id))
    return render.page(request, "documents.html", context, block="upload")


@router.get("/documents/{document_id}", name="kb_document")
def document_page(
    document_id: str,
    request: Request,
    kb: KBDep,
    principal: PrincipalDep,
    render: RendererDep,
    saved: bool = False,
) -> Response:
    """Versions, editable metadata and chunks (HTMX: versions and chunks, after a re-ingest)."""
    doc = document_for(kb, principal, document_id)
    context = _document_context(kb, doc, saved=saved)
    return render.page(request, "document.html", context, block="index_view")


@router.post("/documents/{document_id}/metadata", name="kb_document_metadata")
def save_metadata(
    document_id: str,
    request: Request,
    kb: KBDep,
    principal: PrincipalDep,
    render: RendererDep,
    htmx: HtmxDep,
    form: Annotated[MetadataForm, Form()],
) -> Response:
    """Save the metadata form; errors come back next to their field."""

    def refused(errors: Errors) -> dict[str, Any]:
        doc = document_for(kb, principal, document_id, with_chunks=not htmx.wants_fragment)
        return _document_context(kb, doc, form=form, errors=errors)

    document_for(kb, principal, document_id, with_chunks=False)  # 404 outside its collections
    edit, errors = form.parse()
    if errors:
        raise FormError("document.html", "meta_form", refused(errors))
    with form_errors("document.html", "meta_form", lambda exc: refused(field_errors(exc, "form"))):
        update_metadata(kb, document_id, edit, actor=principal.actor)
    if not htmx.wants_fragment:
        url = request.app.url_path_for("kb_document", document_id=document_id)
        return RedirectResponse(f"{url}?saved=1", status_code=303)
    doc = document_for(kb, principal, document_id, with_chunks=False)
    context = _document_context(kb, doc, saved=True)
    return render.page(request, "document.html", context, block="meta_form")


@router.post("/documents/{document_id}/ownership", name="kb_document_ownership")
def save_ownership(
    document_id: str,
    request: Request,
    kb: KBDep,
    principal: PrincipalDep,
    render: RendererDep,
    htmx: HtmxDep,
    form: Annotated[OwnershipForm, Form()],
) -> Response:
    """Save the owner and review interval; errors come back next to their field."""
    doc = document_for(kb, principal, document_id, with_chunks=False)  # 404 outside its collections

    def refused(exc: Invalid) -> dict[str, Any]:
        # Without HTMX the whole page is shown again, so it needs the whole page's context.
        shown = document_for(kb, principal, document_id, with_chunks=not htmx.wants_fragment)
        review = _review_context(kb, shown, form=form, errors=field_errors(exc, "owner"))
        return {**_document_context(kb, shown), **review}

    with form_errors("document.html", "review_form", refused):
        doc = set_ownership(kb, document_id, form.parse(), actor=principal.actor)
    return _review_done(request, render, htmx, _review_context(kb, doc, review_saved=True))


@router.post("/documents/{document_id}/reviewed", name="kb_document_reviewed")
def mark_document_reviewed(
    document_id: str,
    request: Request,
    kb: KBDep,
    principal: PrincipalDep,
    render: RendererDep,
    htmx: HtmxDep,
) -> Response:
    """Mark the document reviewed as it is: its review clock starts again."""
    document_for(kb, principal, document_id, with_chunks=False)  # 404 outside its collections
    doc = mark_reviewed(kb, document_id, actor=principal.actor)
    return _review_done(request, render, htmx, _review_context(kb, doc, review_saved=True))


def _review_done(
    request: Request, render: Renderer, htmx: HtmxRequest, context: dict[str, Any]
) -> Response:
    if not htmx.wants_fragment:
        url = request.app.url_path_for("kb_document", document_id=context["doc"].id)
        return RedirectResponse(url, status_code=303)
    return render.page(request, "document.html", context, block="review_form")


@router.post("/documents/{document_id}/reingest", name="kb_document_reingest")
def reingest(
    document_id: str,
    request: Request,
    kb: KBDep,
    principal: PrincipalDep,
    render: RendererDep,
    htmx: HtmxDep,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Upload a new version of this document as a background job."""
    doc = document_for(kb, principal, document_id, with_chunks=not htmx.wants_fragment)

    def refused(exc: Invalid) -> dict[str, Any]:
        return _document_context(kb, doc, errors=field_errors(exc, "file"))

    with form_errors("document.html", "reingest", refused):
        item = reingest_item(doc, file, kb.settings.max_upload_bytes)
        job_id = start_ingest_job(
            kb, [item], doc.collection, actor=principal.actor, kind="reingest"
        )
    if not htmx.wants_fragment:
        return RedirectResponse(request.app.url_path_for("kb_job", job_id=job_id), status_code=303)
    context = _document_context(kb, doc, job=get_job(kb, job_id))
    return render.page(request, "document.html", context, block="reingest")


@router.post("/documents/{document_id}/delete", name="kb_document_delete")
def delete(
    document_id: str,
    request: Request,
    kb: KBDep,
    principal: PrincipalDep,
    render: RendererDep,
    htmx: HtmxDep,
    confirm: Annotated[str, Form()] = "",
) -> Response:
    """Delete after an explicit confirmation field (the browser's hx-confirm is not enough)."""
    doc = document_for(kb, principal, document_id, with_chunks=not htmx.wants_fragment)
    if confirm != document_id:
        errors = {"confirm": "tick the box to confirm deleting every version of this document"}
        raise FormError("document.html", "delete_form", _document_context(kb, doc, errors=errors))
    summary = delete_document(kb, document_id, actor=principal.actor)
    target = f"{request.app.url_path_for('kb_documents')}?{urlencode({'deleted': summary.title})}"
    if htmx.is_htmx:
        return Response(status_code=200, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


@router.get("/documents/{document_id}/chunks/{chunk_id}", name="kb_chunk")
def chunk_page(
    document_id: str,
    chunk_id: str,
    request: Request,
    kb: KBDep,
    principal: PrincipalDep,
    render: RendererDep,
) -> Response:
    """A chunk in context: its section and neighbouring chunks (the assist panel's source link)."""
    doc = document_for(kb, principal, document_id)
    around = neighbourhood(doc, chunk_id)
    context = {"doc": doc, "chunk": around.chunk, "shown": around.shown, "section": around.section}
    return render.page(request, "chunk.html", context, block="context")


def _list_context(
    kb: KnowledgeBase, principal: Principal, query: DocumentQuery, **extra: Any
) -> dict[str, Any]:
    found = documents_for(kb, principal, query)
    overdue = documents_for(kb, principal, DocumentQuery(overdue=True))
    listing = {"documents": with_stages(kb, found), "filters": query, "deleted": "",
               "overdue": overdue}  # fmt: skip
    return _upload_context(kb, principal, **{**listing, **extra})


def _upload_context(kb: KnowledgeBase, principal: Principal, **extra: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "collections": readable_collections(kb, principal),
        "default_collection": default_collection(kb, principal),
        "upload": {"collection": "", "type": "", "tags": ""},
        "errors": {},
        "overdue": [],
        "job": None,
    }
    context.update(extra)
    return context


def _review_context(
    kb: KnowledgeBase,
    doc: DocumentPublic,
    *,
    form: OwnershipForm | None = None,
    errors: Errors | None = None,
    review_saved: bool = False,
) -> dict[str, Any]:
    """The owner and review panel: the form, and the people who may own the document."""
    owners = [
        u.email
        for u in list_users(kb)
        if u.role in OWNER_ROLES
        and not u.disabled
        and (not u.collections or doc.collection in u.collections)
    ]
    review = form or OwnershipForm.of(doc)
    if review.owner and review.owner not in owners:  # e.g. since disabled: shown, not lost
        owners.insert(0, review.owner)
    return {
        "doc": doc,
        "review": review,
        "review_errors": errors or {},
        "review_saved": review_saved,
        "owner_choices": [(email, email) for email in owners],
    }


def _document_context(
    kb: KnowledgeBase,
    doc: DocumentDetail,
    *,
    form: MetadataForm | None = None,
    errors: Errors | None = None,
    saved: bool = False,
    job: IngestJobPublic | None = None,
) -> dict[str, Any]:
    return {
        **_review_context(kb, doc),
        "doc": doc,
        "form": form or MetadataForm.of(doc),
        "errors": errors or {},
        "saved": saved,
        "job": job,
    }
