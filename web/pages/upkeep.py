"""Upkeep page: gaps, draft FAQ entries to accept, edit or reject, duplicates and conflicts,
and the documents overdue for review, within the collections the manager may read."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from kb.accounts.access import collection_for, documents_for, readable, readable_collections
from kb.accounts.principal import Principal
from kb.context import KnowledgeBase
from kb.documents.catalog import DocumentQuery
from kb.errors import Conflict, Invalid, NotFound
from kb.upkeep.drafts import (
    accept_draft,
    draft_from_gap,
    edit_draft,
    list_drafts,
    reject_draft,
    review_stats,
)
from kb.upkeep.gaps import find_gap, find_gaps
from kb.upkeep.overlaps import find_overlaps
from kb.upkeep.schemas import MAX_ANSWER, MAX_QUESTION
from web.auth import PrincipalDep
from web.deps import KBDep
from web.pages.forms import FormError
from web.rendering import RendererDep

router = APIRouter(prefix="/kb", include_in_schema=False)
GAPS_SHOWN = 30

Question = Annotated[str | None, Form(max_length=MAX_QUESTION)]
Answer = Annotated[str | None, Form(max_length=MAX_ANSWER)]


@router.get("/upkeep", name="kb_upkeep")
def upkeep_page(
    request: Request,
    kb: KBDep,
    principal: PrincipalDep,
    render: RendererDep,
    collection: str = "",
    done: str = "",
) -> Response:
    """Everything the upkeep loop needs a manager for, in one collection (or all they read)."""
    context = _context(kb, principal, collection, done=done)
    return render.page(request, "upkeep.html", context, block="upkeep")


@router.post("/upkeep/drafts", name="kb_upkeep_draft")
def make_draft(
    request: Request,
    kb: KBDep,
    principal: PrincipalDep,
    gap: Annotated[str, Form(max_length=64)],
    collection: Annotated[str, Form()] = "",
) -> Response:
    """Draft a FAQ entry from a gap (its key, as the page lists it)."""
    found = find_gap(kb, gap, readable=principal.readable_collections)
    if found is None:
        raise NotFound("no gap {gap!r}: it may have been answered since", field="gap", gap=gap)
    # Drafted already (a second click, another manager): the page shows that draft.
    with suppress(Conflict):
        draft_from_gap(kb, found, actor=principal.actor)
    return _back(request, collection, "drafted")


@router.post("/upkeep/drafts/{draft_id}", name="kb_upkeep_save")
def save_draft(
    draft_id: str,
    request: Request,
    kb: KBDep,
    principal: PrincipalDep,
    question: Question = None,
    answer: Answer = None,
    collection: Annotated[str, Form()] = "",
) -> Response:
    """Save the manager's wording; the draft stays pending."""
    within = principal.readable_collections
    with _refused(kb, principal, collection, draft_id):
        edit_draft(kb, draft_id, question=question, answer=answer, readable=within,
                   actor=principal.actor)  # fmt: skip
    return _back(request, collection, "saved")


@router.post("/upkeep/drafts/{draft_id}/accept", name="kb_upkeep_accept")
def accept(
    draft_id: str,
    request: Request,
    kb: KBDep,
    principal: PrincipalDep,
    question: Question = None,
    answer: Answer = None,
    target: Annotated[str, Form()] = "",
    collection: Annotated[str, Form()] = "",
    pin: Annotated[bool, Form()] = False,
) -> Response:
    """Publish the draft (as edited in the form) as a FAQ document in the chosen collection,
    pinned for its gap's intents when the manager ticked the box."""
    if target:
        readable(principal, target)
    within = principal.readable_collections
    with _refused(kb, principal, collection, draft_id):
        accept_draft(kb, draft_id, collection=target or None, question=question, answer=answer,
                     readable=within, actor=principal.actor, pin=pin)  # fmt: skip
    return _back(request, collection, "pinned" if pin else "accepted")


@router.post("/upkeep/drafts/{draft_id}/reject", name="kb_upkeep_reject")
def reject(
    draft_id: str,
    request: Request,
    kb: KBDep,
    principal: PrincipalDep,
    collection: Annotated[str, Form()] = "",
) -> Response:
    """Take the draft off the queue; it never becomes a document."""
    within = principal.readable_collections
    with _refused(kb, principal, collection, draft_id):
        reject_draft(kb, draft_id, readable=within, actor=principal.actor)
    return _back(request, collection, "rejected")


@contextmanager
def _refused(
    kb: KnowledgeBase, principal: Principal, collection: str, draft_id: str
) -> Iterator[None]:
    """A refused decision (no answer, a draft decided meanwhile) shows the page again with the
    message at that draft; an unknown draft goes on to the one error page (404)."""
    try:
        yield
    except (Invalid, Conflict) as exc:
        context = _context(kb, principal, collection, errors={draft_id: exc.message})
        raise FormError("upkeep.html", "upkeep", context, status_code=exc.status_code) from exc


def _back(request: Request, collection: str, done: str) -> RedirectResponse:
    query = urlencode({k: v for k, v in (("collection", collection), ("done", done)) if v})
    url = request.app.url_path_for("kb_upkeep") + (f"?{query}" if query else "")
    return RedirectResponse(url, status_code=303)


def _context(
    kb: KnowledgeBase,
    principal: Principal,
    collection: str,
    *,
    done: str = "",
    errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    within = principal.readable_collections
    chosen = readable(principal, collection) if collection else None
    where = collection_for(kb, principal, chosen)  # overlaps are per collection
    overlaps = find_overlaps(kb, where)
    gaps = find_gaps(kb, readable=within, collection=chosen)[:GAPS_SHOWN]
    drafts = list_drafts(kb, readable=within, collection=chosen)
    drafted = {q for d in drafts for q in d.queries}
    return {
        "collection": chosen or "",
        "collections": readable_collections(kb, principal),
        "learning": kb.settings.learning,  # pins on acceptance apply only with learning on
        "overlap_collection": where,
        "gaps": gaps,
        "drafted": {g.key for g in gaps if drafted & set(g.normalized)},  # a draft is pending
        "drafts": drafts,
        "stats": review_stats(kb, readable=within, collection=chosen),
        "duplicates": [o for o in overlaps if o.kind == "duplicate"],
        "conflicts": [o for o in overlaps if o.kind == "conflict"],
        "overdue": documents_for(kb, principal, DocumentQuery(chosen, overdue=True)),
        "done": done,
        "errors": errors or {},
    }
