"""When a document is due for review: its owner's interval counted from its last review or its
current version, whichever is later, so a new version resets the clock.

It sits at the root of ``kb/`` beside the models because documents (the console, the API),
retrieval (search hits) and assist (suggested answers) all ask it, and those rooms must not
import each other for it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.models import Document, DocumentVersion, as_utc, utcnow

MAX_REVIEW_INTERVAL_DAYS = 3650  # ten years: beyond that a review date means nothing


@dataclass(frozen=True)
class ReviewClock:
    """What decides a document's review date."""

    interval_days: int | None
    reviewed_at: datetime | None
    version_at: datetime | None  # when the current version was stored

    def due(self) -> date | None:
        """The day the next review is due, or None when the document has no interval."""
        if self.interval_days is None:
            return None
        moments = [as_utc(m) for m in (self.reviewed_at, self.version_at) if m is not None]
        if not moments:
            return None
        return max(moments).date() + timedelta(days=self.interval_days)

    def overdue(self, today: date | None = None) -> bool:
        """Past its due day ("last reviewed or updated + interval < today")."""
        due = self.due()
        return due is not None and due < (today or utcnow().date())


def review_clocks(
    session: Session, document_ids: Collection[str] | None = None
) -> dict[str, ReviewClock]:
    """The clock of each document that has an interval (of ``document_ids``, or of all)."""
    stmt = (
        select(
            Document.id,
            Document.review_interval_days,
            Document.reviewed_at,
            DocumentVersion.created_at,
        )
        .outerjoin(
            DocumentVersion,
            (col(DocumentVersion.document_id) == col(Document.id))
            & (col(DocumentVersion.number) == col(Document.current_version)),
        )
        .where(col(Document.review_interval_days).is_not(None))
    )
    if document_ids is not None:
        if not document_ids:
            return {}
        stmt = stmt.where(col(Document.id).in_(list(document_ids)))
    return {
        doc_id: ReviewClock(interval, reviewed, version_at)
        for doc_id, interval, reviewed, version_at in session.exec(stmt).all()
    }


def due_for_review(
    kb: KnowledgeBase, document_ids: Collection[str], today: date | None = None
) -> frozenset[str]:
    """Which of ``document_ids`` are overdue for review: their answers carry the mark."""
    if not document_ids:
        return frozenset()
    with session_scope(kb.engine) as session:
        clocks = review_clocks(session, set(document_ids))
    return frozenset(doc_id for doc_id, clock in clocks.items() if clock.overdue(today))
