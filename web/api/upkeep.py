"""Knowledge upkeep for a CRM: gaps, the draft review queue, duplicates and conflicts.

Reading needs ``documents:read``, deciding ``documents:write``; every path keeps to the
collections the caller may read (a draft elsewhere is 404 like an unknown one). Documents
overdue for review are ``GET /api/v1/documents?overdue=true``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from kb.accounts.access import collection_for, readable
from kb.errors import NotFound
from kb.types import DraftStatus
from kb.upkeep.drafts import (
    accept_draft,
    draft_from_gap,
    edit_draft,
    get_draft,
    list_drafts,
    reject_draft,
    review_stats,
)
from kb.upkeep.gaps import find_gap, find_gaps
from kb.upkeep.overlaps import Overlap, find_overlaps
from kb.upkeep.schemas import DraftAccept, DraftEdit, DraftFromGap, DraftList, DraftPublic, GapList
from web.auth import PrincipalDep, requires
from web.deps import KBDep
from web.errors import error_responses

router = APIRouter(prefix="/api/v1/upkeep", tags=["upkeep"])
READ, WRITE = [requires("documents:read")], [requires("documents:write")]


class OverlapList(BaseModel):
    collection: str
    duplicates: list[Overlap]
    conflicts: list[Overlap]


@router.get(
    "/gaps",
    response_model=GapList,
    responses=error_responses(401, 403, 422, 429),
    dependencies=READ,
)
def gaps_route(kb: KBDep, principal: PrincipalDep, collection: str | None = None) -> GapList:
    """Unanswered, low-confidence and not-helpful queries of the last 90 days,
    clustered by intent, the most met (recency-weighted) first."""
    if collection is not None:
        readable(principal, collection)
    found = find_gaps(kb, readable=principal.readable_collections, collection=collection)
    return GapList(gaps=found)


@router.get(
    "/drafts",
    response_model=DraftList,
    responses=error_responses(401, 403, 422, 429),
    dependencies=READ,
)
def drafts_route(
    kb: KBDep,
    principal: PrincipalDep,
    collection: str | None = None,
    status: Annotated[DraftStatus | None, Query(description="Default: pending.")] = "pending",
) -> DraftList:
    """The review queue (or the drafts of another status), with the approval rate: accepted
    among the drafts accepted, rejected or expired."""
    if collection is not None:
        readable(principal, collection)
    within = principal.readable_collections
    drafts = list_drafts(kb, readable=within, collection=collection, status=status)
    stats = review_stats(kb, readable=within, collection=collection)
    return DraftList(drafts=drafts, approval_rate=stats.approval_rate, **asdict(stats))


@router.post(
    "/drafts",
    response_model=DraftPublic,
    status_code=201,
    responses=error_responses(401, 403, 404, 409, 422, 429),
    dependencies=WRITE,
)
def draft_route(body: DraftFromGap, kb: KBDep, principal: PrincipalDep) -> DraftPublic:
    """Draft a FAQ entry from a gap: its most typical query, and the item agents inserted and
    marked helpful (else an empty answer), redacted. 409 if one is pending for it."""
    gap = find_gap(kb, body.gap, readable=principal.readable_collections)
    if gap is None:
        raise NotFound("no gap {gap!r}: it may have been answered since", field="gap", gap=body.gap)
    return draft_from_gap(kb, gap, actor=principal.actor)


@router.get(
    "/drafts/{draft_id}",
    response_model=DraftPublic,
    responses=error_responses(401, 403, 404, 422, 429),
    dependencies=READ,
)
def show_draft_route(draft_id: str, kb: KBDep, principal: PrincipalDep) -> DraftPublic:
    """One draft, in any status."""
    return get_draft(kb, draft_id, readable=principal.readable_collections)


@router.patch(
    "/drafts/{draft_id}",
    response_model=DraftPublic,
    responses=error_responses(401, 403, 404, 409, 422, 429),
    dependencies=WRITE,
)
def edit_draft_route(
    draft_id: str, body: DraftEdit, kb: KBDep, principal: PrincipalDep
) -> DraftPublic:
    """Reword a pending draft; 409 once it is accepted, rejected or expired."""
    within = principal.readable_collections
    return edit_draft(kb, draft_id, question=body.question, answer=body.answer, readable=within,
                      actor=principal.actor)  # fmt: skip


@router.post(
    "/drafts/{draft_id}/accept",
    response_model=DraftPublic,
    responses=error_responses(401, 403, 404, 409, 422, 429),
    dependencies=WRITE,
)
def accept_route(
    draft_id: str, body: DraftAccept, kb: KBDep, principal: PrincipalDep
) -> DraftPublic:
    """Publish a pending draft (with these last edits) as its own FAQ document in
    ``collection`` (default: the draft's); searchable when the call returns. With ``pin``, the
    new answer is also pinned for the intents of the gap's queries (see ``pins``)."""
    if body.collection is not None:
        readable(principal, body.collection)
    return accept_draft(kb, draft_id, collection=body.collection, question=body.question,
                        answer=body.answer, readable=principal.readable_collections,
                        actor=principal.actor, pin=body.pin)  # fmt: skip


@router.post(
    "/drafts/{draft_id}/reject",
    response_model=DraftPublic,
    responses=error_responses(401, 403, 404, 409, 422, 429),
    dependencies=WRITE,
)
def reject_route(draft_id: str, kb: KBDep, principal: PrincipalDep) -> DraftPublic:
    """Take a pending draft off the queue; it never becomes a document."""
    within = principal.readable_collections
    return reject_draft(kb, draft_id, readable=within, actor=principal.actor)


@router.get(
    "/overlaps",
    response_model=OverlapList,
    responses=error_responses(401, 403, 422, 429),
    dependencies=READ,
)
def overlaps_route(
    kb: KBDep, principal: PrincipalDep, collection: str | None = None
) -> OverlapList:
    """FAQ entries and replies on one question: alike (merge them) or not (conflicts)."""
    where = collection_for(kb, principal, collection)
    found = find_overlaps(kb, where)
    return OverlapList(
        collection=where,
        duplicates=[o for o in found if o.kind == "duplicate"],
        conflicts=[o for o in found if o.kind == "conflict"],
    )
