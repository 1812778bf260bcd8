"""Ingesting files: parse (pure), store a new version atomically, then switch the index."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import PurePosixPath, PureWindowsPath

from annotated_types import MaxLen
from sqlmodel import Session, select

from ingest.fence import parser_pool
from ingest.model import IngestError, ParsedFile
from ingest.sizes import over_limit
from kb.audit import SYSTEM_ACTOR, record
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.documents.rollback import undo_versions
from kb.errors import Invalid, TooLarge
from kb.models import ChunkRecord, Document, DocumentBase, DocumentVersion, utcnow
from kb.retrieval.indexing import Progress, rebuild_if_stale, reindex_documents
from kb.settings import Settings
from kb.types import DOC_TYPES, FileStatus, collection_name
from search.pause import pause_point, pause_requested

log = logging.getLogger(__name__)

Status = FileStatus


@dataclass(frozen=True)
class DocumentMeta:
    """What the knowledge manager says about a file; ``None`` fields keep a guess or old value."""

    doc_type: str | None = None
    title: str | None = None
    tags: tuple[str, ...] = ()
    product: str | None = None
    language: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None

    def __post_init__(self) -> None:
        if self.doc_type is not None and self.doc_type not in DOC_TYPES:
            raise Invalid(
                "unknown document type {doc_type!r}; expected one of {value}",
                field="type",
                doc_type=self.doc_type,
                value=", ".join(DOC_TYPES),
            )
        for name in ("title", "product", "language"):
            value: str | None = getattr(self, name)
            if value is not None and len(value) > (limit := column_limit(name)):
                raise Invalid(
                    "{name} is {value} characters, over the limit of {limit}",
                    field=name,
                    name=name,
                    value=len(value),
                    limit=limit,
                )
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise Invalid(
                "valid_to {valid_to} is before valid_from {valid_from}",
                field="valid_to",
                valid_to=self.valid_to,
                valid_from=self.valid_from,
            )


def column_limit(name: str) -> int:
    """The longest value the document table's column ``name`` holds (its model says so once)."""
    return next(
        m.max_length for m in DocumentBase.model_fields[name].metadata if isinstance(m, MaxLen)
    )


@dataclass(frozen=True)
class IngestItem:
    filename: str
    data: bytes
    meta: DocumentMeta = DocumentMeta()


@dataclass
class FileResult:
    filename: str
    status: Status
    document_id: str | None = None
    version: int | None = None
    chunks: int = 0
    reason: str | None = None
    warnings: list[str] = field(default_factory=list)
    metadata_changed: bool = False


FileProgress = Callable[[int, int, "FileResult"], None]


def safe_name(filename: str) -> str:
    """The bare file name: an uploaded name never becomes a path on our disk."""
    name = PureWindowsPath(PurePosixPath(filename).name).name.strip()
    return name[:512] or "unnamed"


def check_upload_count(settings: Settings, count: int) -> None:
    """An upload request (API or console; not ``kb ingest`` of a folder) carries at most
    ``max_upload_files`` files; more is TooLarge (413) on ``files``."""
    limit = settings.max_upload_files
    if count > limit:
        raise TooLarge(
            "{count} files in one upload is over the limit of {limit} "
            "(KB_MAX_UPLOAD_FILES); upload them in several requests",
            field="files",
            count=count,
            limit=limit,
        )


def ingest_items(
    kb: KnowledgeBase,
    items: Sequence[IngestItem],
    *,
    collection: str,
    on_file: FileProgress | None = None,
    on_index: Progress | None = None,
    actor: str = SYSTEM_ACTOR,
    keywords_first: bool = False,
) -> list[FileResult]:
    """Ingest each file independently; one failure never stops or corrupts the others.

    Each new version is audited as ``document.ingest`` by ``actor`` in the transaction that
    stores it; an unchanged or failed file records nothing. With ``keywords_first``, passages
    not in the embedding cache are switched in without vectors: the caller then brings them
    (``kb.retrieval.vectorfill.fill_vectors``).
    """
    collection_name(collection)  # before anything is written: the index takes the same names
    results: list[FileResult] = []
    with kb.collection_lock(collection):
        changed = False
        for n, item in enumerate(items, start=1):
            result = _ingest_one(kb, item, collection, actor)
            changed |= result.status == "ingested" or result.metadata_changed
            results.append(result)
            if on_file:
                on_file(n, len(items), result)
        if changed:
            # Chunks are committed; searches keep using the old generation until this switches.
            pause_point("after-commit")
            touched = {
                r.document_id
                for r in results
                if r.document_id and (r.status == "ingested" or r.metadata_changed)
            }
            try:
                reindex_documents(
                    kb, collection, touched, progress=on_index, keywords_first=keywords_first
                )
            except Exception:  # e.g. a full disk: the old generation stays live, so must its rows
                stored = [(r.document_id, r.version) for r in results if r.status == "ingested"]
                undo_versions(kb, [(d, v) for d, v in stored if d and v], actor=actor)
                raise
        else:
            # Nothing new, but a killed run may have committed versions it never indexed.
            rebuild_if_stale(kb, collection, progress=on_index)
    return results


