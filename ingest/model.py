"""Plain data that flows through ingestion: blocks from loaders, chunks to storage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

BlockKind = Literal["heading", "paragraph", "list_item", "table_row", "faq", "passage"]


@dataclass(frozen=True)
class Block:
    """One structural unit a loader found, in reading order.

    ``heading`` blocks carry a ``level`` (1 = top). ``faq`` blocks carry ``question`` and
    ``answer`` (``text`` is the answer). ``passage`` blocks are pre-cut corpus passages
    (JSONL corpora) carrying ``external_id`` and ``title``; they are never merged or split.
    """

    text: str
    kind: BlockKind = "paragraph"
    level: int = 0
    page: int | None = None
    question: str | None = None
    answer: str | None = None
    external_id: str | None = None
    title: str | None = None


@dataclass
class LoadedDocument:
    """What a loader returns: blocks plus facts about the file."""

    blocks: list[Block]
    format: str  # pdf, docx, html, markdown, text, faq, corpus
    title: str | None = None
    encoding: str | None = None  # detected text encoding, for text formats
    warnings: list[str] = field(default_factory=list)


ChunkKind = Literal["passage", "faq"]


@dataclass(frozen=True)
class Chunk:
    """A unit of retrieval: display text plus where it came from."""

    text: str
    ordinal: int
    heading_path: tuple[str, ...] = ()
    page: int | None = None
    kind: ChunkKind = "passage"
    question: str | None = None  # FAQ chunks: the question; ``text`` is the answer
    external_id: str | None = None  # corpus passages keep their id (evaluation joins on it)
    title: str | None = None  # corpus passages may carry their own title


@dataclass
class ParsedFile:
    """Result of the whole ingestion pipeline for one file."""

    filename: str
    format: str
    title: str
    chunks: list[Chunk]
    encoding: str | None = None
    warnings: list[str] = field(default_factory=list)


class IngestError(Exception):
    """A file could not be ingested; ``reason`` is shown to the user next to ``filename``."""

    def __init__(self, filename: str, reason: str) -> None:
        super().__init__(f"{filename}: {reason}")
        self.filename = filename
        self.reason = reason
