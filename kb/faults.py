"""Faults of the machine beneath us — a full disk, a database gone, an unwritable data
directory — recognised and turned into domain errors with a message an operator can act on.

The web error handler, the CLI's error path and the background jobs all ask
:func:`as_domain_error`, so a fault reads the same everywhere and is never a bare 500.
"""

from __future__ import annotations

import errno
import logging
import os
import secrets
import sqlite3
from pathlib import Path

from sqlalchemy.exc import DBAPIError, OperationalError

from kb.errors import (
    N_,
    EmbedderUnavailable,
    KBError,
    Message,
    StorageFull,
    Unavailable,
    VectorEngineUnavailable,
)
from kb.settings import Settings
from search.embedders.remote import EmbeddingServerError
from search.vectorindex import VectorEngineError

log = logging.getLogger(__name__)

_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_SQLITE_FULL = 13  # sqlite3's SQLITE_FULL result code
_PG_DISK_FULL = "53100"  # PostgreSQL's SQLSTATE disk_full

# Templates with values, never f-strings: the web layer, the CLI and the job panel show them in
# the reader's language (kb/documents/reasons.py reads stored job errors back through them).
DISK_FULL_WRITING = N_(
    "the disk is full writing {file} ({detail}): free space on that disk and try again; "
    "nothing was changed"
)
DATABASE_DISK_FULL = N_(
    "the database's disk is full ({detail}): free space on that disk and try again; "
    "nothing was changed"
)
DATABASE_SERVER_DISK_FULL = N_(
    "the database server's disk is full: free space on that disk and try again; nothing was changed"
)
DISK_FULL = N_(
    "the disk is full ({detail}): free space on that disk and try again; nothing was changed"
)
DATABASE_UNAVAILABLE = N_("the database is unavailable ({detail}); try again shortly")
DATA_DIR_NOT_WRITABLE = N_(
    "the data directory {directory} is not writable ({detail}): give this user write access, "
    "mount it read-write, or set KB_DATA_DIR to another directory"
)


def as_domain_error(exc: BaseException) -> KBError | None:
    """The domain error a storage or database fault stands for, or None if ``exc`` is not one."""
    if isinstance(exc, KBError):
        return exc
    if isinstance(exc, EmbeddingServerError):
        return _embedding_server_error(exc)
    if isinstance(exc, VectorEngineError):  # before OSError: it is one (a lost connection)
        log.warning("%s", exc)
        return VectorEngineUnavailable(uri=exc.uri, reason=exc.reason)
    if isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS:
        if exc.filename:
            name = Path(exc.filename).name
            return StorageFull(Message(DISK_FULL_WRITING, file=name, detail=exc.strerror))
        return StorageFull(Message(DISK_FULL, detail=exc.strerror))
    if isinstance(exc, DBAPIError):
        return _database_error(exc)
    if isinstance(exc, sqlite3.OperationalError) and _is_sqlite_full(exc):
        return StorageFull(Message(DISK_FULL, detail=str(exc)))
    return None


def _database_error(exc: DBAPIError) -> KBError | None:
    original = exc.orig
    if isinstance(original, sqlite3.OperationalError) and _is_sqlite_full(original):
        return StorageFull(Message(DATABASE_DISK_FULL, detail=str(original)))
    if getattr(original, "sqlstate", None) == _PG_DISK_FULL:
        return StorageFull(DATABASE_SERVER_DISK_FULL)
    if isinstance(exc, OperationalError) or exc.connection_invalidated:
        # The connection was refused or lost (server stopped, network, SQLite file gone):
        # the pool reconnects on a later request (pre-ping), so this is worth a retry.
        first_line = str(original).strip().splitlines()[0] if str(original).strip() else ""
        log.warning("database unavailable: %s", first_line or type(original).__name__)
        detail = first_line or type(original).__name__
        return Unavailable(Message(DATABASE_UNAVAILABLE, detail=detail))
    return None


def _embedding_server_error(exc: EmbeddingServerError) -> KBError:
    log.warning("%s", exc)
    return EmbedderUnavailable(exc.kind, url=exc.url, reason=exc.reason)


def _is_sqlite_full(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorcode", None) == _SQLITE_FULL


def check_writable(settings: Settings) -> None:
    """Refuse to start, naming the directory, when the data directory cannot be written.

    Probed by creating a file, not by permission bits: root ignores those, while a read-only
    mount, an immutable directory or a full disk refuse root too.
    """
    for directory in (settings.data_dir, settings.index_dir):
        try:
            directory.mkdir(parents=True, exist_ok=True)
            probe = directory / f".write-probe-{os.getpid()}-{secrets.token_hex(4)}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            detail = exc.strerror or str(exc)
            message = Message(DATA_DIR_NOT_WRITABLE, directory=str(directory), detail=detail)
            raise Unavailable(message, field="data_dir") from exc
