"""Index generations on disk: ``root/<collection>/<generation>/`` plus a ``CURRENT`` pointer.

A generation holds the FAISS index (``vectors.faiss``), the BM25 state (``bm25/``), the chunks
in row order (``chunks.json``: row ``i`` of both indexes is chunk ``i``, which is the id map),
the vocabulary its BM25 tokens were cut with (``vocabulary.json``: queries are cut the same way,
whatever the process's current vocabulary) and ``meta.json``. A new generation is written
beside the live one under a hidden temporary name, flushed to disk (fsync), renamed into place,
and then ``CURRENT`` is replaced atomically (``os.replace`` of a pointer file, then an fsync of
the folder); searchers that already loaded the old generation keep it in memory, so
searches in flight finish on it.
"""

from __future__ import annotations

import json
import logging
import secrets
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from search.bm25 import BM25Index
from search.cache import EmbeddingCache, embed_passages_cached
from search.durable import sync_directory, sync_tree
from search.embedders.base import Embedder
from search.generations import CURRENT_FILE, FileGenerationCatalog, GenerationCatalog
from search.normalize import normalize
from search.pause import pause_point
from search.tokenize import Tokenizer
from search.types import IndexedChunk
from search.vectorindex import VectorIndex, build_vector_index, load_vector_index
from search.vectorstore import DEFAULT_HNSW_THRESHOLD

logger = logging.getLogger(__name__)

# The layout of a generation's files. A generation of another format is not loaded; the
# service rebuilds it (kb/retrieval/indexing.py ensure_fresh) from the embedding cache.
FORMAT_VERSION = 1
META_FILE = "meta.json"
CHUNKS_FILE = "chunks.json"
VECTORS_FILE = "vectors.faiss"
BM25_DIR = "bm25"
VOCABULARY_FILE = "vocabulary.json"
_KEPT_TOKENIZERS = 2


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
    chunks: list[IndexedChunk]
    bm25: BM25Index
    vectors: VectorIndex
    tokenizer: Tokenizer  # the one the BM25 state was built with: cut queries with it


