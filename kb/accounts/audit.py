"""The audit log read for administrators, newest first. Writers record through ``kb/audit.py``."""

from __future__ import annotations

from sqlmodel import col, select

from kb.accounts.schemas import AuditEntryPublic
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.models import AuditEntry


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
