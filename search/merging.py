"""Merging a generation's segments into one main segment, so that writers wait only for the switch.

:func:`prepare_merge` holds no writer's lease: it reads the live generation G (its live chunks
and their vectors: nothing is embedded again, nothing read from SQL) and writes one main segment
of them aside, under ``<root>/.merging/<collection>/``. :func:`finish_merge` runs under the
lease: if G is still live it switches to the merged main; if writers changed the collection
meanwhile (deltas on top of G), the merged main takes the place of G's segments in a new
generation that keeps those deltas and hides the merged rows they replaced or deleted; if the
collection was rebuilt meanwhile (another main), the merge is dropped. A merge changes no live
chunk, so whatever point it is killed at, the generation ``CURRENT`` names serves the same rows.

Merges of one collection are serialised by an ``flock`` of their own (:func:`merge_lock`), across
the threads and processes of one host; whoever takes it clears what a killed merge left aside.
"""

from __future__ import annotations

import fcntl
import logging
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from search.durable import sync_directory, sync_tree
from search.generation import META_FILE, VOCABULARY_FILE, GenerationMeta
from search.generations import LOCKS_DIR
from search.index import IndexStore, _new_name
from search.segments import Manifest, SegmentDocuments

logger = logging.getLogger(__name__)

MERGING_DIR = ".merging"


@dataclass(frozen=True)
class PreparedMerge:
    """A merged main segment written aside, and the generation it merges."""

    collection: str
    base: str  # the generation merged
    manifest: Manifest  # its segments and deleted documents
    name: str  # the merged main's generation name
    staged: Path  # where it waits, synced, until the switch
    meta: GenerationMeta  # the merged main's (the same rows as ``base``)


@contextmanager
def merge_lock(store: IndexStore, collection: str) -> Iterator[bool]:
    """Yields True when this caller may merge ``collection`` (False at once if a merge runs);
    what a killed merge left aside is removed first."""
    store.collection_dir(collection)  # the name must be a plain identifier
    locks = store.root / LOCKS_DIR
    locks.mkdir(parents=True, exist_ok=True)
    with open(locks / f"{collection}.merge.lock", "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            shutil.rmtree(_aside(store, collection), ignore_errors=True)
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def prepare_merge(store: IndexStore, collection: str) -> PreparedMerge | None:
    """Write the live generation's rows as one main segment aside (no lease needed); None when
    it is one segment already. The caller holds :func:`merge_lock`."""
    started = time.perf_counter()
    live = store.current_generation(collection)
    if live is None:
        return None
    manifest = Manifest.load(store.collection_dir(collection) / live)
    if manifest is None:
        return None  # a main segment alone: nothing to merge
    meta = store.current_meta(collection)
    if meta is not None and meta.unembedded:
        return None  # rows without vectors yet: merged after the delta that brings them
    generation = store.load(collection, live)
    chunks = list(generation.chunks)
    # By document, stably: a document's rows consecutive, as a main segment keeps them.
    order = sorted(range(len(chunks)), key=lambda i: chunks[i].document_id)
    ordered = [chunks[i] for i in order]
    vectors = generation.vectors.vectors(np.asarray(order, dtype=np.int64))
    name = _new_name()
    staged = _aside(store, collection) / name
    staged.mkdir(parents=True)
    try:
        tokenizer = generation.tokenizer  # the rows were cut with it; keep cutting them so
        _, kind = store._write_segment(staged, ordered, tokenizer, None, main=True, given=vectors)
        meta = store._write_meta(
            staged, collection, name, tokenizer, started,
            chunk_count=len(ordered), fingerprint=generation.meta.fingerprint, vector_index=kind,
            embedded=0,
        )  # fmt: skip
        sync_tree(staged)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    logger.info("merged %s/%s aside: %d rows of %d segments", collection, live,
                len(ordered), generation.segments)  # fmt: skip
    return PreparedMerge(collection, live, manifest, name, staged, meta)


def finish_merge(store: IndexStore, prepared: PreparedMerge) -> GenerationMeta | None:
    """Switch to the merged main (rebased on deltas written since); the caller holds the
    collection's writer lease. None when the collection was rebuilt meanwhile (dropped)."""
    collection = prepared.collection
    base = store.collection_dir(collection)
    current = store.current_generation(collection)
    current_meta = store.current_meta(collection)
    now = Manifest.load(base / current) if current else None
    merged = prepared.manifest
    if (
        current is None
        or current_meta is None
        or now is None
        or (
            now.segments[0] != merged.segments[0]
            or current_meta.tokenizer_version != prepared.meta.tokenizer_version
        )
    ):
        logger.info("merge of %s/%s dropped: rebuilt meanwhile", collection, prepared.base)
        shutil.rmtree(prepared.staged, ignore_errors=True)
        return None
    gone: set[str] = set()  # documents of the merged rows replaced or deleted since
    for segment in merged.segments:
        documents = SegmentDocuments.load(base / segment)
        assert documents is not None  # a generation with a manifest has its maps
        live = documents.documents.keys() - set(merged.deleted.get(segment, ()))
        if segment in now.segments:
            gone |= live & set(now.deleted.get(segment, ()))
        else:
            gone |= live  # a delta dropped since: every document of it was deleted
    since = [s for s in now.segments if s not in merged.segments]
    prepared.staged.rename(base / prepared.name)
    sync_directory(base)
    if not gone and not since:
        store.switch_to(collection, prepared.name)
        return prepared.meta
    deleted = {s: now.deleted[s] for s in since if s in now.deleted}
    if gone:
        deleted[prepared.name] = sorted(gone)
    name = _new_name()

    def write(staging: Path) -> GenerationMeta:
        Manifest([prepared.name, *since], deleted).save(staging)
        vocabulary = base / current / VOCABULARY_FILE
        if vocabulary.is_file():
            shutil.copyfile(vocabulary, staging / VOCABULARY_FILE)
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        meta = replace(current_meta, generation=name, built_at=stamp, build_seconds=0.0)
        (staging / META_FILE).write_text(meta.to_json(), encoding="utf-8")
        return meta

    return store._publish(collection, name, write)


def _aside(store: IndexStore, collection: str) -> Path:
    return store.root / MERGING_DIR / collection
