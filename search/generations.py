"""The generation catalogue port: which generation of a collection is live, and the writer's lease.

``FileGenerationCatalog`` is today's implementation for one host: a ``CURRENT`` pointer file per
collection, replaced atomically, and an ``flock`` per collection under ``.locks/`` that every
writer (ingest, delete, re-index, backup, repair) holds, across the threads of a process and
across processes (the CLI beside the server). Backup, maintenance and the searcher registry
ask the catalogue; none of them reads ``CURRENT`` itself.

A writer may commit the database and die before it switches the generation. So a lease leaves
a ``<collection>.pending`` mark beside its lock while held, removed when the writer lets go
normally: a mark with nobody holding the lease is a writer that died (or failed) mid-change,
and :meth:`pending` says so in one ``stat``. Whoever then checks the index against the database
under the lease calls :meth:`settle`, and the mark goes when that lease is released.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import threading
from collections.abc import Hashable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from search.durable import write_atomically
from search.types import COLLECTION_NAME_RULE, is_collection_name

CURRENT_FILE = "CURRENT"
LOCKS_DIR = ".locks"
PENDING_SUFFIX = ".pending"


class GenerationCatalog(Protocol):
    """Which generation each collection serves, and who may change that."""

    def collections(self) -> list[str]:
        """Every collection with index state, live or not (sorted)."""
        ...

    def live(self, collection: str) -> str | None:
        """The live generation's name, or None if the collection was never built."""
        ...

    def version(self, collection: str) -> Hashable | None:
        """A cheap token that changes whenever the live generation does (None: never built)."""
        ...

    def switch(self, collection: str, generation: str) -> None:
        """Make ``generation`` the live one, atomically (readers see the old or the new)."""
        ...

    def lease(self, collection: str, *, wait: bool = True) -> AbstractContextManager[bool]:
        """The writer's lease on ``collection``: yields True once held, or False at once when
        another writer holds it and ``wait`` is False."""
        ...

    def pending(self, collection: str) -> bool:
        """True when a writer let go of ``collection`` mid-change (killed, or failed) and nobody
        holds the lease now: the live generation may lag the database until someone settles."""
        ...

    def settle(self, collection: str) -> None:
        """Say, under the lease, that the live generation matches the database again."""
        ...


class FileGenerationCatalog:
    """``root/<collection>/CURRENT`` pointers and ``root/.locks/<collection>.lock`` leases."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._locks: dict[str, threading.Lock] = {}
        self._settled: set[str] = set()
        self._guard = threading.Lock()

    def collection_dir(self, collection: str) -> Path:
        """Directory of ``collection``; the name must be a plain identifier, never a path."""
        if not is_collection_name(collection):
            raise ValueError(f"invalid collection name {collection!r}: {COLLECTION_NAME_RULE}")
        return self.root / collection

    def collections(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(
            p.name for p in self.root.iterdir() if p.is_dir() and is_collection_name(p.name)
        )

    def live(self, collection: str) -> str | None:
        try:
            text = (self.collection_dir(collection) / CURRENT_FILE).read_text(encoding="utf-8")
        except (FileNotFoundError, NotADirectoryError):
            return None
        return text.strip() or None

    def version(self, collection: str) -> tuple[int, int, int] | None:
        # One stat: the pointer is replaced (a new inode) on every switch.
        try:
            status = os.stat(self.collection_dir(collection) / CURRENT_FILE)
        except (FileNotFoundError, NotADirectoryError):
            return None
        return (status.st_ino, status.st_mtime_ns, status.st_size)

    def switch(self, collection: str, generation: str) -> None:
        write_atomically(self.collection_dir(collection) / CURRENT_FILE, generation + "\n")

    @contextmanager
    def lease(self, collection: str, *, wait: bool = True) -> Iterator[bool]:
        with self._guard:
            lock = self._locks.setdefault(collection, threading.Lock())
        lock_dir = self.root / LOCKS_DIR
        lock_dir.mkdir(parents=True, exist_ok=True)
        if not lock.acquire(blocking=wait):
            yield False
            return
        try:
            with open(lock_dir / f"{collection}.lock", "a+b") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    yield False
                    return
                try:
                    mark = lock_dir / f"{collection}{PENDING_SUFFIX}"
                    inherited = mark.exists()  # left by a writer that did not let go normally
                    mark.touch()
                    with self._guard:
                        self._settled.discard(collection)
                    yield True
                    # Only a normal exit clears the mark: after an exception the database may
                    # be ahead of the index, as after a kill.
                    with self._guard:
                        settled = collection in self._settled
                    if settled or not inherited:
                        mark.unlink(missing_ok=True)
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
        finally:
            lock.release()

    def pending(self, collection: str) -> bool:
        lock_dir = self.root / LOCKS_DIR
        if not (lock_dir / f"{collection}{PENDING_SUFFIX}").exists():
            return False  # the common case: one stat
        with open(lock_dir / f"{collection}.lock", "a+b") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # a writer is at work: the live generation is as it should be
            fcntl.flock(handle, fcntl.LOCK_UN)
        return True

    def settle(self, collection: str) -> None:
        with self._guard:
            self._settled.add(collection)


def superseded(base: Path, seconds: float) -> set[str]:
    """The generations under ``base`` that a newer one replaced less than ``seconds`` ago.

    A shared index (several hosts, ``KB_SHARED``) keeps them that long rather than only the
    live one and its predecessor: another host may still be loading or mapping one, and a file
    deleted under another host's map is gone (NFS keeps deleted open files for their own host
    only). Generation names begin with the UTC time they were made (``search/index.py``)."""
    if seconds <= 0:
        return set()
    names = sorted(p.name for p in base.iterdir() if p.is_dir() and p.name[0] != ".")
    cutoff = datetime.now(UTC) - timedelta(seconds=seconds)
    return {old for old, new in itertools.pairwise(names) if _made(new) > cutoff}


def _made(name: str) -> datetime:
    """When a generation was made, by its name (long ago for a name of another form)."""
    try:
        return datetime.strptime(name.split("-")[0], "%Y%m%dT%H%M%S%f").replace(tzinfo=UTC)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
