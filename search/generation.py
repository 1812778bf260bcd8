"""A loaded generation and its files: the layout, what ``meta.json`` says, and the segments.

A segment's files never change once written, so :class:`SegmentCache` hands the same loaded
segment to every generation that serves it (a delta generation reuses its main's chunks,
vectors and postings), for as long as one of them is in use.
"""

from __future__ import annotations

import json
import logging
import threading
import weakref
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from search.bm25 import BM25Index
from search.chunktable import LEGACY_FILE, TABLE_DIR, ChunkRows, load_chunks
from search.postings import Postings
from search.scripts import load_shares
from search.segmented import Part, SegmentedBM25, SegmentedVectors
from search.segments import UNEMBEDDED_FILE, Manifest, SegmentDocuments, unembedded
from search.tokenize import Tokenizer
from search.types import IndexedChunk
from search.vectorindex import FaissBackend, MissingVectors, VectorBackend, VectorIndex

logger = logging.getLogger(__name__)

# The layout of a generation's files. A generation of a format this build cannot read is not
# loaded; the service rebuilds it (kb/retrieval/indexing.py ensure_fresh) from the embedding
# cache. Format 2 keeps chunks in mapped columns (search/chunktable.py) and postings as .npy;
# format 1 (chunks.json, postings.npz) is still read, and a delta may sit on a format-1 main.
FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)
META_FILE = "meta.json"
CHUNKS_DIR = TABLE_DIR
CHUNKS_FILE = LEGACY_FILE  # format 1
VECTORS_FILE = "vectors.faiss"
BM25_DIR = "bm25"
VOCABULARY_FILE = "vocabulary.json"


class SearchIndexError(Exception):
    """Base class for problems with the index files of a collection."""


class IndexNotFoundError(SearchIndexError):
    """The collection has no built index (no ``CURRENT`` or a missing generation)."""


class IndexMismatchError(SearchIndexError):
    """The index was built with another embedder (name, version) or dimension."""


@dataclass(frozen=True)
class GenerationMeta:
    """What ``meta.json`` records about one generation."""

    collection: str
    generation: str
    embedder_name: str
    embedder_version: str
    dim: int
    chunk_count: int
    built_at: str  # ISO 8601, UTC
    build_seconds: float
    tokenizer_version: str
    fingerprint: str
    vector_index: str  # flat | hnsw
    embedded: int  # chunks embedded for this build (the rest came from the cache)
    bm25_k1: float
    bm25_b: float
    format_version: int = FORMAT_VERSION
    unembedded: int = 0  # rows served by keywords only, their vectors not written yet

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2)

    @classmethod
    def from_json(cls, text: str) -> GenerationMeta:
        data = json.loads(text)
        data.setdefault("format_version", 1)  # the first format did not say
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class Generation:
    """A generation loaded into memory: everything a searcher needs, no file access after."""

    meta: GenerationMeta
    path: Path
    chunks: Sequence[IndexedChunk]  # the live rows, in row order (mapped: decoded when read)
    bm25: BM25Index | SegmentedBM25
    vectors: VectorIndex
    tokenizer: Tokenizer  # the one the BM25 state was built with: cut queries with it
    segments: int = 1  # the main, and the deltas beside it
    cjk_share: np.ndarray | None = None  # per live row (search/scripts.py); None: not loaded
    unembedded: np.ndarray | None = None  # per live row: True where it has no vector yet


class Segment:
    """One segment's files in memory, shared by the generations that serve it (never changed)."""

    def __init__(self, path: Path, backend: VectorBackend) -> None:
        self.path = path
        self.chunks = load_chunks(path)
        self.embedded = not unembedded(path)
        self.vectors: VectorIndex = (
            backend.load(path / VECTORS_FILE)
            if self.embedded
            else MissingVectors(len(self.chunks), _marked_dim(path))
        )
        self.documents = SegmentDocuments.load(path)
        self.cjk_share = load_shares(path, self.chunks)
        self._postings: Postings | None = None

    def postings(self) -> Postings:
        if self._postings is None:
            self._postings = Postings.load(self.path / BM25_DIR)
        return self._postings


class SegmentCache:
    """Loaded segments, by path, while some generation in use holds them."""

    def __init__(self, backend: VectorBackend | None = None) -> None:
        self.backend: VectorBackend = backend or FaissBackend()
        self._loaded: weakref.WeakValueDictionary[Path, Segment] = weakref.WeakValueDictionary()
        self._guard = threading.Lock()

    def get(self, collection: str, path: Path) -> Segment:
        with self._guard:
            found = self._loaded.get(path)
        if found is None:
            try:
                found = Segment(path, self.backend)
            except FileNotFoundError as exc:
                raise IndexNotFoundError(
                    f"segment {path.name!r} of collection {collection!r} is missing ({exc}); "
                    "rebuild the index"
                ) from exc
            with self._guard:
                self._loaded[path] = found
        return found


