"""Segments on disk: which documents a segment holds, which are deleted, when to merge.

A full build writes a *main* segment: the generation directory itself (its chunks, vectors,
BM25 state) plus ``documents.json``, which says where each document's rows are (a document's
chunks are consecutive rows) and its share of the fingerprint. Adding, replacing or deleting a
few documents writes a generation whose own directory holds a *delta* segment with just their
chunks (none for a deletion) and a ``segments.json`` manifest: the segments it serves, in row
order (the main first, then the deltas, its own last), and per segment the documents whose rows
are deleted (replaced or removed since). Segments never change once written, so a delta
generation reuses the main's files, and a process that serves both loads the main once.

The fingerprint of a generation is a sum of per-chunk digests (mod 2**128), so a delta's is
the sum of its live documents' shares: no read of the whole collection.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import date
from pathlib import Path
from typing import Any

from search.types import IndexedChunk

MANIFEST_FILE = "segments.json"
DOCUMENTS_FILE = "documents.json"
# A segment written before its passages were embedded holds this instead of a vector index:
# keyword-findable at once, its vectors come as a delta that replaces its rows (search/index.py).
UNEMBEDDED_FILE = "unembedded.json"
_MOD = 1 << 128


def chunk_digest(chunk: IndexedChunk) -> int:
    """A chunk's share of the fingerprint: its id, version and the metadata the index holds."""
    return line_digest(chunk_line(chunk))


def chunk_line(chunk: IndexedChunk) -> str:
    """What a chunk contributes to either fingerprint form (see :func:`fingerprint_line`)."""
    c = chunk
    meta = (c.document_title, c.doc_type, c.tags, c.product, c.language, c.valid_from, c.valid_to)
    return fingerprint_line(c.chunk_id, c.version, repr(meta))


def fingerprint_line(chunk_id: str, version: int, meta: str) -> str:
    """A chunk's line, given the ``repr`` of its document's metadata tuple (title, doc type,
    tags, product, language, valid from, valid to): computed once per document by a reader of
    many chunks, which then needs no per-chunk object."""
    return f"{chunk_id}|{version}|{meta}\n"


def line_digest(line: str) -> int:
    return int.from_bytes(hashlib.sha256(line.encode()).digest()[:16], "big")


def combine(shares: Iterable[int]) -> str:
    """The fingerprint of chunks whose digests (or documents' shares) are ``shares``."""
    return f"{sum(shares) % _MOD:032x}"


@dataclass(frozen=True)
class DocumentRows:
    start: int
    count: int
    share: int  # the sum of its chunks' digests, mod 2**128


