"""``kb backup FILE`` and ``kb restore FILE``: a data directory's snapshot (see kb/backup/)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ingest.sizes import byte_size
from kb import migrations
from kb.backup.restore import restore_backup
from kb.backup.snapshot import take_backup
from kb.cli._common import DataDir, open_kb, out, settings_for

ArchiveFile = Annotated[Path, typer.Argument(metavar="FILE", help="The archive (.tar.gz).")]


def backup_cmd(
    file: ArchiveFile,
    data_dir: DataDir = None,
    with_cache: Annotated[
        bool,
        typer.Option(
            "--with-cache/--without-cache",
            help="Include the embedding cache (default), so nothing is re-embedded after restore.",
        ),
    ] = True,
) -> None:
    """Write a consistent snapshot (database, live indexes, secret, cache) while others run."""
    kb = open_kb(data_dir)
    try:
        done = take_backup(kb, file, with_cache=with_cache)
    finally:
        kb.close()
    manifest = done.manifest
    indexes = ", ".join(f"{c} ({e.chunk_count} chunks)" for c, e in manifest.collections.items())
    out.print(
        f"backed up to {done.path} ({byte_size(done.size)}): {manifest.backend} database at "
        f"{manifest.schema_revision}, indexes {indexes or 'none'}, "
        f"embedding cache {'included' if manifest.with_cache else 'left out'}",
        highlight=False,
        soft_wrap=True,
    )


def restore_cmd(file: ArchiveFile, data_dir: DataDir = None) -> None:
    """Restore an archive into an empty data directory (and an empty KB_DATABASE_URL)."""
    done = restore_backup(settings_for(data_dir), file)
    manifest = done.manifest
    out.print(
        f"restored {manifest.backend} database at {manifest.schema_revision} (backed up "
        f"{manifest.created}), {len(manifest.collections)} indexes, embedding cache "
        f"{done.cache} into {done.data_dir}",
        highlight=False,
        soft_wrap=True,
    )
    if manifest.schema_revision == migrations.head_revision():
        out.print("the schema is this build's: `kb serve` can start on it", soft_wrap=True)
    elif manifest.backend == "sqlite":
        out.print(
            "the schema is older: `kb serve` applies the pending migrations at start-up",
            soft_wrap=True,
        )
    else:
        out.print("the schema is older: run `kb db upgrade` once, then `kb serve`", soft_wrap=True)
