"""The panel's feedback (``POST /assist/feedback``): copy, insert and thumbs up/down."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel

from kb.errors import KBError, NotFound
from kb.insight.feedback import record_feedback, suggestion_collection
from kb.types import RATINGS
from web.auth import PrincipalDep
from web.deps import KBDep
from web.i18n import localize
from web.pages.assist import NAMES
from web.rendering import HtmxDep, RendererDep

router = APIRouter(prefix="/assist", include_in_schema=False)
# Set on the refused-rating fragment: app.js swaps it in place of the buttons although its
# status is an error, and treats any other error answer (429, CSRF) by its status.
FEEDBACK_REFUSED = "X-Feedback-Refused"


class FeedbackForm(BaseModel):
    suggestion_id: str
    item_id: str
    action: str
    comment: str = ""


@router.post("/feedback", name="assist_feedback")
def assist_feedback(
    request: Request,
    kb: KBDep,
    principal: PrincipalDep,
    render: RendererDep,
    htmx: HtmxDep,
    form: Annotated[FeedbackForm, Form()],
) -> Response:
    """Stored through the same service as the API; a refusal is shown beside the item."""
    comment = form.comment.strip() or None
    try:
        collection = suggestion_collection(kb, form.suggestion_id)
        if collection is not None and not principal.may_read(collection):
            raise NotFound(
                "no suggestion with id {suggestion_id!r}",
                field="suggestion_id",
                suggestion_id=form.suggestion_id,
            )
        record_feedback(
            kb,
            suggestion_id=form.suggestion_id,
            item_id=form.item_id,
            action=form.action,
            comment=comment,
            actor=principal.actor,
        )
    except KBError as exc:
        if not htmx.is_htmx:
            raise
        # The rating buttons again, with why it was not recorded: the agent can try again
        # and never takes a refusal for a recorded rating.
        refused = {**form.model_dump(), "reason": localize(request, exc.message)}
        return render.render(
            request,
            "assist.html",
            {"refused": refused},
            block="rate_refused",
            status_code=exc.status_code,
            headers={FEEDBACK_REFUSED: "1"},
        )
    if not htmx.is_htmx:
        return RedirectResponse(request.app.url_path_for("assist"), status_code=303)
    if form.action not in RATINGS:
        return Response(status_code=204)
    rated = {"item_id": form.item_id, "action": form.action, "comment": comment}
    return render.render(request, "assist.html", {"rated": rated, "names": NAMES}, block="rated")
