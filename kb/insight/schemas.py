"""Feedback on a suggested item, as the API and the panel send it."""

from __future__ import annotations

from pydantic import Field

from kb.types import FeedbackAction, Strict


class FeedbackBody(Strict):
    suggestion_id: str = Field(min_length=1, max_length=64)
    item_id: str = Field(min_length=1, max_length=128)
    action: FeedbackAction
    comment: str | None = Field(None, max_length=2000)
