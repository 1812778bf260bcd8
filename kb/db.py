"""Engine creation and the schema's upgrade policy; SQLite (WAL) by default, PostgreSQL by URL.

The schema is made by the Alembic migrations in ``kb/migrations`` only, so a new database and
an upgraded one are the same. Start-up (every ``kb`` command, ``kb serve``, the web app):

- SQLite applies pending migrations itself. The file lies in our data directory on one host: a
  file lock makes concurrent starters take turns (the second finds the schema current), and a
  copy of the file is taken first with SQLite's online backup API, beside it, so a failed or
  unwanted upgrade is undone by copying it back.
- PostgreSQL refuses to start and names ``kb db upgrade``. Several workers on several hosts
  would start together, and old workers may still be serving the old schema; the operator runs
  the upgrade once (it holds an advisory lock, in one transaction), then starts the new build.

A database that release 040a051 created (its tables, no ``alembic_version``) is adopted as the
baseline once its tables and columns are checked to be exactly 040a051's.
"""

from __future__ import annotations

import fcntl
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, SQLModel, create_engine

from kb import migrations
from kb.errors import KBError
from kb.settings import Settings

log = logging.getLogger(__name__)

UPGRADE_HINT = "run `kb db upgrade` once (with the same KB_DATABASE_URL), then start again"
_PG_LOCK = 0x61737369  # pg_advisory_xact_lock key: "assi"


class SchemaMismatch(KBError):
    """The database's schema is not the one this build works with, and was left unchanged."""

    status_code = 500


def open_engine(settings: Settings) -> Engine:
    """The engine alone, schema untouched (``kb db`` uses it to look before it leaps)."""
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def make_engine(settings: Settings) -> Engine:
    """The engine of a database at this build's schema (see the module's start-up policy)."""
    engine = open_engine(settings)
    try:
        with engine.connect() as connection:
            state = schema_state(connection)
        if not state.current:
            if engine.dialect.name != "sqlite":
                raise SchemaMismatch(
                    f"the database at {_name(engine)} is {state.label}, this build needs "
                    f"{state.head}: {UPGRADE_HINT}",
                    field="database_url",
                )
            done = upgrade_database(engine)
            report = log.info if state.empty else log.warning
            report("database %s upgraded: %s → %s", _name(engine), done.before, done.after)
    except BaseException:
        engine.dispose()
        raise
    return engine


@dataclass(frozen=True)
class SchemaState:
    revision: str | None  # what alembic_version says; None when absent
    tables: frozenset[str]  # AssistKB's tables that exist (040a051's and this build's)
    head: str

    @property
    def empty(self) -> bool:
        return self.revision is None and not self.tables

    @property
    def current(self) -> bool:
        return self.revision == self.head

    @property
    def label(self) -> str:
        if self.revision is not None:
            return f"at revision {self.revision}"
        return "empty" if self.empty else "release 040a051's schema (no revision yet)"


def schema_state(connection: Connection) -> SchemaState:
    ours = set(SQLModel.metadata.tables) | set(migrations.baseline_columns())
    present = frozenset(set(inspect(connection).get_table_names()) & ours)
    state = SchemaState(
        migrations.current_revision(connection), present, migrations.head_revision()
    )
    if state.revision is not None and not migrations.is_known(state.revision):
        raise SchemaMismatch(
            f"the database at {_name(connection.engine)} is at revision {state.revision}, which "
            f"a newer AssistKB wrote; this build knows revisions up to {state.head}: run the "
            "newer build (or restore the backup taken before that upgrade)",
            field="database_url",
        )
    return state


@dataclass(frozen=True)
class Upgrade:
    before: str
    after: str
    backup: Path | None  # the SQLite copy taken before anything changed


def upgrade_database(engine: Engine) -> Upgrade:
    """Apply pending migrations (adopting a 040a051 database first); safe to run concurrently."""
    with _migration_connection(engine) as connection:
        state = schema_state(connection)  # again, under the lock: another process may have won
        before = state.revision or ("empty" if state.empty else "040a051 (no revision)")
        if state.current:
            return Upgrade(before, state.head, None)
        if state.revision is None and not state.empty:
            check_baseline(connection)
        backup = None if state.empty else _backup_sqlite(engine, before)
        if state.revision is None and not state.empty:
            migrations.stamp(connection, migrations.BASELINE)
        migrations.upgrade(connection)
        return Upgrade(before, migrations.head_revision(), backup)


def check_baseline(connection: Connection) -> None:
    """Refuse, naming the differences, unstamped tables that are not exactly 040a051's."""
    inspector = inspect(connection)
    present = set(inspector.get_table_names())
    problems = []
    for table, expected in sorted(migrations.baseline_columns().items()):
        if table not in present:
            problems.append(f"table {table} is missing")
            continue
        columns = {c["name"] for c in inspector.get_columns(table)}
        problems += [f"{table}.{c} is missing" for c in sorted(expected - columns)]
        problems += [f"{table}.{c} is unknown" for c in sorted(columns - expected)]
    if problems:
        raise SchemaMismatch(
            f"the database at {_name(connection.engine)} has AssistKB tables but no revision, and "
            f"they are not release 040a051's ({'; '.join(problems)}); it was left unchanged: "
            "open it with the build that created it, or start from a new data directory",
            field="database_url",
        )


@contextmanager
def _migration_connection(engine: Engine) -> Iterator[Connection]:
    """A connection that one migrating process at a time holds; committed if all went well."""
    if engine.dialect.name != "sqlite":
        with engine.connect() as connection:
            # Transactional DDL: the lock and every migration end with one commit.
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK})")
            yield connection
            connection.commit()
        return
    path = _sqlite_path(engine)
    lock_path = path.with_name(path.name + ".migrate-lock") if path else None
    with _file_lock(lock_path), engine.connect() as connection:
        # SQLite recreates a table to alter it; foreign keys must be off meanwhile (and are
        # checked afterwards), or dropping the old copy would cascade.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            yield connection
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise SchemaMismatch(f"the migration broke foreign keys: {broken[:5]}")
            connection.commit()
        finally:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")


@contextmanager
def _file_lock(path: Path | None) -> Iterator[None]:
    if path is None:  # an in-memory database has one process
        yield
        return
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _backup_sqlite(engine: Engine, before: str) -> Path | None:
    """Copy the file with the online backup API (consistent while others read and write)."""
    path = _sqlite_path(engine)
    if path is None or not path.exists():
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.before-upgrade-{stamp}-from-{before.split()[0]}")
    source, copy = sqlite3.connect(path), sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    log.warning("backed up %s to %s before upgrading it", path, target)
    return target


def _sqlite_path(engine: Engine) -> Path | None:
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    return Path(database) if database and database != ":memory:" else None


def _name(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


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
