"""Plain data crossing the search interface."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

COLLECTION_NAME_PATTERN = r"[a-z0-9][a-z0-9_-]{0,63}"
COLLECTION_NAME_RULE = "1-64 characters of a-z, 0-9, '-' and '_', starting with a letter or digit"
_COLLECTION_NAME = re.compile(COLLECTION_NAME_PATTERN)


def is_collection_name(name: str) -> bool:
    """The one collection-name rule: a name becomes a directory, so never a path or hidden file."""
    return _COLLECTION_NAME.fullmatch(name) is not None


@dataclass(frozen=True)
class IndexedChunk:
    """One chunk as the index stores it: enough to rank, filter and cite without SQL."""

    chunk_id: str
    text: str  # original text, for display
    index_text: str  # text to normalise and index (title/question/heading + text)
    document_id: str
    document_title: str
    version: int
    section: tuple[str, ...] = ()
    page: int | None = None
    doc_type: str = "manual"
    kind: str = "passage"  # passage | faq
    question: str | None = None
    tags: tuple[str, ...] = ()
    product: str | None = None
    language: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    external_id: str | None = None


@dataclass(frozen=True)
class SearchFilters:
    """Restrictions applied before ranking is cut to ``limit``."""

    doc_types: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()  # a chunk must carry all of them
    products: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    valid_on: date | None = None  # drop chunks not valid on this day
    document_ids: tuple[str, ...] = ()


@dataclass
class Hit:
    chunk: IndexedChunk
    score: float  # fused score in [0, 1] (or the single retriever's score)
    highlight: str = ""  # display text with matched terms wrapped in <mark>…</mark>, HTML-escaped
    bm25_score: float | None = None
    vector_score: float | None = None
    bm25_rank: int | None = None
    vector_rank: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class SearchResult:
    """The hits of one search, and whether (and why) it served BM25 alone."""

    hits: list[Hit]
    embedding_skipped: bool = False
    # Why a hybrid search served BM25 alone against its will ("embedder_unavailable"), or None.
    degraded: str | None = None
