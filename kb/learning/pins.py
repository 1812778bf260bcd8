"""Pinned answers: a manager pins an answer for an intent, or approves an agent's proposal
("this was the answer"). A pin leads its intent's queries while its document is at the pinned
version and until it expires (kb/learning/adjustments.py applies it). Every change is audited.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta

from sqlmodel import Session, col, select

from kb.audit import record
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.errors import Invalid, NotFound
from kb.learning import query_vector
from kb.learning.adjustments import refresh
from kb.learning.intents import assign_intent, known_intent
from kb.learning.overview import intent_for, intent_labels, item_info
from kb.learning.schemas import PinPublic
from kb.learning_models import LearningPin
from kb.models import ChunkRecord, Document, DocumentVersion, SuggestionLog, as_utc, utcnow


def list_pins(
    kb: KnowledgeBase,
    readable: Collection[str] | None,
    *,
    collection: str | None = None,
    status: str | None = None,
) -> list[PinPublic]:
    """Pins and proposals in the caller's collections (or the one named), newest first."""
    with session_scope(kb.engine) as session:
        query = select(LearningPin).order_by(
            col(LearningPin.created_at).desc(), col(LearningPin.id)
        )
        if collection is not None:
            query = query.where(LearningPin.collection == collection)
        if status is not None:
            query = query.where(LearningPin.status == status)
        rows = [
            r for r in session.exec(query).all() if readable is None or r.collection in readable
        ]
        current = dict(
            session.exec(
                select(Document.id, Document.current_version).where(
                    col(Document.id).in_({r.document_id for r in rows})
                )
            ).all()
        )
        return [_public(kb, r, current.get(r.document_id)) for r in rows]


def create_pin(
    kb: KnowledgeBase,
    *,
    collection: str,
    item_id: str,
    actor: str,
    intent_id: str | None = None,
    logged_query: str | None = None,
    expires_in_days: int | None = None,
) -> PinPublic:
    """Pin ``item_id`` (an answer of ``collection``'s current documents) for an intent, named
    by id or by a query of it (as logged: redacted). The caller has checked the collection."""
    if intent_id is None and not (logged_query or "").strip():
        raise Invalid("name the intent: intent_id or query", field="intent_id")
    if intent_id is None:
        assert logged_query is not None
        vector = query_vector(kb, logged_query, embed=True)
        intent_id = assign_intent(kb, collection, logged_query, vector)
        if intent_id is None:  # nothing to embed in it (a query of spaces and symbols)
            raise Invalid("query {query!r} names no intent", field="query", query=logged_query)
    with session_scope(kb.engine) as session:
        intent = intent_for(session, intent_id, {collection})
        document_id, version = _current_answer(session, collection, item_id)
        pin = LearningPin(
            collection=collection,
            intent_id=intent.id,
            item_id=item_id,
            document_id=document_id,
            document_version=version,
            status="active",
            created_by=actor,
            approved_by=actor,
            expires_at=utcnow() + timedelta(days=expires_in_days) if expires_in_days else None,
        )
        session.add(pin)
        record(
            session,
            actor=actor,
            action="learning.pin",
            target=f"pin:{pin.id}",
            detail={"collection": collection, "intent": intent.label[:200], "item": item_id},
        )
        session.flush()
        out = _public(kb, pin, version)
    refresh(kb, collection)
    return out


