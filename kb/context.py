"""The running knowledge base: settings, database engine and (lazily) the search machinery."""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING

from kb.db import make_engine
from kb.settings import Settings

if TYPE_CHECKING:
    from search.cache import EmbeddingCache
    from search.embedders.base import Embedder
    from search.index import IndexStore
    from search.registry import SearcherCache
    from search.tokenize import Tokenizer


class KnowledgeBase:
    """Built once per process and passed in; heavy parts load on first use, never at import."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = make_engine(settings)
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    @cached_property
    def embedder(self) -> Embedder:
        from search.embedders.factory import make_embedder
        from search.embedders.memo import QueryMemo

        return QueryMemo(make_embedder(self.settings.embedder))

    @cached_property
    def embedding_cache(self) -> EmbeddingCache:
        from search.cache import EmbeddingCache

        self.settings.embedding_cache_path.parent.mkdir(parents=True, exist_ok=True)
        return EmbeddingCache(self.settings.embedding_cache_path)

    @cached_property
    def tokenizer(self) -> Tokenizer:
        """Cuts BM25 tokens for new index generations (``kb.vocabulary``: files + edits)."""
        from kb.vocabulary import make_tokenizer

        return make_tokenizer(self)

    def use_tokenizer(self, tokenizer: Tokenizer) -> None:
        """Build new generations with ``tokenizer`` (live ones keep the one they were cut with)."""
        self.__dict__["tokenizer"] = tokenizer
        if "index_store" in self.__dict__:
            self.index_store.tokenizer = tokenizer

    @cached_property
    def index_store(self) -> IndexStore:
        from search.index import IndexStore

        return IndexStore(
            self.settings.index_dir,
            self.embedder,
            self.embedding_cache,
            tokenizer=self.tokenizer,
            hnsw_threshold=self.settings.hnsw_threshold,
        )

    @cached_property
    def searchers(self) -> SearcherCache:
        from search.registry import SearcherCache

        s = self.settings
        return SearcherCache(
            self.index_store,
            fusion=s.fusion,
            alpha=s.fusion_alpha,
            rrf_k=s.rrf_k,
            bm25_weight=s.rrf_bm25_weight,
            vector_weight=s.rrf_vector_weight,
            bm25_scale=s.fusion_bm25_scale,
            depth=s.fusion_depth,
        )

    @contextmanager
    def collection_lock(self, collection: str) -> Iterator[None]:
        """Serialises writes (ingest, delete, rebuild) to one collection: across the threads of
        this process, and across processes (CLI beside the server) with a lock file."""
        with self._locks_guard:
            lock = self._locks.setdefault(collection, threading.Lock())
        lock_dir = self.settings.index_dir / ".locks"
        lock_dir.mkdir(parents=True, exist_ok=True)
        with lock, open(lock_dir / f"{collection}.lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def close(self) -> None:
        self.engine.dispose()
