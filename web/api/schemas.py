"""Request and response bodies of the JSON API (published in the OpenAPI schema)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Filters(Strict):
    doc_types: list[Literal["manual", "faq", "policy", "reply"]] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list, description="A hit must carry all of them.")
    products: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    valid_on: date | None = Field(None, description="Only content valid on this day.")


class SearchBody(Strict):
    query: str = Field(min_length=1, max_length=2000, examples=["退货运费谁出？"])
    collection: str = "default"
    limit: int = Field(10, ge=1, le=100)
    mode: Literal["hybrid", "bm25", "vector"] = "hybrid"
    filters: Filters = Field(default_factory=Filters)


class Source(BaseModel):
    document_id: str
    title: str
    version: int
    section: list[str]
    page: int | None


class Scores(BaseModel):
    bm25: float | None
    vector: float | None
    bm25_rank: int | None
    vector_rank: int | None


class SearchHit(BaseModel):
    id: str
    kind: str
    doc_type: str
    question: str | None
    text: str
    highlight: str
    score: float
    scores: Scores
    source: Source


class SearchResponse(BaseModel):
    query: str
    hits: list[SearchHit]
    took_ms: float


class FileResultOut(BaseModel):
    filename: str
    status: Literal["ingested", "unchanged", "failed"]
    document_id: str | None
    version: int | None
    chunks: int
    reason: str | None
    warnings: list[str]


class IngestResponse(BaseModel):
    collection: str
    files: list[FileResultOut]