def propose_pin(
    kb: KnowledgeBase,
    *,
    readable: Collection[str] | None,
    suggestion_id: str,
    item_id: str,
    actor: str,
) -> PinPublic:
    """An agent's "this was the answer" for a suggestion's query: a pin waiting for a manager."""
    with session_scope(kb.engine) as session:
        row = session.get(SuggestionLog, suggestion_id)
        if row is None or (readable is not None and row.collection not in readable):
            raise NotFound(
                "no suggestion with id {suggestion_id!r}",
                field="suggestion_id",
                suggestion_id=suggestion_id,
            )
        offered = [str(a.get("id")) for a in row.answers if not a.get("draft")]
        if item_id not in offered:
            raise Invalid(
                "item_id {item_id!r} is not an answer suggestion {suggestion_id!r} offered",
                field="item_id",
                item_id=item_id,
                suggestion_id=suggestion_id,
            )
        collection, query = row.collection, row.query
    # Suggestions store no intent: the query is given its own now, as feedback's are.
    intent_id = known_intent(kb, collection, query) or assign_intent(
        kb, collection, query, query_vector(kb, query, embed=True)
    )
    if intent_id is None:  # nothing to embed in it (a query of spaces and symbols)
        raise Invalid("query {query!r} names no intent", field="suggestion_id", query=query)
    with session_scope(kb.engine) as session:
        document_id, version = _current_answer(session, collection, item_id)
        pending = session.exec(
            select(LearningPin).where(
                LearningPin.intent_id == intent_id, LearningPin.item_id == item_id
            )
        ).first()
        if pending is not None:  # already pinned or proposed: one row, not one per agent
            return _public(kb, pending, version)
        pin = LearningPin(
            collection=collection,
            intent_id=intent_id,
            item_id=item_id,
            document_id=document_id,
            document_version=version,
            status="proposed",
            created_by=actor,
        )
        session.add(pin)
        record(
            session,
            actor=actor,
            action="learning.propose",
            target=f"pin:{pin.id}",
            detail={"collection": collection, "item": item_id},
        )
        session.flush()
        return _public(kb, pin, version)


def approve_pin(
    kb: KnowledgeBase, *, readable: Collection[str] | None, pin_id: str, actor: str
) -> PinPublic:
    """A manager approves a proposal: from now on it is a pin."""
    with session_scope(kb.engine) as session:
        pin = _pin(session, pin_id, readable)
        if pin.status != "proposed":
            raise Invalid("pin {pin_id!r} is not a proposal", field="pin_id", pin_id=pin_id)
        pin.status, pin.approved_by = "active", actor
        session.add(pin)
        record(
            session,
            actor=actor,
            action="learning.approve",
            target=f"pin:{pin.id}",
            detail={"collection": pin.collection, "item": pin.item_id},
        )
        current = session.get(Document, pin.document_id)
        out = _public(kb, pin, current.current_version if current else None)
    refresh(kb, out.collection)
    return out


def delete_pin(
    kb: KnowledgeBase, *, readable: Collection[str] | None, pin_id: str, actor: str
) -> None:
    """Remove a pin, or reject a proposal."""
    with session_scope(kb.engine) as session:
        pin = _pin(session, pin_id, readable)
        collection = pin.collection
        record(
            session,
            actor=actor,
            action="learning.unpin",
            target=f"pin:{pin.id}",
            detail={"collection": collection, "item": pin.item_id, "status": pin.status},
        )
        session.delete(pin)
    refresh(kb, collection)


def _pin(session: Session, pin_id: str, readable: Collection[str] | None) -> LearningPin:
    pin = session.get(LearningPin, pin_id)
    if pin is None or (readable is not None and pin.collection not in readable):
        raise NotFound("no pin with id {pin_id!r}", field="pin_id", pin_id=pin_id)
    return pin


def _current_answer(session: Session, collection: str, item_id: str) -> tuple[str, int]:
    """The document and version of an answer of the collection's current documents."""
    found = session.exec(
        select(Document.id, DocumentVersion.number, Document.current_version)
        .select_from(ChunkRecord)
        .join(DocumentVersion, col(DocumentVersion.id) == col(ChunkRecord.version_id))
        .join(Document, col(Document.id) == col(ChunkRecord.document_id))
        .where(ChunkRecord.id == item_id, Document.collection == collection)
    ).first()
    if found is None or found[1] != found[2]:
        raise Invalid(
            "item_id {item_id!r} is no current answer of the collection {collection!r}",
            field="item_id",
            item_id=item_id,
            collection=collection,
        )
    return found[0], found[1]


def _public(kb: KnowledgeBase, pin: LearningPin, current_version: int | None) -> PinPublic:
    label = intent_labels(kb, [pin.intent_id]).get(pin.intent_id, "")
    about = item_info(kb, [pin.item_id]).get(pin.item_id)
    expired = pin.expires_at is not None and as_utc(pin.expires_at) <= utcnow()
    active = pin.status == "active" and not expired and current_version == pin.document_version
    return PinPublic(
        **pin.model_dump(), intent=label, title=about.title if about else "", active=active
    )
