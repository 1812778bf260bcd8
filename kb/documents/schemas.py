"""Documents, their versions, chunks, ingestion results and jobs as the services publish them.

Each ``XPublic`` derives from the table's ``XBase`` in ``kb.models``: a column added there is
published without a second copy here.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from kb.models import ChunkBase, DocumentBase, DocumentVersionBase, IngestJobBase
from kb.review import MAX_REVIEW_INTERVAL_DAYS
from kb.types import FileStatus, JobStatus, Strict


class FileResultOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    filename: str
    status: FileStatus
    document_id: str | None
    version: int | None
    chunks: int
    reason: str | None
    warnings: list[str]


class IngestResponse(BaseModel):
    collection: str
    files: list[FileResultOut]


# Where a document stands (kb/documents/stages.py): its new version queued, being parsed, stored
# but not switched in, findable by keyword while its vectors are embedded, findable by meaning
# too, or findable by keyword only because its vectors failed.
DocumentStage = Literal["queued", "parsing", "indexing", "keyword", "live", "failed"]
_STAGE_DOC = (
    "Where the document stands: queued, parsing, indexing (stored, the previous version still "
    "answers), keyword (findable by keyword, its vectors being embedded), live (findable by "
    "meaning too), failed (findable by keyword only: its vectors could not be embedded; the "
    "next start-up or kb check --repair embeds them)."
)


class DocumentPublic(DocumentBase):
    id: str
    current_version: int
    created_at: datetime
    updated_at: datetime
    owner: str | None = Field(None, description="The owner's e-mail (``owner_id`` names them).")
    review_due: date | None = Field(
        None,
        description="The day the next review is due: the interval counted from the last review "
        "or the current version, whichever is later; none without an interval.",
    )
    due_for_review: bool = Field(False, description="True once ``review_due`` is past.")
    stage: DocumentStage | None = Field(None, description=_STAGE_DOC)
    embedded: int | None = Field(
        None, description="At stage keyword: passages of its job embedded so far (of to_embed)."
    )
    to_embed: int | None = Field(None, description="At stage keyword: its job's passages.")


class DocumentSummary(DocumentPublic):
    """A row of the document list: the document and its current version's chunk count."""

    chunk_count: int


class VersionOut(DocumentVersionBase):
    id: str


class ChunkOut(ChunkBase):
    id: str


class DocumentDetail(DocumentPublic):
    """A document with every version and, when asked for, the current version's chunks."""

    versions: list[VersionOut]
    chunks: list[ChunkOut] = Field(default_factory=list)


class DocumentList(BaseModel):
    documents: list[DocumentSummary]


class DocumentPatch(Strict):
    """PATCH /api/v1/documents/{id}: a field left out is kept; ``null`` clears it."""

    owner: str | None = Field(
        None,
        max_length=254,
        description="E-mail of an enabled manager or admin who may read the document's collection.",
    )
    review_interval_days: int | None = Field(
        None, ge=1, le=MAX_REVIEW_INTERVAL_DAYS, description="Days between reviews."
    )


class DeletedDocument(BaseModel):
    id: str
    title: str
    collection: str


class DeleteResponse(BaseModel):
    deleted: DeletedDocument


class ChunkContext(BaseModel):
    """A chunk in its document: its neighbours and the rest of its section."""

    chunk: ChunkOut
    shown: list[ChunkOut]
    section: list[str]


class JobFileOut(BaseModel):
    """One file of a job: queued until ingested, then its result."""

    filename: str
    status: Literal["queued"] | FileStatus
    document_id: str | None = None
    version: int | None = None
    chunks: int = 0
    reason: str | None = None
    warnings: list[str] = Field(default_factory=list)


class IngestJobPublic(IngestJobBase):
    id: str
    status: JobStatus
    # A failed job: ``error`` is the message (English; pages show it translated), this its
    # stable code ("interrupted", "internal", or a domain error's code such as "storage_full").
    error_code: str | None = None
    results: list[JobFileOut]
    finished: bool
    percent: int


class JobAccepted(BaseModel):
    """POST /api/v1/documents with ``KB_WORKERS=external``: the upload is a queued job; poll
    ``status_url`` (GET /api/v1/jobs/{job_id}) until ``finished``."""

    job_id: str
    status_url: str
    job: IngestJobPublic
