"""Undoing an ingest whose index build failed (a full disk): the database goes back to what the
live index serves, so what the database says is live is still what searches answer from."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlmodel import col, delete, select

from kb.audit import SYSTEM_ACTOR, record
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.models import ChunkRecord, Document, DocumentVersion

log = logging.getLogger(__name__)


def undo_versions(
    kb: KnowledgeBase, stored: Sequence[tuple[str, int]], *, actor: str = SYSTEM_ACTOR
) -> None:
    """Remove each ``(document_id, version)`` this run stored, in one transaction; the document
    points at its previous version again, and one that had none is removed.

    Called while the collection's lock is still held. If the database cannot be written either,
    the failure is logged and the start-up freshness check rebuilds the index to match it.
    The audit log keeps the ``document.ingest`` entries and gains ``document.ingest_undone``.
    """
    if not stored:
        return
    try:
        with session_scope(kb.engine) as session:
            for document_id, number in stored:
                doc = session.get(Document, document_id)
                version = session.exec(
                    select(DocumentVersion).where(
                        DocumentVersion.document_id == document_id,
                        DocumentVersion.number == number,
                    )
                ).first()
                if doc is None or version is None or doc.current_version != number:
                    continue  # not the state this run left: leave it alone
                session.exec(delete(ChunkRecord).where(col(ChunkRecord.version_id) == version.id))
                session.delete(version)
                session.flush()
                record(session, actor=actor, action="document.ingest_undone", target=document_id,
                       detail={"version": number, "reason": "index build failed"})  # fmt: skip
                if number == 1:
                    session.delete(doc)
                else:
                    doc.current_version = number - 1
                    session.add(doc)
    except Exception:
        log.exception("could not undo the versions %s after a failed index build", stored)
        return
    log.warning("index build failed: undid %d new versions %s", len(stored), stored)
