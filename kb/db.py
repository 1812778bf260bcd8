"""Engine creation and schema set-up; SQLite (WAL) by default, PostgreSQL by URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine

from kb import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from kb.errors import KBError
from kb.settings import Settings


def make_engine(settings: Settings) -> Engine:
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    SQLModel.metadata.create_all(engine)
    check_schema(engine)
    return engine


class SchemaMismatch(KBError):
    """The database was created by a build whose tables had other columns."""

    status_code = 500


def check_schema(engine: Engine) -> None:
    """Refuse, by name, a database whose tables lack columns this build writes.

    ``create_all`` adds missing tables but never alters existing ones; without this, a data dir
    from an older build fails later, mid-request, with an SQL error about one column.
    """
    inspector = inspect(engine)
    missing = []
    for table in SQLModel.metadata.sorted_tables:
        present = {c["name"] for c in inspector.get_columns(table.name)}
        missing += [f"{table.name}.{c.name}" for c in table.columns if c.name not in present]
    if missing:
        raise SchemaMismatch(
            f"the database at {engine.url.render_as_string(hide_password=True)} was created by an "
            f"older AssistKB and lacks {', '.join(missing)}; there are no automatic migrations "
            "yet: re-create the data directory (kb ingest your documents again) or add the "
            "columns by hand",
            field="database_url",
        )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets searches and API reads go on while an ingest transaction writes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A transaction: committed on success, rolled back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
