"""Index generations on disk: ``root/<collection>/<generation>/`` plus a ``CURRENT`` pointer.

A generation holds the FAISS index (``vectors.faiss``), the BM25 state (``bm25/``), the chunks
in row order (``chunks/``, memory-mapped columns, ``search/chunktable.py``; ``chunks.json`` in
format 1: row ``i`` of both indexes is chunk ``i``, which is the id map),
the vocabulary its BM25 tokens were cut with (``vocabulary.json``: queries are cut the same way,
whatever the process's current vocabulary) and ``meta.json``. A new generation is written
beside the live one under a hidden temporary name, flushed to disk (fsync), renamed into place,
and then ``CURRENT`` is replaced atomically (``os.replace`` of a pointer file, then an fsync of
the folder); searchers that already loaded the old generation keep it in memory, so
searches in flight finish on it.

Changing a few documents (:meth:`IndexStore.update`) writes a *delta* generation instead: only
their chunks (without vectors at first if the caller wants them keyword-findable at once), and a
manifest of the segments it serves and their dead rows (``search/segments.py``).
"""

from __future__ import annotations

import json
import logging
import math
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from search.bm25 import BM25Index
from search.cache import EmbeddingCache, embed_passages_cached
from search.chunktable import write_table
from search.compatibility import check_compatible
from search.durable import sync_directory, sync_tree
from search.embedders.base import Embedder
from search.generation import (
    BM25_DIR,
    META_FILE,
    VECTORS_FILE,
    VOCABULARY_FILE,
    Generation,
    GenerationMeta,
    IndexMismatchError,
    IndexNotFoundError,
    SegmentCache,
    load_generation,
    tokenizer_of,
)

# Re-exported: callers import these from here.
from search.generation import CHUNKS_DIR as CHUNKS_DIR
from search.generation import FORMAT_VERSION as FORMAT_VERSION
from search.generation import SearchIndexError as SearchIndexError
from search.generations import CURRENT_FILE, FileGenerationCatalog, GenerationCatalog, superseded
from search.normalize import normalize
from search.pause import pause_point
from search.postings import Postings
from search.scripts import save_shares
from search.segments import (
    Manifest,
    MergePolicy,
    SegmentDocuments,
    awaiting_vectors,
    combine,
    mark_unembedded,
    plan_delta,
    referenced,
)
from search.tokenize import Tokenizer
from search.types import IndexedChunk
from search.vectorindex import FaissBackend, MissingVectors, VectorBackend
from search.vectorstore import DEFAULT_HNSW_THRESHOLD

