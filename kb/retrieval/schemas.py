"""Search request and response bodies, shared by the API, the CLI and the pages."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from kb.types import CollectionName, DocType, SearchMode, Strict
from search.types import SearchFilters


class Filters(Strict):
    doc_types: list[DocType] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list, description="A hit must carry all of them.")
    products: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    valid_on: date | None = Field(None, description="Only content valid on this day.")

    def to_search_filters(self) -> SearchFilters:
        return SearchFilters(
            doc_types=tuple(self.doc_types),
            tags=tuple(self.tags),
            products=tuple(self.products),
            languages=tuple(self.languages),
            valid_on=self.valid_on,
        )


class SearchBody(Strict):
    query: str = Field(min_length=1, max_length=2000, examples=["退货运费谁出？"])
    collection: CollectionName = "default"
    limit: int = Field(10, ge=1, le=100)
    mode: SearchMode = "hybrid"
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
