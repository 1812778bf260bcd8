"""POST /api/v1/suggest and POST /api/v1/feedback."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from kb.conversation import Turn
from kb.feedback import record_feedback
from kb.suggest import SuggestInput, suggest
from web.api.schemas import FeedbackBody, SuggestBody, SuggestResponse
from web.deps import KBDep

router = APIRouter(prefix="/api/v1", tags=["suggest"])


def to_input(body: SuggestBody) -> SuggestInput:
    return SuggestInput(
        conversation=[Turn(role=t.role, text=t.text) for t in body.conversation],
        customer=body.customer,
        collection=body.collection,
        filters=body.filters.to_search_filters(),
        display_script=body.display_script,
        limit=body.limit,
    )


@router.post("/suggest", response_model=SuggestResponse)
def suggest_route(body: SuggestBody, kb: KBDep) -> dict[str, Any]:
    """Answers with citations, filled scripted replies, escalation and handling tier."""
    return suggest(kb, to_input(body))


@router.post("/feedback", status_code=201)
def feedback_route(body: FeedbackBody, kb: KBDep) -> dict[str, Any]:
    """Record what the agent did with a suggested item."""
    return record_feedback(
        kb,
        suggestion_id=body.suggestion_id,
        item_id=body.item_id,
        action=body.action,
        comment=body.comment,
    )
