"""What agents did with a suggestion: stored against it, feeding the analytics."""

from __future__ import annotations

from dataclasses import dataclass

from kb.assist.redaction import redact
from kb.assist.suggest import ESCALATION_REPLY_ID
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.errors import Invalid, NotFound
from kb.insight.schemas import MAX_COMMENT, FeedbackPublic
from kb.models import FeedbackRecord, SuggestionLog
from kb.types import FEEDBACK_ACTIONS, ItemKind


def record_feedback(
    kb: KnowledgeBase,
    *,
    suggestion_id: str,
    item_id: str,
    action: str,
    comment: str | None = None,
    actor: str | None = None,
) -> FeedbackPublic:
    """Store what the agent did with an item of that suggestion; raises Invalid or NotFound
    naming the field.

    Only an item the suggestion offered is accepted: analytics show the text of rated items to
    whoever may read the suggestion's collection, so any other id (another team's chunk) would
    publish it to them."""
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
        row = session.get(SuggestionLog, suggestion_id)
        if row is None:
            raise NotFound(
                "no suggestion with id {suggestion_id!r}",
                field="suggestion_id",
                suggestion_id=suggestion_id,
            )
        context = item_context(row, item_id)
        if context is None:
            raise Invalid(
                "item_id {item_id!r} is not an answer, reply or escalation reply that "
                "suggestion {suggestion_id!r} offered",
                field="item_id",
                item_id=item_id[:128],
                suggestion_id=suggestion_id,
            )
        record = FeedbackRecord(
            suggestion_id=suggestion_id,
            item_id=item_id[:128],
            action=action,
            comment=redact(comment) if comment else None,
            actor=actor,
            item_kind=context.kind,
            rank=context.rank,
            query=row.query,
            collection=row.collection,
        )
        session.add(record)
        session.flush()
        return FeedbackPublic.model_validate(record.model_dump())


@dataclass(frozen=True)
class ItemContext:
    kind: ItemKind | None  # None: an item of an overwritten draft (its kind is not logged)
    rank: int | None  # 1-based, among the suggestion's items of that kind


def item_context(row: SuggestionLog, item_id: str) -> ItemContext | None:
    """Where a logged suggestion showed ``item_id``, or None when it did not offer it.

    The log keeps answers and replies in the order the API returned them and the panel shows
    them (its "more answers" fold keeps that order), so the position in the log is the rank as
    shown; the escalation reply is shown alone. The items of drafts the suggestion overwrote,
    which the panel may still have shown (``draft`` answer entries, see
    kb.assist.suggest._log), are accepted without a rank: they rank nothing now."""
    answers = [str(answer.get("id")) for answer in row.answers if not answer.get("draft")]
    if item_id in answers:
        return ItemContext("answer", answers.index(item_id) + 1)
    if item_id in row.replies:
        return ItemContext("reply", row.replies.index(item_id) + 1)
    if item_id == ESCALATION_REPLY_ID and row.escalation.get("rule_ids"):
        return ItemContext("escalation_reply", 1)
    drafts = {str(answer.get("id")) for answer in row.answers if answer.get("draft")}
    if item_id in drafts:
        kind: ItemKind | None = "escalation_reply" if item_id == ESCALATION_REPLY_ID else None
        return ItemContext(kind, None)
    return None


def suggestion_collection(kb: KnowledgeBase, suggestion_id: str) -> str | None:
    """The collection a suggestion answered from, or None for an unknown id."""
    with session_scope(kb.engine) as session:
        row = session.get(SuggestionLog, suggestion_id)
        return row.collection if row is not None else None
