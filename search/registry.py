"""The live searcher of each collection, reloaded when the generation catalogue says it changed."""

from __future__ import annotations

import logging
import threading
from collections.abc import Hashable
from dataclasses import dataclass

from search.decisive import SkipRule
from search.fusion import FusionConfig
from search.hybrid import HybridSearcher
from search.index import IndexNotFoundError, IndexStore, SearchIndexError

logger = logging.getLogger(__name__)

_LOAD_ATTEMPTS = 5  # generations replaced while one loads: more means writers never pause


@dataclass
class _Entry:
    signature: Hashable  # the catalogue's version of the collection when it was loaded
    generation: str
    searcher: HybridSearcher


class SearcherCache:
    """Hands out the searcher of a collection's live generation.

    Each call costs one look at the catalogue's version (a ``stat``); a change loads the new one
    once. A caller keeps the searcher it got, so a search in flight finishes on the old
    generation, which is dropped when the last reference goes.
    """

    def __init__(
        self,
        store: IndexStore,
        config: FusionConfig,
        skip: SkipRule | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.skip = skip
        self._entries: dict[str, _Entry] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, collection: str) -> HybridSearcher | None:
        """The live searcher of ``collection``, or None if it has never been built."""
        catalog = self.store.catalog
        signature = catalog.version(collection)
        if signature is None:
            return None
        entry = self._entries.get(collection)
        if entry is not None and entry.signature == signature:
            return entry.searcher
        with self._lock_for(collection):
            for _ in range(_LOAD_ATTEMPTS):
                entry = self._entries.get(collection)
                signature = catalog.version(collection)
                if signature is None:
                    return None
                if entry is not None and entry.signature == signature:
                    return entry.searcher
                name = self.store.current_generation(collection)
                if name is None:
                    return None
                if entry is not None and entry.generation == name:
                    searcher = entry.searcher
                else:
                    try:
                        searcher = self._load(collection, name)
                    except (SearchIndexError, OSError, RuntimeError):
                        # Two builds elsewhere may switch and prune the generation between
                        # reading CURRENT and loading it: then load the one live now.
                        if self.store.current_generation(collection) == name:
                            raise
                        logger.info("%s/%s was replaced while loading it", collection, name)
                        continue
                self._entries[collection] = _Entry(signature, name, searcher)
                return searcher
            raise IndexNotFoundError(
                f"the index of {collection!r} changed {_LOAD_ATTEMPTS} times while loading it"
            )

    def _load(self, collection: str, name: str) -> HybridSearcher:
        generation = self.store.load(collection, name)
        embedder, tokenizer = self.store.embedder, generation.tokenizer
        searcher = HybridSearcher(generation, embedder, tokenizer, self.config, self.skip)
        logger.info("serving %s/%s", collection, name)
        return searcher

    def loaded(self, collection: str) -> str | None:
        """The generation of ``collection`` this cache holds loaded (None: none yet)."""
        entry = self._entries.get(collection)
        return entry.generation if entry is not None else None

    def invalidate(self, collection: str | None = None) -> None:
        """Forget the cached searcher of ``collection`` (or all), e.g. after a settings change."""
        with self._guard:
            if collection is None:
                self._entries.clear()
            else:
                self._entries.pop(collection, None)

    def _lock_for(self, collection: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(collection, threading.Lock())
