"""Parse one file as the product does: in a parser process held to the default limits.

The fence is the product's own (``ingest.fence``, the memory and time limits of
``KB_PARSE_MEMORY_MB`` and ``KB_PARSE_SECONDS`` at their defaults): a file that breaks them
fails with a reason naming the limit, and the test sees which file did it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ingest.chunking import DEFAULT_MAX_CHARS
from ingest.fence import ParseLimits, parser_pool
from ingest.model import IngestError
from ingest.pipeline import DEFAULT_MAX_BYTES, DEFAULT_MAX_CHUNKS

LIMITS = ParseLimits()


@dataclass(frozen=True)
class Outcome:
    """What the fence said: an IngestError's reason, or the parsed file's chunks."""

    error: str | None
    reason: str | None
    format: str | None
    title: str | None
    chunks: list[str]
    questions: list[str]
    warnings: list[str]

    @property
    def all_text(self) -> str:
        return "\n".join([self.title or "", *self.chunks, *self.questions, *self.warnings])


def parse_bounded(path: Path, name: str, *, max_chunks: int = DEFAULT_MAX_CHUNKS) -> Outcome:
    """``path``'s bytes parsed as ``name`` by the product's fence at its default limits."""
    try:
        parsed = parser_pool(LIMITS).parse(
            name,
            path.read_bytes(),
            max_bytes=DEFAULT_MAX_BYTES,
            max_chars=DEFAULT_MAX_CHARS,
            max_chunks=max_chunks,
        )
    except IngestError as exc:
        return Outcome(str(exc), exc.reason, None, None, [], [], [])
    return Outcome(
        error=None,
        reason=None,
        format=parsed.format,
        title=parsed.title,
        chunks=[c.text for c in parsed.chunks],
        questions=[c.question or "" for c in parsed.chunks],
        warnings=parsed.warnings,
    )
