"""A cited passage as an agent reads it: the chunk with its neighbours in the same version.

Read-only and for every caller who may read the chunk's collection: the assist panel's
citations, an embedded panel and the CRM's ``GET /api/v1/sources/{chunk_id}`` all come here.
A chunk outside the caller's collections is the same 404 as an unknown id, word for word.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.errors import NotFound
from kb.models import ChunkRecord, Document, DocumentVersion

# How many neighbours either side a caller may ask for; the default shows two.
DEFAULT_AROUND = 2
MAX_AROUND = 10
# Chunk ids are short hex (kb.models.new_id); anything else cannot exist, so it is not looked up.
_CHUNK_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class SourcePassage(BaseModel):
    """One chunk of the document version, as stored (the text the index was built from)."""

    id: str
    ordinal: int = Field(description="Position in its document version, from 0.")
    kind: str = Field(description="`passage` or `faq`.")
    question: str | None = Field(description="The FAQ question, for an FAQ entry.")
    title: str | None
    text: str
    section: list[str] = Field(description="Heading path, outermost first.")
    page: int | None


class SourceDocument(BaseModel):
    """The document the passage belongs to, and which of its versions is shown."""

    id: str
    title: str
    collection: str
    doc_type: str
    version: int = Field(description="The version the passage is from.")
    current_version: int = Field(description="The document's live version; newer when replaced.")
    valid_from: date | None
    valid_to: date | None


class SourceView(BaseModel):
    """A cited passage with up to ``around`` neighbours either side, in one document version."""

    document: SourceDocument
    passage: SourcePassage
    before: list[SourcePassage] = Field(description="Preceding passages, in document order.")
    after: list[SourcePassage] = Field(description="Following passages, in document order.")
    more_before: bool = Field(description="The version has passages before `before`.")
    more_after: bool = Field(description="The version has passages after `after`.")

    @property
    def superseded(self) -> bool:
        return self.document.version != self.document.current_version

    def converted(self, convert: Callable[[str], str]) -> SourceView:
        """The same view with every text the reader sees passed through ``convert`` (a display
        script); ids, numbers and the collection are left alone."""

        def passage(p: SourcePassage) -> SourcePassage:
            return p.model_copy(
                update={
                    "question": convert(p.question) if p.question else p.question,
                    "title": convert(p.title) if p.title else p.title,
                    "text": convert(p.text),
                    "section": [convert(s) for s in p.section],
                }
            )

        return self.model_copy(
            update={
                "document": self.document.model_copy(
                    update={"title": convert(self.document.title)}
                ),
                "passage": passage(self.passage),
                "before": [passage(p) for p in self.before],
                "after": [passage(p) for p in self.after],
            }
        )


def read_source(
    kb: KnowledgeBase,
    chunk_id: str,
    *,
    collections: frozenset[str] | None,
    around: int = DEFAULT_AROUND,
) -> SourceView:
    """The chunk ``chunk_id`` in its version with ``around`` neighbours either side, if it is in
    one of ``collections`` (None: every collection); otherwise 404, as for an unknown id."""
    if not 0 <= around <= MAX_AROUND:
        raise ValueError(f"around must be from 0 to {MAX_AROUND}, not {around}")
    unknown = NotFound(
        "no source passage with id {chunk_id!r}", field="chunk_id", chunk_id=chunk_id
    )
    if not _CHUNK_ID.fullmatch(chunk_id):
        raise unknown
    with session_scope(kb.engine) as session:
        found = session.exec(
            select(ChunkRecord, DocumentVersion, Document)
            .join(DocumentVersion, col(DocumentVersion.id) == col(ChunkRecord.version_id))
            .join(Document, col(Document.id) == col(DocumentVersion.document_id))
            .where(ChunkRecord.id == chunk_id)
        ).first()
        if found is None:
            raise unknown
        chunk, version, doc = found
        if collections is not None and doc.collection not in collections:
            raise unknown
        before = _neighbours(session, chunk, around, preceding=True)
        after = _neighbours(session, chunk, around, preceding=False)
    return SourceView(
        document=SourceDocument(
            id=doc.id,
            title=doc.title,
            collection=doc.collection,
            doc_type=doc.doc_type,
            version=version.number,
            current_version=doc.current_version,
            valid_from=doc.valid_from,
            valid_to=doc.valid_to,
        ),
        passage=_passage(chunk),
        before=[_passage(c) for c in reversed(before[:around])],
        after=[_passage(c) for c in after[:around]],
        more_before=len(before) > around,
        more_after=len(after) > around,
    )


def _neighbours(
    session: Session, chunk: ChunkRecord, around: int, *, preceding: bool
) -> list[ChunkRecord]:
    """Up to ``around + 1`` chunks of the same version nearest ``chunk`` on one side, nearest
    first: the extra one only says whether there is more."""
    ordinal = col(ChunkRecord.ordinal)
    stmt = select(ChunkRecord).where(ChunkRecord.version_id == chunk.version_id)
    if preceding:
        stmt = stmt.where(ordinal < chunk.ordinal).order_by(ordinal.desc())
    else:
        stmt = stmt.where(ordinal > chunk.ordinal).order_by(ordinal)
    return list(session.exec(stmt.limit(around + 1)).all())


def _passage(chunk: ChunkRecord) -> SourcePassage:
    return SourcePassage(
        id=chunk.id,
        ordinal=chunk.ordinal,
        kind=chunk.kind,
        question=chunk.question,
        title=chunk.title,
        text=chunk.text,
        section=list(chunk.heading_path),
        page=chunk.page,
    )