logger = logging.getLogger(__name__)


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
        merge_policy: MergePolicy | None = None,
        keep_superseded_seconds: float = 0.0,
        vector_backend: VectorBackend | None = None,
    ) -> None:
        self.root = root
        self.keep_superseded_seconds = keep_superseded_seconds
        self.files = FileGenerationCatalog(root)  # where generations live on disk
        self.catalog: GenerationCatalog = catalog or self.files  # which one is live
        self.embedder = embedder
        self.cache = cache
        self.tokenizer = tokenizer or Tokenizer()
        # jieba's dictionary is ~50 MB per tokenizer: generations with one vocabulary share one.
        self._tokenizers: dict[str, Tokenizer] = {}
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b
        self.merge_policy = merge_policy or MergePolicy()
        self.vector_backend: VectorBackend = vector_backend or FaissBackend(hnsw_threshold)
        self._segments = SegmentCache(self.vector_backend)
        # This process's own builds' embedded passages and seconds (a shared index's live meta
        # may be another process's): a worker's metrics.
        self.built_here: tuple[int, float] = (0, 0.0)
        self._built_lock = threading.Lock()

    def collection_dir(self, collection: str) -> Path:
        return self.files.collection_dir(collection)  # a plain identifier, never a path

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
        name = _new_name()

        def write(staging: Path) -> GenerationMeta:
            embedded, kind = self._write_segment(staging, chunks, tokenizer, progress, main=True)
            return self._write_meta(
                staging, collection, name, tokenizer, started,
                chunk_count=len(chunks), fingerprint=fingerprint, vector_index=kind,
                embedded=embedded,
            )  # fmt: skip

        return self._publish(collection, name, write)

    def update(
        self,
        collection: str,
        documents: Collection[str],
        chunks: Sequence[IndexedChunk],
        progress: Callable[[int, int], None] | None = None,
        *,
        embed: bool = True,
    ) -> GenerationMeta | None:
        """Serve ``chunks`` as the live chunks of ``documents`` (none: deleted) in a delta
        generation and make it the live one; the work is in proportion to ``chunks``, not the
        collection. Without ``embed`` their segment has no vectors: keyword-findable at once,
        until a later update of the same documents replaces its rows (:meth:`awaiting_vectors`).

        None, writing nothing, when the live generation cannot take a delta (none yet, another
        embedder or vocabulary, or built before segments kept their maps) or when the merge
        policy says the deltas are due a merge: then the caller rebuilds the collection.
        """
        started = time.perf_counter()
        tokenizer = self.tokenizer
        live = self.current_generation(collection)
        meta = self.current_meta(collection)
        if live is None or meta is None or meta.generation != live:
            return None
        if meta.tokenizer_version != tokenizer.version or not _compatible(self, meta):
            return None
        ordered = sorted(chunks, key=lambda c: c.document_id)  # a document's rows consecutive
        base = self.collection_dir(collection)
        # Keywords first never waits for a rebuild (it would embed): the vectors' delta may.
        policy = self.merge_policy if embed else replace(self.merge_policy, ceiling=math.inf)
        plan = plan_delta(base, live, set(documents), len(ordered), policy)
        if plan is None:
            return None
        name = _new_name()

        def write(staging: Path) -> GenerationMeta:
            segments, shares, embedded = list(plan.segments), list(plan.live_shares), 0
            if ordered:
                embedded, _ = self._write_segment(
                    staging, ordered, tokenizer, progress, main=False, embed=embed
                )
                added = SegmentDocuments.of(ordered)
                assert added is not None  # sorted by document
                shares += [rows.share for rows in added.documents.values()]
                segments.append(name)
            Manifest(segments, plan.deleted).save(staging)
            return self._write_meta(
                staging, collection, name, tokenizer, started,
                chunk_count=plan.live_rows + len(ordered), fingerprint=combine(shares),
                vector_index=meta.vector_index, embedded=embedded,
                unembedded=plan.unembedded_rows + (0 if embed else len(ordered)),
            )  # fmt: skip

        return self._publish(collection, name, write)

    def awaiting_vectors(self, collection: str) -> set[str]:
        """Documents the live generation serves by keywords only (their vectors not yet in)."""
        meta = self.current_meta(collection)
        if meta is None or not meta.unembedded:
            return set()
        return awaiting_vectors(self.collection_dir(collection), meta.generation)

    def _write_segment(
        self,
        staging: Path,
        chunks: Sequence[IndexedChunk],
        tokenizer: Tokenizer,
        progress: Callable[[int, int], None] | None,
        *,
        main: bool,
        given: np.ndarray | None = None,
        embed: bool = True,
    ) -> tuple[int, str]:
        """Write a segment of ``chunks``; returns how many were embedded and the vector kind.
        With ``given`` vectors (a merge: the segments' own), nothing is embedded; without
        ``embed``, nothing either and the segment has no vectors (a marker says so)."""
        texts = [normalize(c.index_text) for c in chunks]
        computed = 0
        kind = MissingVectors.kind
        if not embed:
            mark_unembedded(staging, len(chunks), self.embedder.dim)
        else:
            if given is None:
                found = embed_passages_cached(self.embedder, self.cache, texts, progress=progress)
                given, computed = found.vectors, found.computed
            # Staged as .<name>.tmp by _publish, or as <name> aside by a merge (merging.py).
            segment = staging.name.removeprefix(".").removesuffix(".tmp")
            vectors = self.vector_backend.build(
                given, dim=self.embedder.dim, collection=staging.parent.name, segment=segment
            )
            vectors.save(staging / VECTORS_FILE)
            kind = vectors.kind
        tokens = [tokenizer.tokenize(t) for t in texts]
        if main:  # a main segment alone is scored by bm25s's precomputed scores
            BM25Index.build(tokens, k1=self.bm25_k1, b=self.bm25_b).save(staging / BM25_DIR)
        Postings.build(tokens).save(staging / BM25_DIR)
        write_table(staging, chunks)
        save_shares(staging, chunks)
        documents = SegmentDocuments.of(chunks)
        if documents is not None:  # else the generation cannot take deltas: changes rebuild
            documents.save(staging)
        return computed, kind

    def _write_meta(
        self,
        staging: Path,
        collection: str,
        name: str,
        tokenizer: Tokenizer,
        started: float,
        *,
        chunk_count: int,
        fingerprint: str,
        vector_index: str,
        embedded: int,
        unembedded: int = 0,
    ) -> GenerationMeta:
        vocabulary = {"user_dict": tokenizer.user_dict_text, "synonyms": tokenizer.synonyms_text}
        (staging / VOCABULARY_FILE).write_text(
            json.dumps(vocabulary, ensure_ascii=False), encoding="utf-8"
        )
        meta = GenerationMeta(
            collection=collection,
            generation=name,
            embedder_name=self.embedder.name,
            embedder_version=self.embedder.version,
            dim=self.embedder.dim,
            chunk_count=chunk_count,
            built_at=datetime.now(UTC).isoformat(timespec="seconds"),
            build_seconds=round(time.perf_counter() - started, 3),
            tokenizer_version=tokenizer.version,
            fingerprint=fingerprint,
            vector_index=vector_index,
            embedded=embedded,
            bm25_k1=self.bm25_k1,
            bm25_b=self.bm25_b,
            unembedded=unembedded,
        )
        (staging / META_FILE).write_text(meta.to_json(), encoding="utf-8")
        return meta

    def _publish(
        self, collection: str, name: str, write: Callable[[Path], GenerationMeta]
    ) -> GenerationMeta:
        """Write a generation under a temporary name, move it into place and switch to it."""
        base = self.collection_dir(collection)
        base.mkdir(parents=True, exist_ok=True)
        staging = base / f".{name}.tmp"
        staging.mkdir()
        try:
            meta = write(staging)
            sync_tree(staging)  # its files on disk before any pointer can name them
            pause_point("generation-staged")
            staging.rename(base / name)
            sync_directory(base)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self.switch_to(collection, name)
        self.count_built(meta.embedded, meta.build_seconds)
        m = meta
        logger.info("built %s/%s: %d chunks, %d embedded, %d without vectors, %.1fs", collection,
                    name, m.chunk_count, m.embedded, m.unembedded, m.build_seconds)  # fmt: skip
        return meta

    def count_built(self, embedded: int, seconds: float) -> None:
        """Add to :attr:`built_here` (a build's, or passages embedded for a later one)."""
        with self._built_lock:
            done, spent = self.built_here
            self.built_here = (done + embedded, spent + seconds)

    def switch_to(self, collection: str, name: str) -> None:
        """Make generation ``name`` (in place and on disk) the live one; prune the older ones."""
        previous = self.current_generation(collection)
        pause_point("before-switch")
        self.catalog.switch(collection, name)
        pause_point("after-switch")
        self._prune(self.collection_dir(collection), keep={name, previous or name})

    def merge_due(self, collection: str) -> bool:
        """True when the live generation's deltas are past the merge policy's limits."""
        live, base = self.current_generation(collection), self.collection_dir(collection)
        plan = live and plan_delta(base, live, set(), 0, self.merge_policy)
        return bool(plan and plan.merge_due)

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
        tokenizer = self._tokenizer_of(path, meta)
        return load_generation(self._segments, collection, path, meta, tokenizer)

    def _tokenizer_of(self, path: Path, meta: GenerationMeta) -> Tokenizer:
        """The tokenizer ``meta``'s generation was built with, rebuilt from its vocabulary."""
        return tokenizer_of(path, meta, self.tokenizer, self._tokenizers)

    def check_compatible(self, meta: GenerationMeta) -> None:
        """Raise :class:`IndexMismatchError` unless ``meta`` matches this format and embedder."""
        check_compatible(meta, self.embedder, self.vector_backend)

    def _prune(self, base: Path, *, keep: set[str]) -> None:
        """Delete every generation but ``keep`` (the live one and its predecessor, which
        searches in flight may still read), and whatever killed builds left: staging
        directories, generations never switched in, half-written pointers. Builds of one
        collection are serialised by the caller (kb's collection lock), so none is in use.
        The segments the kept ones serve are kept with them."""
        keep = keep | superseded(base, self.keep_superseded_seconds)
        keep = set().union(*(referenced(base / name) for name in keep))
        self.vector_backend.sweep(base.name, keep)
        for entry in base.iterdir():
            if entry.name in keep or entry.name == CURRENT_FILE:
                continue
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            elif entry.name.startswith(".") and entry.name.endswith(".tmp"):
                entry.unlink(missing_ok=True)


def _new_name() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{secrets.token_hex(3)}"


def _compatible(store: IndexStore, meta: GenerationMeta) -> bool:
    try:
        store.check_compatible(meta)
    except IndexMismatchError:
        return False
    return True
