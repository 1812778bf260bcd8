"""``kb backup``: a consistent snapshot of a running knowledge base in one archive.

Consistency between the database and the index: every collection's write lock is held (the one
ingestion, deletion, metadata edits and re-indexing hold while they change chunks in SQL and
switch ``CURRENT``) while the database is copied and then each live generation is. Nothing can
change what SQL says is live, nor which generation serves it, in between; so the copied
generation is the one built from the copied chunks (its fingerprint says so, and restore
checks nothing more is needed). Reads, suggestions and feedback go on meanwhile: they never
take these locks, and both database copies are transactional. A vocabulary saved during the
backup may reach the database copy before its re-index; ``kb serve`` rebuilds such a
generation at start-up from the embedding cache (``ensure_fresh``), embedding nothing.

The embedding cache is copied last, after the locks are released: it only ever gains entries,
so it holds every vector of the copied generations. It is included by default because without
it the first change to a restored collection re-embeds every chunk of it (minutes per thousand
chunks on a CPU), while it costs about as much space as the index vectors; ``--without-cache``
leaves it out when ``KB_CACHE_DIR`` is shared by several data directories and saved on its own.
"""

from __future__ import annotations

import shutil
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from kb import migrations
from kb.accounts.secret import SECRET_FILE
from kb.backup.archive import (
    CACHE_MEMBER,
    FORMAT_VERSION,
    INDEX_DIR,
    PG_DUMP_MEMBER,
    SECRET_MEMBER,
    SQLITE_MEMBER,
    Backend,
    CollectionEntry,
    Manifest,
    app_version,
    now_iso,
    payload_files,
    write_archive,
)
from kb.backup.databases import copy_sqlite, pg_dump, sqlite_path, sqlite_revision
from kb.context import KnowledgeBase
from kb.errors import Invalid
from kb.retrieval.indexing import known_collections
from search.types import is_collection_name
from search.upkeep import copy_live


@dataclass(frozen=True)
class BackupDone:
    path: Path
    size: int
    manifest: Manifest


def take_backup(kb: KnowledgeBase, target: Path, *, with_cache: bool = True) -> BackupDone:
    """Write a snapshot of ``kb`` (database, live index generations, secret, cache) to
    ``target``, replacing it atomically; the knowledge base may be serving meanwhile."""
    target = target.absolute()
    if target.is_dir():
        raise Invalid(f"{target} is a directory; name the archive file to write", field="file")
    if not target.parent.is_dir():
        raise Invalid(f"directory {target.parent} does not exist", field="file")
    staging = Path(tempfile.mkdtemp(prefix=".kb-backup-", dir=target.parent))
    try:
        collections = _collections(kb)
        with ExitStack() as locks:
            for collection in collections:  # sorted: every backup takes them in one order
                locks.enter_context(kb.collection_lock(collection))
            backend, revision = _copy_database(kb, staging)
            copied = {c: _copy_generation(kb, c, staging) for c in collections}
        secret = kb.settings.data_dir / SECRET_FILE
        if secret.is_file():
            shutil.copy2(secret, staging / SECRET_MEMBER)
        cache = kb.settings.embedding_cache_path
        if with_cache and cache.is_file():
            copy_sqlite(cache, staging / CACHE_MEMBER)
        manifest = Manifest(
            format_version=FORMAT_VERSION,
            app_version=app_version(),
            schema_revision=revision,
            backend=backend,
            created=now_iso(),
            with_cache=with_cache and cache.is_file(),
            collections={c: entry for c, entry in copied.items() if entry is not None},
            files=payload_files(staging),
        )
        write_archive(target, staging, manifest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return BackupDone(path=target, size=target.stat().st_size, manifest=manifest)


def _collections(kb: KnowledgeBase) -> list[str]:
    """Collections with documents, and those with an index on disk (all documents deleted)."""
    names = set(known_collections(kb))
    names |= {c for c in kb.catalog.collections() if kb.catalog.live(c) is not None}
    return sorted(n for n in names if is_collection_name(n))


def _copy_database(kb: KnowledgeBase, staging: Path) -> tuple[Backend, str | None]:
    url = kb.settings.resolved_database_url
    if kb.engine.dialect.name == "sqlite":
        copy = staging / SQLITE_MEMBER
        copy_sqlite(sqlite_path(url), copy)
        return "sqlite", sqlite_revision(copy)
    with kb.engine.connect() as connection:
        revision = migrations.current_revision(connection)
    (staging / PG_DUMP_MEMBER).parent.mkdir(parents=True, exist_ok=True)
    pg_dump(url, staging / PG_DUMP_MEMBER)
    return "postgresql", revision


def _copy_generation(kb: KnowledgeBase, collection: str, staging: Path) -> CollectionEntry | None:
    """Copy ``collection``'s live generation (generations never change once switched in)."""
    meta = copy_live(kb.index_store, collection, staging / INDEX_DIR)
    if meta is None:
        return None  # never built, or its generation is gone: `kb serve` rebuilds it
    return CollectionEntry(
        generation=meta.generation, fingerprint=meta.fingerprint, chunk_count=meta.chunk_count
    )
