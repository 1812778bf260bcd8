"""Schema migrations with Alembic, configured from code: ``env.py`` and ``versions/`` ship here.

No ``alembic.ini``: the script location is this package and the connection comes from the
engine that ``Settings`` describes, so there is one database URL. To add a revision, change
``kb/models.py`` and run ``kb db revision "what changed"``: it diffs the models against a
scratch SQLite database at head and writes ``versions/NNNN_<slug>.py``; read it (renames and
data moves need a hand), then commit it. tests/kb/test_migrations.py fails until you do.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from kb import learning_models, models  # noqa: F401  (register the tables on SQLModel.metadata)

MIGRATIONS_DIR = Path(__file__).resolve().parent
BASELINE = "0001"  # the schema of release 040a051
VERSION_TABLE = "alembic_version"


def config(connection: Connection | None = None) -> Config:
    """An Alembic config for this package; ``env.py`` runs on ``connection``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


@functools.cache
def scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(config())


def head_revision() -> str:
    head = scripts().get_current_head()
    assert head is not None, "kb/migrations/versions has no revisions"
    return head


def is_known(revision: str) -> bool:
    """True when this build has ``revision`` (False for one written by a newer AssistKB)."""
    return any(script.revision == revision for script in scripts().walk_revisions())


def current_revision(connection: Connection) -> str | None:
    """The revision the database is stamped with; None when it has no ``alembic_version``."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(connection: Connection, target: str = "head") -> None:
    command.upgrade(config(connection), target)


def stamp(connection: Connection, revision: str) -> None:
    command.stamp(config(connection), revision)


def schema_diff(connection: Connection) -> list[Any]:
    """What autogenerate would write to bring the database to the models; empty when equal."""
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, SQLModel.metadata))


def baseline_columns() -> dict[str, set[str]]:
    """Tables and their columns in release 040a051, read from a scratch copy of the baseline."""
    return {table: set(columns) for table, columns in _baseline_columns().items()}


@functools.cache
def _baseline_columns() -> dict[str, frozenset[str]]:
    engine = create_engine("sqlite://")
    try:
        with engine.begin() as connection:
            upgrade(connection, BASELINE)
            inspector = inspect(connection)
            return {
                table: frozenset(column["name"] for column in inspector.get_columns(table))
                for table in inspector.get_table_names()
                if table != VERSION_TABLE
            }
    finally:
        engine.dispose()


def new_revision(message: str) -> Path:
    """Write the next revision from the models' difference to a scratch database at head."""
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_engine(f"sqlite:///{scratch}/scratch.sqlite3")
        try:
            with engine.begin() as connection:
                upgrade(connection)
                number = f"{int(head_revision()) + 1:04d}"
                written = command.revision(
                    config(connection), message=message, autogenerate=True, rev_id=number
                )
        finally:
            engine.dispose()
    scripts.cache_clear()
    assert written is not None and not isinstance(written, list)
    return Path(written.path)
