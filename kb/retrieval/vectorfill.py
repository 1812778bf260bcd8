"""Keyword-findable first, vectors after: the second phase of indexing a change.

An upload whose passages are not all in the embedding cache is switched in without their vectors
(``reindex_documents(..., keywords_first=True)``: a delta segment with BM25 postings only), so it
answers keyword queries at once. :func:`fill_vectors` then embeds those passages into the cache
holding no lock, and under the collection's lock writes their vectors as a delta that replaces
the same rows. A document deleted or replaced meanwhile no longer waits (its own change wins);
a replacement's new passages are embedded by whoever fills next.
"""

from __future__ import annotations

import logging
import time

from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.retrieval.indexing import Progress, live_chunks, reindex_documents
from search.cache import embed_passages_cached
from search.normalize import normalize

log = logging.getLogger(__name__)


def awaiting_vectors(kb: KnowledgeBase, collection: str) -> set[str]:
    """Ids of the documents ``collection``'s live generation serves by keywords only."""
    return kb.index_store.awaiting_vectors(collection)


def embed_awaiting(kb: KnowledgeBase, collection: str, progress: Progress | None = None) -> int:
    """Embed into the cache (no lock held) the passages of the documents waiting for vectors;
    returns how many passages were computed (the rest were cached)."""
    waiting = awaiting_vectors(kb, collection)
    if not waiting:
        return 0
    with session_scope(kb.engine) as session:
        chunks = live_chunks(session, collection, waiting)
    store = kb.index_store
    texts = [normalize(c.index_text) for c in chunks]
    started = time.perf_counter()
    computed = embed_passages_cached(store.embedder, store.cache, texts, progress=progress).computed
    store.count_built(computed, time.perf_counter() - started)  # a worker's embedding metrics
    return computed


def complete_vectors(kb: KnowledgeBase, collection: str, progress: Progress | None = None) -> int:
    """For a caller holding the collection's lock: write the vectors of the documents still
    waiting (embedding what the cache lacks); returns how many documents got them."""
    waiting = awaiting_vectors(kb, collection)
    if waiting:
        reindex_documents(kb, collection, waiting, progress)
        log.info("vectors of %d documents of %r written", len(waiting), collection)
    return len(waiting)


def fill_vectors(kb: KnowledgeBase, collection: str, progress: Progress | None = None) -> int:
    """Both steps: embed outside the lock (writers of the collection are not held up), then
    switch the vectors in under it. Returns the documents completed."""
    embed_awaiting(kb, collection, progress)
    with kb.collection_lock(collection):
        return complete_vectors(kb, collection)
