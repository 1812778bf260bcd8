"""Feedback on a suggested item, as the API and the panel send it and as it is stored."""

from __future__ import annotations

from pydantic import Field

from kb.models import FeedbackBase
from kb.types import FeedbackAction, ItemKind, Strict

MAX_COMMENT = 2000


class FeedbackBody(Strict):
    suggestion_id: str = Field(min_length=1, max_length=64)
    item_id: str = Field(min_length=1, max_length=128)
    action: FeedbackAction
    comment: str | None = Field(None, max_length=MAX_COMMENT)


class FeedbackPublic(FeedbackBase):
    """A recorded event with the context it happened in (see ``FeedbackBase``)."""

    id: str
    item_kind: ItemKind | None = Field(
        None, description="What the item was in the suggestion: answer, reply or escalation_reply."
    )
