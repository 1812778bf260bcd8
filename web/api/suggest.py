"""POST /api/v1/suggest and POST /api/v1/feedback."""

from __future__ import annotations

from fastapi import APIRouter

from kb.accounts.access import collection_for
from kb.assist.schemas import SuggestBody, SuggestResponse
from kb.assist.suggest import input_from, suggest
from kb.errors import NotFound
from kb.insight.feedback import record_feedback, suggestion_collection
from kb.insight.schemas import FeedbackBody, FeedbackPublic
from web.auth import PrincipalDep, requires
from web.deps import KBDep
from web.errors import error_responses

router = APIRouter(prefix="/api/v1", tags=["suggest"])


@router.post(
    "/suggest",
    response_model=SuggestResponse,
    responses=error_responses(401, 403, 404, 409, 422, 429),
    dependencies=[requires("suggest")],
)
def suggest_route(body: SuggestBody, kb: KBDep, principal: PrincipalDep) -> SuggestResponse:
    """Answers with citations, filled scripted replies, escalation and handling tier."""
    collection = collection_for(kb, principal, body.collection)
    body = body.model_copy(update={"collection": collection})
    return suggest(kb, input_from(body, actor=principal.actor))


@router.post(
    "/feedback",
    status_code=201,
    response_model=FeedbackPublic,
    responses=error_responses(401, 403, 404, 422, 429),
    dependencies=[requires("feedback")],
)
def feedback_route(body: FeedbackBody, kb: KBDep, principal: PrincipalDep) -> FeedbackPublic:
    """Record what the agent did with a suggested item.

    Only an item that suggestion offered is accepted (else 422). The stored event answers with
    the context it was used in, taken from the suggestion: `item_kind`, `rank` (1-based, as
    shown among the items of its kind), `query` (as searched, redacted), `collection` and
    `actor` (the caller)."""
    collection = suggestion_collection(kb, body.suggestion_id)
    if collection is not None and not principal.may_read(collection):
        # Another team's suggestion does not exist for this caller: the same 404 as unknown.
        message = f"no suggestion with id {body.suggestion_id!r}"
        raise NotFound(message, field="suggestion_id")
    return record_feedback(
        kb,
        suggestion_id=body.suggestion_id,
        item_id=body.item_id,
        action=body.action,
        comment=body.comment,
        actor=principal.actor,
    )