@dataclass(frozen=True)
class SegmentDocuments:
    """What ``documents.json`` says: the segment's row count and where each document is."""

    rows: int
    documents: dict[str, DocumentRows]

    @classmethod
    def of(cls, chunks: Sequence[IndexedChunk]) -> SegmentDocuments | None:
        """The map of ``chunks``, or None when some document's chunks are not consecutive."""
        documents: dict[str, DocumentRows] = {}
        previous = None
        for row, chunk in enumerate(chunks):
            doc = chunk.document_id
            known = documents.get(doc)
            if known is None:
                documents[doc] = DocumentRows(row, 1, chunk_digest(chunk))
            elif previous != doc:
                return None
            else:
                share = (known.share + chunk_digest(chunk)) % _MOD
                documents[doc] = DocumentRows(known.start, known.count + 1, share)
            previous = doc
        return cls(len(chunks), documents)

    def save(self, directory: Path) -> None:
        rows = {d: [r.start, r.count, f"{r.share:032x}"] for d, r in self.documents.items()}
        text = json.dumps({"rows": self.rows, "documents": rows}, separators=(",", ":"))
        (directory / DOCUMENTS_FILE).write_text(text, encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> SegmentDocuments | None:
        """None for a segment written before segments kept the map (it cannot take deltas)."""
        try:
            data = json.loads((directory / DOCUMENTS_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        documents = {
            d: DocumentRows(int(start), int(count), int(share, 16))
            for d, (start, count, share) in data["documents"].items()
        }
        return cls(int(data["rows"]), documents)

    def dead_rows(self, deleted: Iterable[str]) -> list[int]:
        rows: list[int] = []
        for doc in deleted:
            found = self.documents.get(doc)
            if found is not None:
                rows.extend(range(found.start, found.start + found.count))
        return rows


@dataclass(frozen=True)
class Manifest:
    """The segments a generation serves, in row order, and the deleted documents of each."""

    segments: list[str]
    deleted: dict[str, list[str]]

    def save(self, directory: Path) -> None:
        text = json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))
        (directory / MANIFEST_FILE).write_text(text, encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> Manifest | None:
        """None for a generation that is one main segment, with nothing deleted."""
        try:
            data = json.loads((directory / MANIFEST_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        return cls(list(data["segments"]), {k: list(v) for k, v in data["deleted"].items()})


def mark_unembedded(directory: Path, rows: int, dim: int) -> None:
    text = json.dumps({"rows": rows, "dim": dim}, separators=(",", ":"))
    (directory / UNEMBEDDED_FILE).write_text(text, encoding="utf-8")


def unembedded(directory: Path) -> bool:
    """True for a segment written without vectors (keyword-findable only)."""
    return (directory / UNEMBEDDED_FILE).is_file()


def awaiting_vectors(base: Path, generation: str) -> set[str]:
    """The documents whose rows ``generation`` (in ``base``) serves without vectors; none when
    its files cannot be read (loading it says why: ``kb check`` reports a broken generation)."""
    waiting: set[str] = set()
    try:
        manifest = Manifest.load(base / generation) or Manifest([generation], {})
        for segment in manifest.segments:
            if unembedded(base / segment):
                found = SegmentDocuments.load(base / segment)
                if found is not None:
                    waiting |= found.documents.keys() - set(manifest.deleted.get(segment, ()))
    except (OSError, ValueError, KeyError, TypeError):
        return set()
    return waiting


def referenced(generation_dir: Path) -> set[str]:
    """The generation directories ``generation_dir`` reads: itself and the segments it serves."""
    manifest = Manifest.load(generation_dir)
    return {generation_dir.name, *(manifest.segments if manifest else ())}


@dataclass(frozen=True)
class MergePolicy:
    """When the deltas are due a merge into one main segment (done in the background, after the
    write that crossed the line), and when a write must merge itself (merges fell behind)."""

    max_deltas: int = 4  # delta segments a generation may serve beside its main
    max_share: float = 0.5  # delta rows plus deleted rows, as a share of the main's rows
    ceiling: float = 3.0  # past this many times either limit, the write rebuilds (synchronously)


@dataclass(frozen=True)
class DeltaPlan:
    """A delta generation to write: the segments it keeps and what they delete."""

    segments: list[str]  # the live generation's segments (the new delta is appended)
    deleted: dict[str, list[str]]
    live_shares: list[int]  # each live document's fingerprint share
    live_rows: int  # rows served, the new delta's excluded
    merge_due: bool = False  # past the policy's limits: merge in the background
    unembedded_rows: int = 0  # of ``live_rows``, those served without vectors


def plan_delta(
    base: Path, live: str, documents: set[str], new_rows: int, policy: MergePolicy
) -> DeltaPlan | None:
    """How ``documents`` of the live generation become a delta of ``new_rows`` rows, or None when
    the live generation cannot take one (built before segments kept their maps) or the deltas
    are past the policy's ceiling (the write rebuilds)."""
    manifest = Manifest.load(base / live) or Manifest([live], {})
    maps: dict[str, SegmentDocuments] = {}
    for segment in manifest.segments:
        found = SegmentDocuments.load(base / segment)
        if found is None:
            return None
        maps[segment] = found
    deleted = {s: set(manifest.deleted.get(s, ())) for s in manifest.segments}
    for segment, found in maps.items():
        deleted[segment] |= documents & found.documents.keys()
    main = manifest.segments[0]
    # A delta whose every document is deleted is dropped, not kept as dead weight.
    deltas = [s for s in manifest.segments[1:] if maps[s].documents.keys() - deleted[s]]
    segments = [main, *deltas]
    dead = sum(len(maps[s].dead_rows(deleted[s])) for s in segments)
    churn = sum(maps[s].rows for s in deltas) + new_rows + dead
    count = len(deltas) + (1 if new_rows else 0)
    limit = policy.max_share * maps[main].rows
    if count > policy.max_deltas * policy.ceiling or churn > limit * policy.ceiling:
        return None
    shares: list[int] = []
    live_rows = without = 0
    for segment in segments:
        keywords_only = unembedded(base / segment)
        for doc, rows in maps[segment].documents.items():
            if doc not in deleted[segment]:
                shares.append(rows.share)
                live_rows += rows.count
                without += rows.count if keywords_only else 0
    kept = {s: sorted(deleted[s]) for s in segments if deleted[s]}
    due = count > policy.max_deltas or churn > limit
    return DeltaPlan(segments, kept, shares, live_rows, due, without)


# --- chunks.json ------------------------------------------------------------------------------

_DATE_FIELDS = ("valid_from", "valid_to")
_TUPLE_FIELDS = ("section", "tags")


def write_chunks(path: Path, chunks: Sequence[IndexedChunk]) -> None:
    rows = [_chunk_to_json(c) for c in chunks]
    path.write_text(json.dumps(rows, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


def read_chunks(path: Path) -> list[IndexedChunk]:
    return [_chunk_from_json(row) for row in json.loads(path.read_text(encoding="utf-8"))]


def _chunk_to_json(chunk: IndexedChunk) -> dict[str, Any]:
    data = asdict(chunk)
    for key in _DATE_FIELDS:
        if data[key] is not None:
            data[key] = data[key].isoformat()
    return data


_KNOWN_FIELDS = frozenset(f.name for f in fields(IndexedChunk))


def _chunk_from_json(data: dict[str, Any]) -> IndexedChunk:
    # Once per row at start-up: a row of this release's fields is used as it is, not copied.
    values = (
        data
        if _KNOWN_FIELDS.issuperset(data)
        else {k: v for k, v in data.items() if k in _KNOWN_FIELDS}
    )
    for key in _DATE_FIELDS:
        if values.get(key) is not None:
            values[key] = date.fromisoformat(values[key])
    for key in _TUPLE_FIELDS:
        if key in values:
            values[key] = tuple(values[key])
    if len(values) == len(_KNOWN_FIELDS):
        # Every field present: set them as the frozen dataclass's __init__ would, without its
        # per-field object.__setattr__ (a third of reading chunks.json at 20k chunks).
        chunk = object.__new__(IndexedChunk)
        chunk.__dict__.update(values)
        return chunk
    return IndexedChunk(**values)  # a row of an older release: the defaults fill the rest
