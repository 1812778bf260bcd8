"""Rows that do not hang together: chunks, versions and documents that lost their other half.

Ingestion writes a version and its chunks in one transaction, so none of these should exist;
they come from a database restored by hand, edited, or written by a bug. A repair only removes
what nothing can reach (and no search can serve) or points a document at a version it has.
"""

from __future__ import annotations

from sqlalchemy import and_, func
from sqlmodel import Session, col, select

from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.maintenance.schemas import Finding
from kb.models import ChunkRecord, Document, DocumentVersion


def check_database(kb: KnowledgeBase, *, repair: bool) -> list[Finding]:
    """Every orphan or dangling row, repaired in one transaction when ``repair``."""
    with session_scope(kb.engine) as session:
        findings = [
            *_orphan_versions(session, repair),
            *_orphan_chunks(session, repair),
            *_mismatched_chunks(session, repair),
            *_missing_current_versions(session, repair),
            *_partial_versions(session),
        ]
    return findings


def _orphan_versions(session: Session, repair: bool) -> list[Finding]:
    rows = session.exec(
        select(DocumentVersion)
        .outerjoin(Document, col(Document.id) == col(DocumentVersion.document_id))
        .where(col(Document.id).is_(None))
    ).all()
    findings = []
    for version in rows:
        finding = Finding(
            kind="orphan-version",
            subject=f"version {version.id}",
            detail=f"version {version.number} of document {version.document_id}, which is gone",
            repairable=True,
        )
        if repair:
            chunks = session.exec(select(ChunkRecord).where(ChunkRecord.version_id == version.id))
            for chunk in chunks:
                session.delete(chunk)
            session.flush()
            session.delete(version)
            session.flush()
            finding.repaired = "deleted the version and its chunks"
        findings.append(finding)
    return findings


def _orphan_chunks(session: Session, repair: bool) -> list[Finding]:
    rows = session.exec(
        select(ChunkRecord)
        .outerjoin(DocumentVersion, col(DocumentVersion.id) == col(ChunkRecord.version_id))
        .where(col(DocumentVersion.id).is_(None))
    ).all()
    findings = []
    for chunk in rows:
        finding = Finding(
            kind="orphan-chunk",
            subject=f"chunk {chunk.id}",
            detail=f"chunk {chunk.ordinal} of version {chunk.version_id}, which is gone",
            repairable=True,
        )
        if repair:
            session.delete(chunk)
            finding.repaired = "deleted the chunk"
        findings.append(finding)
    session.flush()
    return findings


def _mismatched_chunks(session: Session, repair: bool) -> list[Finding]:
    rows = session.exec(
        select(ChunkRecord, DocumentVersion)
        .join(DocumentVersion, col(DocumentVersion.id) == col(ChunkRecord.version_id))
        .where(col(ChunkRecord.document_id) != col(DocumentVersion.document_id))
    ).all()
    findings = []
    for chunk, version in rows:
        finding = Finding(
            kind="chunk-document-mismatch",
            subject=f"chunk {chunk.id}",
            detail=f"says document {chunk.document_id}, its version belongs to "
            f"{version.document_id}",
            repairable=True,
        )
        if repair:
            chunk.document_id = version.document_id
            session.add(chunk)
            finding.repaired = f"set its document to {version.document_id}"
        findings.append(finding)
    session.flush()
    return findings


def _missing_current_versions(session: Session, repair: bool) -> list[Finding]:
    current = and_(
        col(DocumentVersion.document_id) == col(Document.id),
        col(DocumentVersion.number) == col(Document.current_version),
    )
    rows = session.exec(
        select(Document)
        .outerjoin(DocumentVersion, current)
        .where(col(DocumentVersion.id).is_(None))
    ).all()
    findings = []
    for doc in rows:
        newest = session.exec(
            select(func.max(DocumentVersion.number)).where(DocumentVersion.document_id == doc.id)
        ).one()
        finding = Finding(
            kind="missing-current-version",
            subject=f"document {doc.id}",
            detail=f"{doc.source_name} in {doc.collection} names version {doc.current_version}, "
            + (f"its newest is {newest}" if newest else "and it has no version at all"),
            repairable=True,
        )
        if repair:
            if newest:
                doc.current_version = newest
                session.add(doc)
                finding.repaired = f"made version {newest} current"
            else:
                session.delete(doc)
                finding.repaired = "deleted the document, which had no content"
        findings.append(finding)
    session.flush()
    return findings


def _partial_versions(session: Session) -> list[Finding]:
    counted = (
        select(ChunkRecord.version_id, func.count().label("stored"))
        .group_by(col(ChunkRecord.version_id))
        .subquery()
    )
    rows = session.exec(
        select(DocumentVersion, func.coalesce(counted.c.stored, 0))
        .outerjoin(counted, counted.c.version_id == col(DocumentVersion.id))
        .where(func.coalesce(counted.c.stored, 0) != col(DocumentVersion.chunk_count))
    ).all()
    return [
        Finding(
            kind="partial-version",
            subject=f"version {version.id}",
            detail=f"version {version.number} of document {version.document_id} says "
            f"{version.chunk_count} chunks, {stored} are stored; upload the file again",
            repairable=False,
        )
        for version, stored in rows
    ]
