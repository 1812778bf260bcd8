"""``kb db upgrade|current|revision``: the schema migrations (policy in ``kb/db.py``)."""

from __future__ import annotations

from typing import Annotated

import typer

from kb import migrations
from kb.cli._common import DataDir, Typer, open_kb, out, settings_for
from kb.db import open_engine, schema_state, upgrade_database
from kb.retrieval.indexing import ensure_fresh, known_collections

db_app = Typer(help="Database schema: upgrade, current revision.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDir = None) -> None:
    """Apply pending migrations (a 040a051 database is checked and adopted first), then bring
    every collection's index generation to this build's format (from the embedding cache)."""
    engine = open_engine(settings_for(data_dir))
    try:
        done = upgrade_database(engine)
    finally:
        engine.dispose()
    if done.before == done.after:
        out.print(f"database already at {done.after} (head)")
    else:
        out.print(f"upgraded the database: {done.before} → {done.after}")
    if done.backup:
        out.print(f"the file as it was before: {done.backup}")
    kb = open_kb(data_dir)
    try:
        for collection in known_collections(kb):
            if ensure_fresh(kb, collection):
                meta = kb.index_store.current_meta(collection)
                embedded = meta.embedded if meta else 0
                out.print(f"index {collection}: rebuilt ({embedded} chunks embedded, rest cached)")
            else:
                out.print(f"index {collection}: current")
    finally:
        kb.close()


@db_app.command("current")
def db_current(data_dir: DataDir = None) -> None:
    """Print the database's revision and whether migrations are pending; migrates nothing."""
    engine = open_engine(settings_for(data_dir))
    try:
        with engine.connect() as connection:
            state = schema_state(connection)
    finally:
        engine.dispose()
    if state.current:
        out.print(f"{state.revision} (head)")
    else:
        out.print(f"{state.label}; this build's head is {state.head}: `kb db upgrade` applies it")


@db_app.command("revision")
def db_revision(
    message: Annotated[str, typer.Argument(help="What changed in kb/models.py.")],
) -> None:
    """For developers: write the next migration from kb/models.py (read it before committing)."""
    path = migrations.new_revision(message)
    out.print(f"wrote {path}")
