"""What agents did with a suggestion: stored against it, feeding the analytics."""

from __future__ import annotations

from typing import Any

from kb.assist.redaction import redact
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.errors import Invalid, NotFound
from kb.models import FeedbackRecord, SuggestionLog, as_public
from kb.types import FEEDBACK_ACTIONS

ACTIONS = FEEDBACK_ACTIONS
MAX_COMMENT = 2000


def record_feedback(
    kb: KnowledgeBase,
    *,
    suggestion_id: str,
    item_id: str,
    action: str,
    comment: str | None = None,
) -> dict[str, Any]:
    if action not in ACTIONS:
        raise Invalid(f"action must be one of {', '.join(ACTIONS)}, not {action!r}", field="action")
    if not item_id.strip():
        raise Invalid("item_id is empty", field="item_id")
    if comment is not None and len(comment) > MAX_COMMENT:
        raise Invalid(f"comment is over {MAX_COMMENT} characters", field="comment")
    with session_scope(kb.engine) as session:
        if session.get(SuggestionLog, suggestion_id) is None:
            raise NotFound(f"no suggestion with id {suggestion_id!r}", field="suggestion_id")
        record = FeedbackRecord(
            suggestion_id=suggestion_id,
            item_id=item_id[:128],
            action=action,
            comment=redact(comment) if comment else None,
        )
        session.add(record)
    return as_public(record)
