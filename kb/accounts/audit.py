"""The audit log: who changed what, when. Append-only: nothing here updates or deletes a row.

Every service that changes users, keys, documents, replies, rules or vocabulary takes an
``actor`` and records here inside its own transaction. Actors are ``user:<email>`` and
``key:<prefix>`` (``Principal.actor``), ``cli`` for the ``kb`` command, and ``SYSTEM_ACTOR`` for
what the application does by itself (an evaluation's scratch ingest, a caller that names nobody):
a service always records, so no change goes unlogged because a caller forgot to say who.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from kb.accounts.schemas import AuditEntryPublic
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.models import AuditEntry, utcnow

SYSTEM_ACTOR = "system"


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str,
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> None:
    """Add an entry inside the caller's transaction, so the change and its record land together."""
    session.add(
        AuditEntry(
            actor=actor[:300], action=action, target=target[:300], detail=detail or {},
            at=now or utcnow(),
        )
    )  # fmt: skip


def list_audit(
    kb: KnowledgeBase,
    *,
    limit: int = 100,
    action: str | None = None,
    actor: str | None = None,
    offset: int = 0,
) -> list[AuditEntryPublic]:
    """The newest entries first, ``offset`` of them skipped (for pages)."""
    with session_scope(kb.engine) as session:
        query = select(AuditEntry).order_by(col(AuditEntry.id).desc())
        if action:
            query = query.where(AuditEntry.action == action)
        if actor:
            query = query.where(AuditEntry.actor == actor)
        query = query.offset(max(0, offset)).limit(max(1, limit))
        return [AuditEntryPublic.of(row) for row in session.exec(query)]
