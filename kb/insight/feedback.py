"""What agents did with a suggestion: stored against it, feeding the analytics."""

from __future__ import annotations

from kb.assist.redaction import redact
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.errors import Invalid, NotFound
from kb.insight.schemas import MAX_COMMENT, FeedbackPublic
from kb.models import FeedbackRecord, SuggestionLog
from kb.types import FEEDBACK_ACTIONS


def record_feedback(
    kb: KnowledgeBase,
    *,
    suggestion_id: str,
    item_id: str,
    action: str,
    comment: str | None = None,
    actor: str | None = None,
) -> FeedbackPublic:
    """Store what the agent did with an item; raises Invalid or NotFound naming the field."""
    if action not in FEEDBACK_ACTIONS:
        actions = ", ".join(FEEDBACK_ACTIONS)
        raise Invalid(
            "action must be one of {actions}, not {action!r}",
            field="action",
            actions=actions,
            action=action,
        )
    if not item_id.strip():
        raise Invalid("item_id is empty", field="item_id")
    if comment is not None and len(comment) > MAX_COMMENT:
        raise Invalid(
            "comment is over {MAX_COMMENT} characters", field="comment", MAX_COMMENT=MAX_COMMENT
        )
    with session_scope(kb.engine) as session:
        if session.get(SuggestionLog, suggestion_id) is None:
            raise NotFound(
                "no suggestion with id {suggestion_id!r}",
                field="suggestion_id",
                suggestion_id=suggestion_id,
            )
        record = FeedbackRecord(
            suggestion_id=suggestion_id,
            item_id=item_id[:128],
            action=action,
            comment=redact(comment) if comment else None,
            actor=actor,
        )
        session.add(record)
        session.flush()
        return FeedbackPublic.model_validate(record.model_dump())


def suggestion_collection(kb: KnowledgeBase, suggestion_id: str) -> str | None:
    """The collection a suggestion answered from, or None for an unknown id."""
    with session_scope(kb.engine) as session:
        row = session.get(SuggestionLog, suggestion_id)
        return row.collection if row is not None else None
