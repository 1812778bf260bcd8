"""Ingestion results as the API publishes them."""

from __future__ import annotations

from pydantic import BaseModel

from kb.types import FileStatus


class FileResultOut(BaseModel):
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
