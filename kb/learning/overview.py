"""What a knowledge manager sees and undoes: every active adjustment with its evidence, resets.

Collections are the unit of access: callers pass the collections they may read (None: all),
and an intent of another collection is unknown to them, by name or by id.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sqlmodel import Session, col, select

from kb.audit import record
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.errors import NotFound
from kb.learning.adjustments import model, refresh
from kb.learning.schemas import AdjustmentOut, ResetOut
from kb.learning_models import LearningIntent, LearningReset
from kb.models import ChunkRecord, Document, FeedbackRecord


@dataclass(frozen=True)
class ItemInfo:
    title: str
    document_id: str
    collection: str


def learned_collections(kb: KnowledgeBase, readable: Collection[str] | None) -> list[str]:
    """The collections with stored intents, or feedback on answers that will give its queries
    theirs, that the caller may read, sorted."""
    with session_scope(kb.engine) as session:
        names: set[str | None] = set(
            session.exec(select(LearningIntent.collection).distinct()).all()
        )
        names |= set(
            session.exec(
                select(FeedbackRecord.collection)
                .where(FeedbackRecord.item_kind == "answer", col(FeedbackRecord.rank).is_not(None))
                .distinct()
            ).all()
        )
    return sorted(c for c in names if c and (readable is None or c in readable))


def list_adjustments(
    kb: KnowledgeBase, readable: Collection[str] | None, collection: str | None = None
) -> list[AdjustmentOut]:
    """Every answer with evidence in the caller's collections (or the one named), the largest
    adjustments first; those below the safeguards show an adjustment of 0."""
    names = learned_collections(kb, readable)
    if collection is not None:
        names = [c for c in names if c == collection]
    out: list[AdjustmentOut] = []
    for name in names:
        learned = model(kb, name)
        labels = intent_labels(kb, {e.intent_id for e in learned.evidence})
        info = item_info(kb, {e.item_id for e in learned.evidence})
        for e in learned.evidence:
            held = learned.versions.get(e.item_id)
            about = info.get(e.item_id)
            if held is None or about is None:
                continue
            out.append(
                AdjustmentOut(
                    collection=name,
                    intent_id=e.intent_id,
                    intent=labels.get(e.intent_id, ""),
                    item_id=e.item_id,
                    title=about.title,
                    document_id=held.document_id,
                    document_version=held.version,
                    adjustment=round(
                        learned.adjustments.get(e.intent_id, {}).get(e.item_id, 0.0), 4
                    ),
                    score=round(e.score, 4),
                    clicks=round(e.clicks, 3),
                    rejections=round(e.rejections, 3),
                    expected=round(e.expected, 3),
                    impressions=round(e.impressions, 3),
                    agents=e.agents,
                    top_agent_share=round(e.top_agent_share, 3),
                    events=e.events,
                    last_event_at=e.last_event_at,
                )
            )
    out.sort(key=lambda a: (-abs(a.adjustment), -a.events, a.collection, a.intent_id, a.item_id))
    return out


def reset(
    kb: KnowledgeBase,
    *,
    readable: Collection[str] | None,
    intent_id: str,
    item_id: str | None = None,
    actor: str,
) -> ResetOut:
    """Forget the evidence gathered so far for an intent's answer (every answer: ``item_id``
    None); recorded in the audit log. An intent the caller may not read is 404."""
    with session_scope(kb.engine) as session:
        intent = intent_for(session, intent_id, readable)
        row = LearningReset(
            collection=intent.collection, intent_id=intent.id, item_id=item_id, actor=actor
        )
        session.add(row)
        record(
            session,
            actor=actor,
            action="learning.reset",
            target=f"intent:{intent.id}" + (f" item:{item_id}" if item_id else ""),
            detail={"collection": intent.collection, "intent": intent.label[:200]},
        )
        session.flush()
        out = ResetOut(
            collection=row.collection, intent_id=row.intent_id, item_id=row.item_id, at=row.at
        )
    refresh(kb, out.collection)
    return out


def intent_for(
    session: Session, intent_id: str, readable: Collection[str] | None
) -> LearningIntent:
    """The stored intent of that id in a readable collection; else 404 (the same words)."""
    intent = session.get(LearningIntent, intent_id)
    if intent is None or (readable is not None and intent.collection not in readable):
        raise NotFound("no intent with id {intent_id!r}", field="intent_id", intent_id=intent_id)
    return intent


def intent_labels(kb: KnowledgeBase, ids: Iterable[str]) -> dict[str, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    with session_scope(kb.engine) as session:
        rows = session.exec(
            select(LearningIntent.id, LearningIntent.label).where(
                col(LearningIntent.id).in_(wanted)
            )
        ).all()
    return dict(rows)


def item_info(kb: KnowledgeBase, ids: Iterable[str]) -> dict[str, ItemInfo]:
    """Each answer's title, document and collection."""
    wanted = set(ids)
    if not wanted:
        return {}
    with session_scope(kb.engine) as session:
        rows = session.exec(
            select(ChunkRecord, Document.title, Document.collection)
            .join(Document, col(Document.id) == col(ChunkRecord.document_id))
            .where(col(ChunkRecord.id).in_(wanted))
        ).all()
        return {
            chunk.id: ItemInfo(
                chunk.question
                or chunk.title
                or (chunk.heading_path[-1] if chunk.heading_path else doc_title),
                chunk.document_id,
                collection,
            )
            for chunk, doc_title, collection in rows
        }
