"""The whole ingestion path for one file: bytes in, titled and chunked ``ParsedFile`` out."""

from __future__ import annotations

import re

from ingest.chunking import DEFAULT_MAX_CHARS, chunk_sections
from ingest.cleaning import clean_blocks, clean_whitespace
from ingest.loaders import load_document
from ingest.model import Block, IngestError, ParsedFile
from ingest.sections import assign_sections, detect_headings, heading_rank
from ingest.sizes import over_limit

DEFAULT_MAX_BYTES = 20_000_000
# A document past this many chunks is a dump or a generated file, not knowledge someone wrote;
# embedding it would hold the ingest for hours. The bench corpora (27 413 passages) fit.
DEFAULT_MAX_CHUNKS = 50_000
# Curated formats: their text is what the knowledge manager wrote, row by row; web cleaning
# (boilerplate, repeats, line joins) would only damage it.
_CURATED_FORMATS = frozenset({"faq", "corpus"})


def _leading_title(blocks: list[Block]) -> str | None:
    """A short unpunctuated first line followed by more text: the document's own title."""
    if len(blocks) < 2 or blocks[0].kind not in ("paragraph", "heading"):
        return None
    text = blocks[0].text.strip()
    if len(text) > 40 or "\n" in text or heading_rank(text) is not None:
        return None
    return None if any(c in text for c in "。！？；!?;") or text.endswith(".") else text


def file_stem(filename: str) -> str:
    """The file name without folders or extension, for a fallback title (never touches disk)."""
    name = re.split(r"[\\/]", filename)[-1]
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    return stem.strip() or name.strip() or "untitled"


def parse_file(
    filename: str,
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_chars: int = DEFAULT_MAX_CHARS,
    max_chunks: int = DEFAULT_MAX_CHUNKS,
) -> ParsedFile:
    """Load, clean, section and chunk one file. Deterministic: the same bytes give the same chunks.

    The title is the loader's, else a leading title line, else the first heading, else the
    file name.

    Raises ``IngestError`` for a file over ``max_bytes``, one no loader can read, one that
    holds no text once cleaned, or one that would make more than ``max_chunks`` chunks.
    """
    if len(data) > max_bytes:
        raise IngestError(filename, f"file is {over_limit(len(data), max_bytes)}")
    doc = load_document(filename, data)
    title = (doc.title or "").strip() or None
    if doc.format in _CURATED_FORMATS:
        sections = assign_sections(clean_whitespace(doc.blocks))
    else:
        blocks = clean_blocks(doc.blocks)
        if title is None and (title := _leading_title(blocks)):
            # A plain-text title line names the document; as a chunk it would be noise.
            blocks = blocks[1:]
        sections = assign_sections(detect_headings(blocks))
    chunks = chunk_sections(sections, max_chars=max_chars)
    if not chunks:
        raise IngestError(filename, "no text found after cleaning")
    if len(chunks) > max_chunks:
        raise IngestError(
            filename,
            f"the file would make {len(chunks):,} chunks, over the limit of {max_chunks:,} "
            "per document; split it into smaller files",
        )
    first_heading = next((b.text for _, b in sections if b.kind == "heading"), None)
    return ParsedFile(
        filename=filename,
        format=doc.format,
        title=title or first_heading or file_stem(filename),
        chunks=chunks,
        encoding=doc.encoding,
        warnings=list(doc.warnings),
    )
