"""Search request and response bodies, shared by the API, the CLI and the pages."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from kb.types import CollectionName, DocType, SearchMode, Strict
from search.types import SearchFilters

# Why an answer served keyword matches alone (the embedder could not embed the query).
Degraded = Literal["embedder_unavailable"]

# Not a setting: past 100 hits nobody reads on, and each costs a highlight.
MAX_SEARCH_LIMIT = 100


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
    # The longest query is a setting (KB_MAX_QUERY_CHARS), checked by the search service.
    query: str = Field(
        min_length=1,
        description="At most KB_MAX_QUERY_CHARS characters (default 2000).",
        examples=["退货运费谁出？"],
    )
    collection: CollectionName | None = Field(
        None, description="Default: KB_DEFAULT_COLLECTION, or a limited caller's first."
    )
    limit: int | None = Field(
        None, ge=1, le=MAX_SEARCH_LIMIT, description="Default: KB_SEARCH_LIMIT."
    )
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
    due_for_review: bool = Field(
        False, description="Its document is overdue for review: check it before relying on it."
    )


class SearchResponse(BaseModel):
    query: str
    hits: list[SearchHit]
    took_ms: float
    embedding_skipped: bool = Field(
        False, description="BM25 was decisive: served without embedding the query."
    )
    degraded: Degraded | None = Field(
        None,
        description=(
            "Set when a hybrid search served BM25 alone because the embedder could not embed "
            "the query (`embedder_unavailable`: the embedding server is down, slow or broken); "
            "the hits are keyword matches only. A `vector` search answers 503 instead."
        ),
    )


class VocabularySaved(BaseModel):
    """What saving a vocabulary did: the collections re-indexed and how long it took."""

    changed: bool
    collections: list[str]
    seconds: float
    # With workers (KB_WORKERS=external) the re-indexing is one queued job per collection.
    jobs: list[str] = []


class VocabularyVersion(BaseModel):
    """One saved vocabulary, by size (comments and blank lines not counted)."""

    id: int
    created_at: datetime
    words: int
    synonym_sets: int