def _ingest_one(kb: KnowledgeBase, item: IngestItem, collection: str, actor: str) -> FileResult:
    name = safe_name(item.filename)
    limit = kb.settings.max_upload_bytes
    if len(item.data) > limit:
        return FileResult(
            name,
            "failed",
            reason=f"file is {over_limit(len(item.data), limit, 'upload limit')}",
        )
    digest = hashlib.sha256(item.data).hexdigest()
    with session_scope(kb.engine) as session:
        doc = _find(session, collection, name)
        current = _current_version(session, doc) if doc else None
        if doc and current and current.content_hash == digest:
            meta_changed = _apply_meta(doc, item.meta, None)
            session.add(doc)
            if meta_changed:  # same bytes, new metadata from the upload form
                record(session, actor=actor, action="document.update", target=doc.id,
                       detail={"filename": name, "collection": collection})  # fmt: skip
            return FileResult(
                name,
                "unchanged",
                doc.id,
                doc.current_version,
                current.chunk_count,
                metadata_changed=meta_changed,
            )
    try:
        # In a worker process held to the settings' memory and time: a bomb fails its file only.
        parsed = parser_pool(kb.settings.parse_limits).parse(
            name,
            item.data,
            max_bytes=limit,
            max_chars=kb.settings.chunk_chars,
            max_chunks=kb.settings.max_chunks_per_document,
        )
    except IngestError as exc:
        log.info("ingest of %s failed: %s", name, exc.reason)
        return FileResult(name, "failed", reason=exc.reason)
    pause_point("after-parse")
    with session_scope(kb.engine) as session:
        doc, version = _store(session, collection, name, digest, len(item.data), parsed, item.meta)
        detail = {"filename": name, "collection": collection, "version": version.number}
        record(session, actor=actor, action="document.ingest", target=doc.id, detail=detail)
        return FileResult(
            name, "ingested", doc.id, version.number, version.chunk_count, None, parsed.warnings
        )


def _store(
    session: Session,
    collection: str,
    name: str,
    digest: str,
    size: int,
    parsed: ParsedFile,
    meta: DocumentMeta,
) -> tuple[Document, DocumentVersion]:
    """One transaction: new version and its chunks, then the document points at it."""
    doc = _find(session, collection, name)
    if doc is None:
        doc = Document(collection=collection, source_name=name, title="")
        doc.doc_type = "faq" if parsed.format == "faq" else "manual"
    _apply_meta(doc, meta, parsed.title)
    version = DocumentVersion(
        document_id=doc.id,
        number=doc.current_version + 1,
        content_hash=digest,
        size_bytes=size,
        format=parsed.format,
        encoding=parsed.encoding,
        chunk_count=len(parsed.chunks),
        warnings=list(parsed.warnings),
    )
    session.add(doc)
    session.add(version)
    session.flush()
    halfway = len(parsed.chunks) // 2
    for n, chunk in enumerate(parsed.chunks):
        if n == halfway and pause_requested("in-version-transaction"):
            session.flush()  # rows really sent to the database, still uncommitted
            pause_point("in-version-transaction")
        session.add(
            ChunkRecord(
                version_id=version.id,
                document_id=doc.id,
                ordinal=chunk.ordinal,
                kind=chunk.kind,
                text=chunk.text,
                question=chunk.question,
                title=chunk.title,
                heading_path=list(chunk.heading_path),
                page=chunk.page,
                external_id=chunk.external_id,
            )
        )
    doc.current_version = version.number
    doc.updated_at = utcnow()
    session.add(doc)
    return doc, version


def _apply_meta(doc: Document, meta: DocumentMeta, parsed_title: str | None) -> bool:
    """Copy the given metadata onto ``doc``; True if anything changed."""
    before = (doc.title, doc.doc_type, list(doc.tags), doc.product, doc.language)
    dates = (doc.valid_from, doc.valid_to)
    # A parsed title is a document's first line or heading: it may be longer than a title is.
    doc.title = meta.title or (parsed_title or "")[: column_limit("title")] or doc.title
    if meta.doc_type:
        doc.doc_type = meta.doc_type
    if meta.tags:
        doc.tags = list(meta.tags)
    for attr in ("product", "language", "valid_from", "valid_to"):
        value = getattr(meta, attr)
        if value is not None:
            setattr(doc, attr, value)
    after = (doc.title, doc.doc_type, list(doc.tags), doc.product, doc.language)
    return before != after or dates != (doc.valid_from, doc.valid_to)


def _find(session: Session, collection: str, name: str) -> Document | None:
    return session.exec(
        select(Document).where(Document.collection == collection, Document.source_name == name)
    ).first()


def _current_version(session: Session, doc: Document) -> DocumentVersion | None:
    return session.exec(
        select(DocumentVersion).where(
            DocumentVersion.document_id == doc.id, DocumentVersion.number == doc.current_version
        )
    ).first()
