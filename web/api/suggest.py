"""POST /api/v1/suggest and POST /api/v1/feedback."""

from __future__ import annotations

from fastapi import APIRouter

from kb.assist.schemas import SuggestBody, SuggestResponse
from kb.assist.suggest import input_from, suggest
from kb.insight.feedback import record_feedback
from kb.insight.schemas import FeedbackBody, FeedbackPublic
from web.deps import KBDep
from web.errors import error_responses

router = APIRouter(prefix="/api/v1", tags=["suggest"])


@router.post("/suggest", response_model=SuggestResponse, responses=error_responses(404, 409, 422))
def suggest_route(body: SuggestBody, kb: KBDep) -> SuggestResponse:
    """Answers with citations, filled scripted replies, escalation and handling tier."""
    return suggest(kb, input_from(body))


@router.post(
    "/feedback", status_code=201, response_model=FeedbackPublic, responses=error_responses(404, 422)
)
def feedback_route(body: FeedbackBody, kb: KBDep) -> FeedbackPublic:
    """Record what the agent did with a suggested item."""
    return record_feedback(
        kb,
        suggestion_id=body.suggestion_id,
        item_id=body.item_id,
        action=body.action,
        comment=body.comment,
    )
