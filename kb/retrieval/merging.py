"""Background merges of a collection's delta segments (``search/merging.py`` does the work).

The write that takes the deltas past the merge policy's limits returns at once, its delta
published; :func:`request_merge` then merges in a thread of this process, holding the writer's
lease only for the switch. :func:`merge_segments` is the one function every caller runs: that
thread, ``kb index merge`` and a job queue alike. Searches keep answering from the live
generation throughout; writes during a merge land as deltas on top of the merged main.
"""

from __future__ import annotations

import logging
import threading

from sqlmodel import col, select

from kb.context import KnowledgeBase, Slot
from kb.db import session_scope
from kb.models import IngestJob
from kb.queue.claims import enqueue
from kb.types import collection_name
from search.index import GenerationMeta
from search.merging import finish_merge, merge_lock, prepare_merge
from search.pause import pause_point

log = logging.getLogger(__name__)


def merge_segments(kb: KnowledgeBase, collection: str) -> GenerationMeta | None:
    """Merge ``collection``'s live segments into one main segment and switch to it. None when
    there was nothing to merge, another merge of it runs, or a rebuild overtook this one."""
    collection_name(collection)
    store = kb.index_store
    with merge_lock(store, collection) as mine:
        if not mine:
            log.info("a merge of %r is already running", collection)
            return None
        prepared = prepare_merge(store, collection)
        if prepared is None:
            return None
        pause_point("merge-staged")
        with kb.collection_lock(collection):  # writers wait only for this
            meta = finish_merge(store, prepared)
    if meta is not None:
        log.info("merged %r: %d chunks in %s", collection, meta.chunk_count, meta.generation)
    return meta


class BackgroundMerges:
    """At most one merge thread per collection in this process."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self._kb = kb
        self._threads: dict[str, threading.Thread] = {}
        self._guard = threading.Lock()

    def request(self, collection: str) -> bool:
        """Start merging ``collection`` unless a merge of it runs here; True if one started."""
        with self._guard:
            running = self._threads.get(collection)
            if running is not None and running.is_alive():
                return False
            # Not a daemon: a process that ends (``kb ingest``) finishes its merge first.
            thread = threading.Thread(
                target=self._run, args=(collection,), name=f"merge-{collection}"
            )
            self._threads[collection] = thread
        thread.start()
        return True

    def running(self, collection: str) -> bool:
        """True while a merge of ``collection`` started here runs."""
        with self._guard:
            thread = self._threads.get(collection)
        return thread is not None and thread.is_alive()

    def _run(self, collection: str) -> None:
        try:
            merge_segments(self._kb, collection)
        except Exception:  # the deltas keep serving; the next write past the limits retries
            log.exception("background merge of %r failed", collection)

    def wait(self, timeout: float | None = None) -> None:
        """Until every merge started here has finished (or ``timeout`` seconds)."""
        with self._guard:
            threads = list(self._threads.values())
        for thread in threads:
            thread.join(timeout)


_MERGES: Slot[BackgroundMerges] = Slot("retrieval.merges", BackgroundMerges)


def background_merges(kb: KnowledgeBase) -> BackgroundMerges:
    return kb.state(_MERGES)


def request_merge(kb: KnowledgeBase, collection: str) -> bool:
    """Merge ``collection`` in the background if its deltas are due; True if a merge started
    (or, with ``KB_WORKERS=external``, was queued for a ``kb worker``: web processes then never
    spend their cores on it)."""
    if not kb.index_store.merge_due(collection):
        return False
    if kb.settings.workers == "external":
        return queue_merge(kb, collection)
    return background_merges(kb).request(collection)


def queue_merge(kb: KnowledgeBase, collection: str) -> bool:
    """Queue a ``merge`` job for ``collection`` unless one is already waiting or running."""
    with session_scope(kb.engine) as session:
        waiting = session.exec(
            select(IngestJob.id).where(
                IngestJob.kind == "merge",
                IngestJob.collection == collection,
                col(IngestJob.status).in_(("queued", "running")),
            )
        ).first()
    if waiting is not None:
        return False
    enqueue(kb, IngestJob(kind="merge", collection=collection, stage="queued"))
    return True
