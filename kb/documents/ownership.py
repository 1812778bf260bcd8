"""Who owns a document and how often it is reviewed; marking it reviewed. Every change audited.

Owner and interval change no indexed text, so nothing here re-indexes. When a document is due
is ``kb.review``'s job; the overdue list is ``list_documents(DocumentQuery(overdue=True))``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from kb.audit import SYSTEM_ACTOR, record
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.documents.catalog import document_row, get_document
from kb.documents.schemas import DocumentDetail
from kb.errors import Invalid
from kb.models import UserAccount, utcnow
from kb.review import MAX_REVIEW_INTERVAL_DAYS

OWNER_ROLES = ("manager", "admin")  # an agent cannot mark a document reviewed


@dataclass(frozen=True)
class OwnershipEdit:
    """``None`` keeps a value; ``owner=""`` and ``interval_days=0`` clear it."""

    owner: str | None = None  # the owner's e-mail
    interval_days: int | None = None


def set_ownership(
    kb: KnowledgeBase, document_id: str, edit: OwnershipEdit, *, actor: str = SYSTEM_ACTOR
) -> DocumentDetail:
    """Save the owner and review interval; returns the document without its chunks."""
    interval = edit.interval_days
    if interval is not None and not 0 <= interval <= MAX_REVIEW_INTERVAL_DAYS:
        raise Invalid(
            "review_interval_days must be between 1 and {max} days, not {value}",
            field="review_interval_days",
            max=MAX_REVIEW_INTERVAL_DAYS,
            value=interval,
        )
    with session_scope(kb.engine) as session:
        doc = document_row(session, document_id)
        changed: dict[str, object] = {}
        if edit.owner is not None:
            owner = _owner(session, edit.owner, doc.collection) if edit.owner.strip() else None
            if owner is None or owner.id != doc.owner_id:
                doc.owner_id = owner.id if owner else None
                changed["owner"] = owner.email if owner else None
        if interval is not None and (interval or None) != doc.review_interval_days:
            doc.review_interval_days = interval or None
            changed["review_interval_days"] = interval or None
        if changed:  # a form saved as it was is no change
            session.add(doc)
            record(session, actor=actor, action="document.ownership", target=doc.id,
                   detail={"filename": doc.source_name, **changed})  # fmt: skip
    return get_document(kb, document_id, with_chunks=False)


def mark_reviewed(
    kb: KnowledgeBase, document_id: str, *, actor: str = SYSTEM_ACTOR, now: datetime | None = None
) -> DocumentDetail:
    """Record that a manager checked the document as it is: its review clock starts again."""
    with session_scope(kb.engine) as session:
        doc = document_row(session, document_id)
        doc.reviewed_at = now or utcnow()
        session.add(doc)
        record(session, actor=actor, action="document.reviewed", target=doc.id,
               detail={"filename": doc.source_name, "version": doc.current_version})  # fmt: skip
    return get_document(kb, document_id, with_chunks=False)


def _owner(session: Session, email: str, collection: str) -> UserAccount:
    # Compared as accounts store e-mails (trimmed, lower-cased); no match is the error.
    user = session.exec(
        select(UserAccount).where(UserAccount.email == email.strip().lower())
    ).first()
    if user is None:
        raise Invalid("no user {email}", field="owner", email=email.strip()[:254])
    if user.disabled or user.role not in OWNER_ROLES:
        raise Invalid(
            "{email} cannot own documents: an owner is an enabled manager or admin",
            field="owner",
            email=user.email,
        )
    if user.collections and collection not in user.collections:
        raise Invalid(
            "{email} may not read the collection {collection!r}, so cannot own its documents",
            field="owner",
            email=user.email,
            collection=collection,
        )
    return user