class IndexStore:
    """Builds, switches and loads the index generations of every collection under ``root``."""

    def __init__(
        self,
        root: Path,
        embedder: Embedder,
        cache: EmbeddingCache,
        *,
        tokenizer: Tokenizer | None = None,
        catalog: GenerationCatalog | None = None,
        hnsw_threshold: int = DEFAULT_HNSW_THRESHOLD,
        bm25_k1: float = 1.2,
        bm25_b: float = 0.75,
    ) -> None:
        self.root = root
        self.files = FileGenerationCatalog(root)  # where generations live on disk
        self.catalog: GenerationCatalog = catalog or self.files  # which one is live
        self.embedder = embedder
        self.cache = cache
        self.tokenizer = tokenizer or Tokenizer()
        # jieba's dictionary is ~50 MB per tokenizer: generations with one vocabulary share one.
        self._tokenizers: dict[str, Tokenizer] = {}
        self.hnsw_threshold = hnsw_threshold
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b

    def collection_dir(self, collection: str) -> Path:
        """Directory of ``collection``; the name must be a plain identifier, never a path."""
        return self.files.collection_dir(collection)

    def build(
        self,
        collection: str,
        chunks: Sequence[IndexedChunk],
        progress: Callable[[int, int], None] | None = None,
        *,
        fingerprint: str = "",
    ) -> GenerationMeta:
        """Index ``chunks`` as a new generation of ``collection`` and make it the live one.

        ``progress(done, total)`` is called as chunks are embedded. ``fingerprint`` is stored
        in the meta so that callers can tell which content a generation reflects.
        """
        started = time.perf_counter()
        tokenizer = self.tokenizer  # one tokenizer for the whole build, even if it is swapped
        base = self.collection_dir(collection)
        base.mkdir(parents=True, exist_ok=True)
        name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{secrets.token_hex(3)}"
        staging = base / f".{name}.tmp"
        staging.mkdir()
        try:
            texts = [normalize(c.index_text) for c in chunks]
            embedded = embed_passages_cached(self.embedder, self.cache, texts, progress=progress)
            vectors = build_vector_index(
                embedded.vectors, dim=self.embedder.dim, hnsw_threshold=self.hnsw_threshold
            )
            vectors.save(staging / VECTORS_FILE)
            bm25 = BM25Index.build(
                [tokenizer.tokenize(t) for t in texts],
                k1=self.bm25_k1,
                b=self.bm25_b,
            )
            bm25.save(staging / BM25_DIR)
            vocabulary = {
                "user_dict": tokenizer.user_dict_text,
                "synonyms": tokenizer.synonyms_text,
            }
            (staging / VOCABULARY_FILE).write_text(
                json.dumps(vocabulary, ensure_ascii=False), encoding="utf-8"
            )
            _write_chunks(staging / CHUNKS_FILE, chunks)
            meta = GenerationMeta(
                collection=collection,
                generation=name,
                embedder_name=self.embedder.name,
                embedder_version=self.embedder.version,
                dim=self.embedder.dim,
                chunk_count=len(chunks),
                built_at=datetime.now(UTC).isoformat(timespec="seconds"),
                build_seconds=round(time.perf_counter() - started, 3),
                tokenizer_version=tokenizer.version,
                fingerprint=fingerprint,
                vector_index=vectors.kind,
                embedded=embedded.computed,
                bm25_k1=self.bm25_k1,
                bm25_b=self.bm25_b,
            )
            (staging / META_FILE).write_text(meta.to_json(), encoding="utf-8")
            sync_tree(staging)  # its files on disk before any pointer can name them
            pause_point("generation-staged")
            staging.rename(base / name)
            sync_directory(base)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        previous = self.current_generation(collection)
        pause_point("before-switch")
        self.catalog.switch(collection, name)
        pause_point("after-switch")
        self._prune(base, keep={name, previous or name})
        logger.info(
            "built %s/%s: %d chunks, %d embedded, %.1fs",
            collection,
            name,
            meta.chunk_count,
            meta.embedded,
            meta.build_seconds,
        )
        return meta

    def current_generation(self, collection: str) -> str | None:
        """Name of the live generation, or None if the collection was never built."""
        return self.catalog.live(collection)

    def current_meta(self, collection: str) -> GenerationMeta | None:
        """Meta of the live generation, or None if the collection was never built."""
        name = self.current_generation(collection)
        if name is None:
            return None
        path = self.collection_dir(collection) / name / META_FILE
        try:
            return GenerationMeta.from_json(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

    def load(self, collection: str, generation: str | None = None) -> Generation:
        """Load the live (or the named) generation; refuse one built for another embedder."""
        name = generation or self.current_generation(collection)
        if name is None:
            raise IndexNotFoundError(f"collection {collection!r} has no index yet")
        path = self.collection_dir(collection) / name
        try:
            meta = GenerationMeta.from_json((path / META_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise IndexNotFoundError(
                f"generation {name!r} of collection {collection!r} is missing"
            ) from exc
        self.check_compatible(meta)
        chunks = _read_chunks(path / CHUNKS_FILE)
        bm25 = BM25Index.load(path / BM25_DIR)
        vectors = load_vector_index(path / VECTORS_FILE)
        if not len(chunks) == meta.chunk_count == bm25.doc_count == len(vectors):
            raise IndexMismatchError(
                f"generation {name!r} of {collection!r} is inconsistent: {meta.chunk_count} chunks "
                f"in meta, {len(chunks)} stored, {bm25.doc_count} in BM25, {len(vectors)} vectors"
            )
        if vectors.dim != meta.dim:
            raise IndexMismatchError(
                f"vector index of {collection!r} has dim {vectors.dim}, meta says {meta.dim}"
            )
        return Generation(
            meta=meta,
            path=path,
            chunks=chunks,
            bm25=bm25,
            vectors=vectors,
            tokenizer=self._tokenizer_of(path, meta),
        )

    def _tokenizer_of(self, path: Path, meta: GenerationMeta) -> Tokenizer:
        """The tokenizer ``meta``'s generation was built with, rebuilt from its vocabulary."""
        if meta.tokenizer_version == self.tokenizer.version:
            return self.tokenizer
        known = self._tokenizers.get(meta.tokenizer_version)
        if known is not None:
            return known
        try:
            vocabulary = json.loads((path / VOCABULARY_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return self.tokenizer  # built before generations kept their vocabulary
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
        # Keep the newest few: each vocabulary saved elsewhere adds one, and searchers that
        # still use an evicted one hold their own reference.
        while len(self._tokenizers) >= _KEPT_TOKENIZERS:
            self._tokenizers.pop(next(iter(self._tokenizers)))
        self._tokenizers[meta.tokenizer_version] = tokenizer
        return tokenizer

    def check_compatible(self, meta: GenerationMeta) -> None:
        """Raise :class:`IndexMismatchError` unless ``meta`` matches this format and embedder."""
        if meta.format_version != FORMAT_VERSION:
            raise IndexMismatchError(
                f"index {meta.collection}/{meta.generation} has format {meta.format_version}, "
                f"this build reads format {FORMAT_VERSION}; rebuild the index"
            )
        mine = (self.embedder.name, self.embedder.version, self.embedder.dim)
        theirs = (meta.embedder_name, meta.embedder_version, meta.dim)
        if mine != theirs:
            raise IndexMismatchError(
                f"index {meta.collection}/{meta.generation} was built with embedder "
                f"{theirs[0]} {theirs[1]} (dim {theirs[2]}), but the configured embedder is "
                f"{mine[0]} {mine[1]} (dim {mine[2]}); rebuild the index"
            )

    def _prune(self, base: Path, *, keep: set[str]) -> None:
        """Delete every generation but ``keep`` (the live one and its predecessor, which
        searches in flight may still read), and whatever killed builds left: staging
        directories, generations never switched in, half-written pointers. Builds of one
        collection are serialised by the caller (kb's collection lock), so none is in use."""
        for entry in base.iterdir():
            if entry.name in keep or entry.name == CURRENT_FILE:
                continue
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            elif entry.name.startswith(".") and entry.name.endswith(".tmp"):
                entry.unlink(missing_ok=True)


def _write_chunks(path: Path, chunks: Sequence[IndexedChunk]) -> None:
    rows = [_chunk_to_json(c) for c in chunks]
    path.write_text(json.dumps(rows, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


def _read_chunks(path: Path) -> list[IndexedChunk]:
    return [_chunk_from_json(row) for row in json.loads(path.read_text(encoding="utf-8"))]


_DATE_FIELDS = ("valid_from", "valid_to")
_TUPLE_FIELDS = ("section", "tags")


def _chunk_to_json(chunk: IndexedChunk) -> dict[str, Any]:
    data = asdict(chunk)
    for key in _DATE_FIELDS:
        if data[key] is not None:
            data[key] = data[key].isoformat()
    return data


def _chunk_from_json(data: dict[str, Any]) -> IndexedChunk:
    known = {f.name for f in fields(IndexedChunk)}
    values = {k: v for k, v in data.items() if k in known}
    for key in _DATE_FIELDS:
        if values.get(key) is not None:
            values[key] = date.fromisoformat(values[key])
    for key in _TUPLE_FIELDS:
        if key in values:
            values[key] = tuple(values[key])
    return IndexedChunk(**values)
