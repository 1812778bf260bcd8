"""The generation catalogue of a shared index (``KB_SHARED``): PostgreSQL says what is live.

Several web processes (and hosts) serve one index directory on shared storage. The file
catalogue's ``CURRENT`` pointer and ``flock`` do not hold there (NFS and friends give neither a
reliable stat nor a lock), so this catalogue keeps both in the database:

- the live generation of each collection is a row of ``index_generation``; every switch bumps
  its ``version``, the one cheap row each process polls (at most every ``poll_seconds``) to
  notice another process's switch and load it;
- the writer's lease is a session-level PostgreSQL advisory lock, held by one connection for
  the whole write: a writer that dies loses its connection, and with it the lock;
- the row's ``pending`` flag is the file catalogue's ``.pending`` mark: set while a writer holds
  the lease, cleared when it lets go normally (or when whoever inherited it settled).

Generation files stay where :class:`~search.index.IndexStore` writes them (the shared
directory); only the pointer and the lease move. ``search/`` never imports the database.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from kb.errors import KBError
from kb.models import utcnow
from search.generations import FileGenerationCatalog

log = logging.getLogger(__name__)

_LOCK_SPACE = 0x6B626765  # the advisory lock's first key: "kbge", generation leases


class SharedIndexRefused(KBError):
    """``KB_SHARED`` on a database that cannot announce generations or hold leases."""

    status_code = 500
    code = "shared_needs_postgresql"


@dataclass(frozen=True)
class _Seen:
    at: float  # the clock when the row was read
    version: Hashable | None  # the row's version, or the folder pointer's; None: never built
    pending: bool


class PostgresGenerationCatalog:
    """``index_generation`` rows and advisory-lock leases; generation files under ``root``."""

    def __init__(
        self,
        engine: Engine,
        root: Path,
        *,
        poll_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if engine.dialect.name != "postgresql":
            raise SharedIndexRefused(
                "KB_SHARED needs a PostgreSQL KB_DATABASE_URL (postgresql+psycopg://…), not "
                "{dialect}: several processes cannot share SQLite's locks and counters",
                field="shared",
                dialect=engine.dialect.name,
            )
        self.engine = engine
        self.files = FileGenerationCatalog(root)  # names are checked as the file catalogue does
        self.poll_seconds = poll_seconds
        self.clock = clock
        self._seen: dict[str, _Seen] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._settled: set[str] = set()
        self._guard = threading.Lock()

    def collections(self) -> list[str]:
        with self.engine.connect() as conn:
            rows = conn.execute(text("SELECT collection FROM index_generation"))
            return sorted({str(name) for (name,) in rows} | set(self.files.collections()))

    def live(self, collection: str) -> str | None:
        # Exact, never from the poll: writers and loaders read it to act on it.
        self.files.collection_dir(collection)
        with self.engine.connect() as conn:
            row = conn.execute(
                text("SELECT generation FROM index_generation WHERE collection = :c"),
                {"c": collection},
            ).first()
        if row is None or row[0] is None:
            return self.files.live(collection)  # adopted: see ``switch``
        return str(row[0])

    def version(self, collection: str) -> Hashable | None:
        """The live generation's version, read from the database at most every
        ``poll_seconds``: searches between two reads cost nothing."""
        return self._poll(collection).version

    def switch(self, collection: str, generation: str) -> None:
        # The folder's own pointer too, first: the index directory stays self-describing (a
        # backup copies it, ``kb check`` reads it), and an index built on one machine before
        # KB_SHARED, or restored from a backup, is served from its pointer until the first
        # switch here gives it a row.
        self.files.switch(collection, generation)
        with self.engine.begin() as conn:
            version = conn.execute(
                text(
                    "INSERT INTO index_generation"
                    " (collection, generation, version, pending, updated_at)"
                    " VALUES (:c, :g, 1, false, :now)"
                    " ON CONFLICT (collection) DO UPDATE SET generation = excluded.generation,"
                    " version = index_generation.version + 1, updated_at = excluded.updated_at"
                    " RETURNING version, pending"
                ),
                {"c": collection, "g": generation, "now": utcnow()},
            ).one()
        # This process sees its own switch at once; the others at their next poll.
        self._remember(collection, int(version[0]), bool(version[1]))

    @contextmanager
    def lease(self, collection: str, *, wait: bool = True) -> Iterator[bool]:
        self.files.collection_dir(collection)
        with self._guard:
            lock = self._locks.setdefault(collection, threading.Lock())
        if not lock.acquire(blocking=wait):
            yield False
            return
        try:
            # Its own connection, out of any transaction, for as long as the write lasts: the
            # lock is the session's, so a killed writer's lock goes with its connection.
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                if not _acquire(conn, collection, wait=wait):
                    yield False
                    return
                try:
                    inherited = self._mark_pending(conn, collection)
                    with self._guard:
                        self._settled.discard(collection)
                    yield True
                    # Only a normal exit clears the flag: after an exception the database may
                    # be ahead of the index, as after a kill.
                    with self._guard:
                        settled = collection in self._settled
                    if settled or not inherited:
                        conn.execute(
                            text(
                                "UPDATE index_generation SET pending = false WHERE collection = :c"
                            ),
                            {"c": collection},
                        )
                        self._forget(collection)
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:a, :b)"), _keys(collection))
        finally:
            lock.release()

    def pending(self, collection: str) -> bool:
        if not self._poll(collection).pending:
            return False  # the common case: nothing read between two polls
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if not _acquire(conn, collection, wait=False):
                return False  # a writer is at work: the live generation is as it should be
            try:
                row = conn.execute(
                    text("SELECT pending FROM index_generation WHERE collection = :c"),
                    {"c": collection},
                ).first()
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:a, :b)"), _keys(collection))
        return bool(row is not None and row[0])

    def settle(self, collection: str) -> None:
        with self._guard:
            self._settled.add(collection)

    def _mark_pending(self, conn: Connection, collection: str) -> bool:
        """Flag ``collection`` as being written; True when a writer before us left it so."""
        row = conn.execute(
            text(
                "INSERT INTO index_generation"
                " (collection, generation, version, pending, updated_at)"
                " VALUES (:c, NULL, 0, true, :now)"
                " ON CONFLICT (collection) DO UPDATE SET pending = true"
                " RETURNING (SELECT pending FROM index_generation WHERE collection = :c)"
            ),
            {"c": collection, "now": utcnow()},
        ).one()
        return bool(row[0])

    def _poll(self, collection: str) -> _Seen:
        now = self.clock()
        seen = self._seen.get(collection)
        if seen is not None and now - seen.at < self.poll_seconds:
            return seen
        self.files.collection_dir(collection)
        with self.engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT version, generation, pending FROM index_generation"
                    " WHERE collection = :c"
                ),
                {"c": collection},
            ).first()
        if row is None or row[1] is None:  # never switched here: the folder's pointer, if any
            pointer = self.files.version(collection)
            seen = _Seen(now, None if pointer is None else ("file", pointer), bool(row and row[2]))
        else:
            seen = _Seen(now, int(row[0]), bool(row[2]))
        self._seen[collection] = seen
        return seen

    def _remember(self, collection: str, version: int, pending: bool) -> None:
        self._seen[collection] = _Seen(self.clock(), version, pending)

    def _forget(self, collection: str) -> None:
        self._seen.pop(collection, None)


def _keys(collection: str) -> dict[str, int]:
    """The lease's two advisory-lock keys: our space, and a stable 32-bit hash of the name."""
    digest = hashlib.sha256(collection.encode()).digest()
    return {"a": _LOCK_SPACE, "b": int.from_bytes(digest[:4], "big", signed=True)}


def _acquire(conn: Connection, collection: str, *, wait: bool) -> bool:
    if wait:
        conn.execute(text("SELECT pg_advisory_lock(:a, :b)"), _keys(collection))
        return True
    return bool(
        conn.execute(text("SELECT pg_try_advisory_lock(:a, :b)"), _keys(collection)).scalar()
    )
