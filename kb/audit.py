"""Writing the audit log: who changed what, when. Append-only: nothing here updates or deletes rows.

Every service that changes users, keys, documents, replies, rules or vocabulary takes an
``actor`` and records here inside its own transaction. Actors are ``user:<email>`` and
``key:<prefix>`` (``Principal.actor``), ``cli`` for the ``kb`` command, and ``SYSTEM_ACTOR`` for
what the application does by itself (an evaluation's scratch ingest, a caller that names nobody):
a service always records, so no change goes unlogged because a caller forgot to say who.

It sits at the root of ``kb/`` beside the models because every room writes it; reading it for
administrators (``list_audit``) is ``kb/accounts/audit.py``'s job.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

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
