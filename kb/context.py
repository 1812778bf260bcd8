"""The running knowledge base: settings, database engine, (lazily) the search machinery and
every room's per-process state."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from sqlmodel import col, select

from kb.db import make_engine, session_scope
from kb.faults import check_writable
from kb.models import VocabularyRecord
from kb.settings import Settings

if TYPE_CHECKING:
    from search.cache import EmbeddingCache
    from search.embedders.base import Embedder
    from search.encoder import QueryEncoder
    from search.generations import GenerationCatalog
    from search.index import IndexStore
    from search.registry import SearcherCache
    from search.tokenize import Tokenizer
    from search.vectorindex import VectorBackend

log = logging.getLogger(__name__)

T = TypeVar("T")

SHARED_KEEP_SECONDS = 300.0  # a shared index keeps replaced generations five minutes


class Slot(Generic[T]):
    """One kind of per-process state a room keeps on every KnowledgeBase (caches, runners).

    The room module defines the slot (a constant) and its typed accessor; ``make`` builds the
    value for one knowledge base on first use. Slots are keyed by identity, so rooms never clash.
    """

    def __init__(self, name: str, make: Callable[[KnowledgeBase], T]) -> None:
        self.name = name
        self.make = make

    def __repr__(self) -> str:
        return f"Slot({self.name!r})"


class KnowledgeBase:
    """Built once per process and passed in; heavy parts load on first use, never at import.

    ``embedder`` (any :class:`Embedder`, e.g. the running knowledge base's, or the benches'
    stored query vectors) is injected, or made from the settings on first use; either way
    every query vector goes through one :class:`QueryEncoder`. ``catalog`` (which generation
    is live, the writers' leases) defaults to the index folder's ``CURRENT`` files and flocks, or
    to the database's when the index is shared (``KB_SHARED``).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        catalog: GenerationCatalog | None = None,
    ) -> None:
        self.settings = settings
        self._given_embedder = embedder
        self._encoder: QueryEncoder | None = None
        self._encoder_guard = threading.Lock()
        self._tokenizer: Tokenizer | None = None
        check_writable(settings)  # a clear start-up error, not a failure at the first write
        self.engine = make_engine(settings)
        try:
            # Which generation of each collection is live, and the writers' leases.
            self.catalog: GenerationCatalog = catalog or self._make_catalog()
        except BaseException:
            self.engine.dispose()
            raise
        self._tokenizer_guard = threading.RLock()  # re-entrant: refresh reads the property
        self._state: dict[Slot[Any], object] = {}
        self._state_guard = threading.RLock()  # re-entrant: a slot's ``make`` may use another

    def _make_catalog(self) -> GenerationCatalog:
        """The index folder's files and flocks on one host; the database's rows and advisory
        locks when several processes share the index (``KB_SHARED``)."""
        if self.settings.shared:
            from kb.shared_index import PostgresGenerationCatalog

            return PostgresGenerationCatalog(
                self.engine, self.settings.index_dir, poll_seconds=self.settings.index_poll_seconds
            )
        from search.generations import FileGenerationCatalog

        return FileGenerationCatalog(self.settings.index_dir)

    @property
    def shared(self) -> bool:
        """Whether other processes serve (and may write) this knowledge base's index too."""
        return self.settings.shared

    def state(self, slot: Slot[T]) -> T:
        """This knowledge base's value of ``slot`` in this process, made on first use."""
        with self._state_guard:
            if slot not in self._state:
                self._state[slot] = slot.make(self)
            return cast(T, self._state[slot])

    def replace_state(self, slot: Slot[T], value: T) -> None:
        """Put a fresh value in ``slot`` (a cache rebuilt after its source changed)."""
        with self._state_guard:
            self._state[slot] = value

    def drop_state(self, slot: Slot[T]) -> T | None:
        """Take ``slot``'s value off this knowledge base (to shut it down); None if never made."""
        with self._state_guard:
            return cast("T | None", self._state.pop(slot, None))

    @property
    def encoder(self) -> QueryEncoder:
        """The one owner of query vectors (and the embedder of passages), made on first use."""
        with self._encoder_guard:
            if self._encoder is None:
                from search.embedders.factory import make_embedder
                from search.encoder import QueryEncoder

                inner = self._given_embedder or make_embedder(
                    self.settings.embedder, remote=self.settings.remote_embedder
                )
                self._encoder = QueryEncoder.of(inner)
            return self._encoder

    @property
    def embedder(self) -> Embedder:
        """The query encoder, seen as the embedder it wraps (passages go straight through)."""
        return self.encoder

    @cached_property
    def embedding_cache(self) -> EmbeddingCache:
        from search.cache import EmbeddingCache

        self.settings.embedding_cache_path.parent.mkdir(parents=True, exist_ok=True)
        return EmbeddingCache(self.settings.embedding_cache_path)

    @property
    def tokenizer(self) -> Tokenizer:
        """Cuts BM25 tokens for new index generations: the operator's files plus the edits."""
        with self._tokenizer_guard:
            if self._tokenizer is None:
                self._tokenizer = self._make_tokenizer()
            return self._tokenizer

    def latest_vocabulary(self) -> VocabularyRecord | None:
        """The vocabulary knowledge managers saved last (by any process), if any."""
        with session_scope(self.engine) as session:
            return session.exec(
                select(VocabularyRecord).order_by(col(VocabularyRecord.id).desc()).limit(1)
            ).first()

    def refresh_tokenizer(self) -> bool:
        """Pick up a vocabulary saved since this process loaded its own (by any process).

        Called before every index build, so a server never rebuilds with a stale vocabulary after
        a CLI or another worker changed it. True when the tokenizer changed.
        """
        fresh = self._make_tokenizer()
        with self._tokenizer_guard:
            if fresh.version == self.tokenizer.version:
                return False
            # New generations use it; live ones keep the tokenizer they were cut with.
            self._tokenizer = fresh
            if "index_store" in self.__dict__:
                self.index_store.tokenizer = fresh
        log.info("vocabulary changed: tokenizer is now %s", fresh.version)
        return True

    def _make_tokenizer(self) -> Tokenizer:
        from search.tokenize import Tokenizer

        edited = self.latest_vocabulary()
        return Tokenizer(
            user_dict=self.settings.user_dict,
            synonyms=self.settings.synonyms,
            user_dict_text=edited.user_dict if edited else "",
            synonyms_text=edited.synonyms if edited else "",
        )

    @cached_property
    def index_store(self) -> IndexStore:
        from search.index import IndexStore

        return IndexStore(
            self.settings.index_dir,
            self.embedder,
            self.embedding_cache,
            tokenizer=self.tokenizer,
            catalog=self.catalog,
            hnsw_threshold=self.settings.hnsw_threshold,
            # Other hosts may still map a replaced generation: far longer than a poll and a load.
            keep_superseded_seconds=SHARED_KEEP_SECONDS if self.settings.shared else 0.0,
            vector_backend=self.vector_backend,
        )

    @cached_property
    def vector_backend(self) -> VectorBackend:
        """Where index segments keep their vectors (``KB_VECTOR_BACKEND``)."""
        settings = self.settings
        if settings.vector_backend == "faiss":
            from search.vectorindex import FaissBackend

            return FaissBackend(settings.hnsw_threshold)
        from search.milvus_index import MilvusBackend, MilvusConfig

        token = settings.milvus_token
        return MilvusBackend(
            MilvusConfig(
                uri=settings.milvus_uri or str((settings.data_dir / "milvus.db").resolve()),
                token=token.get_secret_value() if token else None,
                prefix=settings.milvus_prefix,
                hnsw_threshold=settings.hnsw_threshold,
            )
        )

    @cached_property
    def searchers(self) -> SearcherCache:
        from search.registry import SearcherCache

        return SearcherCache(self.index_store, self.settings.fusion_config, self.settings.skip_rule)

    def collection_lock(
        self, collection: str, *, wait: bool = True
    ) -> AbstractContextManager[bool]:
        """Serialises writes (ingest, delete, rebuild) to one collection: the catalogue's writer
        lease, across the threads of this process and across processes (CLI beside the server).

        Yields True once held; with ``wait=False`` it yields False at once if another writer
        holds it (``kb check`` looks at a collection only while nobody writes it)."""
        return self.catalog.lease(collection, wait=wait)

    def close(self) -> None:
        backend = self.__dict__.get("vector_backend")
        if backend is not None and hasattr(backend, "close"):
            backend.close()
        self.engine.dispose()
