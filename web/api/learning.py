"""Learning from feedback: the active adjustments with their evidence, resets, pins, proposals,
and the online check of learning (team-draft interleaving: which ranking agents preferred).

Reading needs `documents:read`, changing `documents:write` (a manager, or a CRM's key that
manages the collection's content); proposing an answer needs `feedback` (an agent). Every
path is limited to the caller's collections: another team's intents and pins are 404.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response

from kb.accounts.access import collection_for, readable
from kb.assist.redaction import redact
from kb.errors import Invalid
from kb.insight.analytics import MAX_DAYS, Period
from kb.insight.interleaving import interleaving
from kb.learning.overview import list_adjustments, reset
from kb.learning.pins import approve_pin, create_pin, delete_pin, list_pins, propose_pin
from kb.learning.schemas import (
    AdjustmentOut,
    InterleavingOut,
    PinBody,
    PinPublic,
    ProposalBody,
    ResetBody,
    ResetOut,
)
from web.auth import PrincipalDep, requires
from web.deps import KBDep
from web.errors import error_responses

router = APIRouter(prefix="/api/v1/learning", tags=["learning"])
READ, WRITE = [requires("documents:read")], [requires("documents:write")]
Collection = Annotated[str | None, Query(max_length=64, description="Only this collection.")]


@router.get(
    "/adjustments",
    response_model=list[AdjustmentOut],
    responses=error_responses(401, 403, 422, 429),
    dependencies=READ,
)
def learning_adjustments(
    kb: KBDep, principal: PrincipalDep, collection: Collection = None
) -> list[AdjustmentOut]:
    """Every answer agents' feedback has evidence on, per intent, with its adjustment of the
    fused score (0 while the safeguards hold it back), largest first."""
    if collection is not None:
        readable(principal, collection)
    return list_adjustments(kb, principal.readable_collections, collection)


@router.post(
    "/resets",
    status_code=201,
    response_model=ResetOut,
    responses=error_responses(401, 403, 404, 422, 429),
    dependencies=WRITE,
)
def learning_reset(body: ResetBody, kb: KBDep, principal: PrincipalDep) -> ResetOut:
    """Forget the evidence for an intent's answer (`item_id`), or for all its answers."""
    return reset(
        kb,
        readable=principal.readable_collections,
        intent_id=body.intent_id,
        item_id=body.item_id,
        actor=principal.actor,
    )


@router.get(
    "/pins",
    response_model=list[PinPublic],
    responses=error_responses(401, 403, 422, 429),
    dependencies=READ,
)
def learning_pins(
    kb: KBDep,
    principal: PrincipalDep,
    collection: Collection = None,
    status: Annotated[str | None, Query(pattern="^(active|proposed)$")] = None,
) -> list[PinPublic]:
    """Pins and agents' proposals, newest first; `active` says whether a pin leads now."""
    if collection is not None:
        readable(principal, collection)
    return list_pins(kb, principal.readable_collections, collection=collection, status=status)


@router.post(
    "/pins",
    status_code=201,
    response_model=PinPublic,
    responses=error_responses(401, 403, 404, 422, 429),
    dependencies=WRITE,
)
def learning_pin(body: PinBody, kb: KBDep, principal: PrincipalDep) -> PinPublic:
    """Pin an answer for an intent (by `intent_id`, or by a `query` of it): it leads that
    intent's queries until its document changes or the pin expires."""
    collection = collection_for(kb, principal, body.collection)
    return create_pin(
        kb,
        collection=collection,
        item_id=body.item_id,
        actor=principal.actor,
        intent_id=body.intent_id,
        logged_query=redact(body.query) if body.query else None,
        expires_in_days=body.expires_in_days,
    )


@router.post(
    "/pins/{pin_id}/approve",
    response_model=PinPublic,
    responses=error_responses(401, 403, 404, 422, 429),
    dependencies=WRITE,
)
def learning_approve(pin_id: str, kb: KBDep, principal: PrincipalDep) -> PinPublic:
    """Approve an agent's proposal: it becomes a pin."""
    return approve_pin(
        kb, readable=principal.readable_collections, pin_id=pin_id, actor=principal.actor
    )


@router.delete(
    "/pins/{pin_id}",
    status_code=204,
    responses=error_responses(401, 403, 404, 422, 429),
    dependencies=WRITE,
)
def learning_unpin(pin_id: str, kb: KBDep, principal: PrincipalDep) -> Response:
    """Remove a pin, or reject a proposal."""
    delete_pin(kb, readable=principal.readable_collections, pin_id=pin_id, actor=principal.actor)
    return Response(status_code=204)


@router.post(
    "/proposals",
    status_code=201,
    response_model=PinPublic,
    responses=error_responses(401, 403, 404, 422, 429),
    dependencies=[requires("feedback")],
)
def learning_propose(body: ProposalBody, kb: KBDep, principal: PrincipalDep) -> PinPublic:
    """An agent's "this was the answer" for one of the suggestion's answers: a proposal a
    manager approves (or rejects) before it leads."""
    return propose_pin(
        kb,
        readable=principal.readable_collections,
        suggestion_id=body.suggestion_id,
        item_id=body.item_id,
        actor=principal.actor,
    )


@router.get(
    "/interleaving",
    response_model=list[InterleavingOut],
    responses=error_responses(401, 403, 422, 429),
    dependencies=READ,
)
def learning_interleaving(
    kb: KBDep,
    principal: PrincipalDep,
    collection: Collection = None,
    days: Annotated[int, Query(ge=1, le=MAX_DAYS, description="The last days, today in.")] = 30,
    start: Annotated[date | None, Query(description="First day (UTC); with `end`.")] = None,
    end: Annotated[date | None, Query(description="Last day (UTC), included.")] = None,
) -> list[InterleavingOut]:
    """Per collection, the suggestions that interleaved the learned ranking (A) with the
    unlearned one (B) (`KB_LEARNING_INTERLEAVE`), wins of each by what agents used, ties, the
    preference Δ and a sign test's p: the online check that learning helps."""
    if collection is not None:
        readable(principal, collection)
    if (start is None) != (end is None):
        raise Invalid(
            "give both start and end, or neither", field="start" if start is None else "end"
        )
    period = Period(start, end) if start and end else Period.last(days)
    return interleaving(kb, period, collection=collection, readable=principal.readable_collections)
