"""A web process on a shared index (``KB_SHARED``) loads what other processes publish as soon
as its poll sees it, in the background, so that the first request after a switch finds the new
generation loaded instead of loading it (an idle process would otherwise load on its next
request). Requests still check the catalogue themselves: this only gets there first."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.exc import SQLAlchemyError

from kb.context import KnowledgeBase
from search.index import SearchIndexError

log = logging.getLogger(__name__)


class GenerationFollower:
    """A daemon thread that asks for every collection's live searcher once each poll."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="generation-follower", daemon=True)

    def start(self) -> GenerationFollower:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self.kb.settings.index_poll_seconds):
            self.follow()

    def follow(self) -> None:
        """Load each collection's live generation if it changed since the last look."""
        try:
            collections = self.kb.catalog.collections()
        except SQLAlchemyError as exc:  # the database is away: requests say so, not this
            log.warning("cannot read the live generations: %s", exc)
            return
        for collection in collections:
            try:
                self.kb.searchers.get(collection)
            except (SearchIndexError, OSError, SQLAlchemyError) as exc:
                log.warning("cannot load the live generation of %r: %s", collection, exc)