def load_generation(
    segments: SegmentCache, collection: str, path: Path, meta: GenerationMeta, tokenizer: Tokenizer
) -> Generation:
    """The generation in ``path``: a main segment alone, or one with deltas (its manifest)."""
    manifest = Manifest.load(path)
    if manifest is not None:
        return load_segmented(segments, collection, path, meta, manifest, tokenizer)
    segment = segments.get(collection, path)
    bm25 = BM25Index.load(path / BM25_DIR)
    chunks, vectors, name = segment.chunks, segment.vectors, path.name
    if not len(chunks) == meta.chunk_count == bm25.doc_count == len(vectors):
        raise IndexMismatchError(
            f"generation {name!r} of {collection!r} is inconsistent: {meta.chunk_count} chunks "
            f"in meta, {len(chunks)} stored, {bm25.doc_count} in BM25, {len(vectors)} vectors"
        )
    if vectors.dim != meta.dim:
        raise IndexMismatchError(
            f"vector index of {collection!r} has dim {vectors.dim}, meta says {meta.dim}"
        )
    return Generation(meta, path, chunks, bm25, vectors, tokenizer, 1, segment.cjk_share)


def load_segmented(
    segments: SegmentCache,
    collection: str,
    path: Path,
    meta: GenerationMeta,
    manifest: Manifest,
    tokenizer: Tokenizer,
) -> Generation:
    """A generation of a main segment and deltas, its deleted rows left out."""
    parts: list[Part] = []
    chunks: list[tuple[Sequence[IndexedChunk], np.ndarray | None]] = []
    shares: list[np.ndarray] = []
    missing: list[np.ndarray] = []
    for name in manifest.segments:
        segment = segments.get(collection, path.parent / name)
        documents, rows = segment.documents, len(segment.chunks)
        postings = segment.postings()
        if documents is None or not rows == documents.rows == postings.row_count == len(
            segment.vectors
        ):
            raise IndexMismatchError(
                f"segment {name!r} of {collection!r} is inconsistent: {rows} chunks, "
                f"{postings.row_count} in BM25, {len(segment.vectors)} vectors"
            )
        alive = np.ones(rows, dtype=bool)
        alive[documents.dead_rows(manifest.deleted.get(name, ()))] = False
        live = np.flatnonzero(alive)
        parts.append(Part(live, rows, postings, segment.vectors))
        chunks.append((segment.chunks, None if live.size == rows else live))
        shares.append(segment.cjk_share if live.size == rows else segment.cjk_share[live])
        missing.append(np.full(live.size, not segment.embedded, dtype=bool))
    served = ChunkRows(chunks)
    if len(served) != meta.chunk_count:
        raise IndexMismatchError(
            f"generation {meta.generation!r} of {collection!r} is inconsistent: "
            f"{meta.chunk_count} chunks in meta, {len(served)} in its segments"
        )
    bm25 = SegmentedBM25(parts, k1=meta.bm25_k1, b=meta.bm25_b)
    vectors = SegmentedVectors(parts, dim=meta.dim, kind=meta.vector_index)
    share = np.concatenate(shares) if shares else np.zeros(0, dtype=np.float32)
    without = np.concatenate(missing) if missing else np.zeros(0, dtype=bool)
    return Generation(
        meta, path, served, bm25, vectors, tokenizer, len(parts), share,
        without if without.any() else None,
    )  # fmt: skip


def _marked_dim(path: Path) -> int:
    return int(json.loads((path / UNEMBEDDED_FILE).read_text(encoding="utf-8"))["dim"])


_KEPT_TOKENIZERS = 2


def tokenizer_of(
    path: Path, meta: GenerationMeta, current: Tokenizer, known: dict[str, Tokenizer]
) -> Tokenizer:
    """The tokenizer ``meta``'s generation (in ``path``) was built with: ``current`` when it cuts
    the same, else one rebuilt from the generation's vocabulary (kept in ``known``)."""
    if meta.tokenizer_version == current.version:
        return current
    found = known.get(meta.tokenizer_version)
    if found is not None:
        return found
    try:
        vocabulary = json.loads((path / VOCABULARY_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return current  # built before generations kept their vocabulary
    tokenizer = Tokenizer(
        user_dict_text=vocabulary["user_dict"], synonyms_text=vocabulary["synonyms"]
    )
    if tokenizer.version != meta.tokenizer_version:
        # Another jieba release or tokenizer code: the vocabulary is still the right one.
        logger.warning(
            "index %s/%s was tokenised with %s, this build cuts as %s; rebuild soon",
            meta.collection,
            meta.generation,
            meta.tokenizer_version,
            tokenizer.version,
        )
    # Keep the newest few: each vocabulary saved elsewhere adds one, and searchers that still
    # use an evicted one hold their own reference.
    while len(known) >= _KEPT_TOKENIZERS:
        known.pop(next(iter(known)))
    known[meta.tokenizer_version] = tokenizer
    return tokenizer
