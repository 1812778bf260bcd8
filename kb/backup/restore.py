"""``kb restore``: a backup archive back into an empty data directory (and an empty database).

Everything is verified (checksums, format, backend) in a staging directory inside the target
before anything is put in place; on any error the target is left empty again. The database
is restored at the revision it was backed up with: pending migrations apply as usual when the
knowledge base next starts (SQLite by itself, PostgreSQL with ``kb db upgrade``).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sqlalchemy.engine import make_url

from kb.accounts.secret import SECRET_FILE
from kb.backup.archive import (
    CACHE_MEMBER,
    INDEX_DIR,
    PG_DUMP_MEMBER,
    SECRET_MEMBER,
    SQLITE_MEMBER,
    Manifest,
    extract_verified,
)
from kb.backup.databases import database_tables, pg_restore, sqlite_path
from kb.db import open_engine
from kb.errors import Conflict, Invalid, KBError
from kb.settings import Settings

_STAGING = ".restoring"

CacheOutcome = Literal["restored", "merged", "not in the archive"]


@dataclass(frozen=True)
class RestoreDone:
    manifest: Manifest
    data_dir: Path
    cache: CacheOutcome


def restore_backup(settings: Settings, archive: Path) -> RestoreDone:
    """Put ``archive`` back into ``settings``' (empty) data directory and database."""
    if not archive.is_file():
        raise Invalid(f"{archive} is not a file", field="archive")
    data_dir = settings.data_dir.absolute()
    if data_dir.exists() and (not data_dir.is_dir() or any(data_dir.iterdir())):
        raise Conflict(
            f"the data directory {data_dir} is not empty; restore into a new or empty one "
            "(--data-dir), never over a knowledge base",
            field="data_dir",
        )
    url = settings.resolved_database_url
    backend = "sqlite" if url.startswith("sqlite") else "postgresql"
    data_dir.mkdir(parents=True, exist_ok=True)
    staging = data_dir / _STAGING
    try:
        manifest = extract_verified(archive, staging)
        if manifest.backend != backend:
            raise Invalid(
                f"{archive} holds a {manifest.backend} database but the target is {backend} "
                f"({'KB_DATABASE_URL' if settings.database_url else 'the default SQLite file'})"
                f"; {_backend_hint(manifest)}",
                field="database_url",
            )
        _restore_database(settings, manifest, staging)
        if (staging / INDEX_DIR).is_dir():
            os.replace(staging / INDEX_DIR, settings.index_dir)
        if (staging / SECRET_MEMBER).is_file():
            os.replace(staging / SECRET_MEMBER, data_dir / SECRET_FILE)
            os.chmod(data_dir / SECRET_FILE, 0o600)
        cache = _restore_cache(staging / CACHE_MEMBER, settings.embedding_cache_path)
    except BaseException:
        _empty(data_dir)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return RestoreDone(manifest=manifest, data_dir=data_dir, cache=cache)


def _restore_database(settings: Settings, manifest: Manifest, staging: Path) -> None:
    url = settings.resolved_database_url
    if manifest.backend == "sqlite":
        target = sqlite_path(url)
        if target.exists():
            raise Conflict(f"the SQLite file {target} already exists", field="database_url")
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / SQLITE_MEMBER, target)
        return
    engine = open_engine(settings)
    try:
        tables = database_tables(engine)
    finally:
        engine.dispose()
    if tables:
        raise Conflict(
            f"the database {_safe(url)} is not empty "
            f"({len(tables)} tables, e.g. {tables[0]}); create an empty one to restore into",
            field="database_url",
        )
    pg_restore(url, staging / PG_DUMP_MEMBER)


def _restore_cache(source: Path, target: Path) -> CacheOutcome:
    """Put the cache in place, or merge it into a cache that is already there (a shared one)."""
    if not source.is_file():
        return "not in the archive"
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        os.replace(source, target)
        return "restored"
    db = sqlite3.connect(target, timeout=30)
    try:
        db.execute("ATTACH DATABASE ? AS restored", (str(source),))
        with db:
            db.execute(
                "INSERT OR IGNORE INTO embeddings (embedder, text_hash, vector) "
                "SELECT embedder, text_hash, vector FROM restored.embeddings"
            )
        db.execute("DETACH DATABASE restored")
    except sqlite3.Error as exc:
        raise KBError(f"could not merge the archived embedding cache into {target}: {exc}") from exc
    finally:
        db.close()
    return "merged"


def _backend_hint(manifest: Manifest) -> str:
    if manifest.backend == "postgresql":
        return "set KB_DATABASE_URL to an empty PostgreSQL database"
    return "unset KB_DATABASE_URL (or point it at a new SQLite file)"


def _safe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _empty(data_dir: Path) -> None:
    """Take back what a failed restore put in ``data_dir`` (it was empty before)."""
    for entry in data_dir.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
