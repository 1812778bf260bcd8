"""The database part of a backup: SQLite's online backup API, PostgreSQL's pg_dump/pg_restore.

Both give a transactionally consistent copy while the server keeps reading and writing: SQLite
copies every page in one step under a read lock (WAL lets writers go on), pg_dump reads inside
one repeatable-read snapshot. The custom format is pg_restore's input, as PostgreSQL documents.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import URL, Engine, make_url

from kb.errors import Invalid, KBError

_PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def copy_sqlite(source: Path, target: Path) -> None:
    """Copy a live SQLite file (its WAL included) with the online backup API."""
    target.parent.mkdir(parents=True, exist_ok=True)
    reader, writer = sqlite3.connect(source, timeout=30), sqlite3.connect(target)
    try:
        reader.backup(writer)  # pages=-1: all pages in one step, so one consistent state
        # A self-contained file: a restored database needs no -wal beside it.
        writer.execute("PRAGMA journal_mode=DELETE")
    finally:
        writer.close()
        reader.close()


def sqlite_revision(path: Path) -> str | None:
    """The Alembic revision recorded in a SQLite file (None before the first migration)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = db.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:
        return None
    finally:
        db.close()
    return str(row[0]) if row else None


def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise Invalid(f"the database URL {url!r} names no SQLite file", field="database_url")
    return Path(database)


def pg_dump(url: str, target: Path) -> None:
    """``pg_dump --format=custom`` of the database at ``url`` into ``target``."""
    uri, env = _libpq(url)
    _run([_pg_tool("pg_dump"), "--format=custom", f"--file={target}", f"--dbname={uri}"], env)


def pg_restore(url: str, dump: Path) -> None:
    """Load ``dump`` into the (empty) database at ``url``, in one transaction."""
    uri, env = _libpq(url)
    command = [
        _pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
        "--single-transaction", f"--dbname={uri}", str(dump),
    ]  # fmt: skip
    _run(command, env)


def database_tables(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return sorted(inspect(connection).get_table_names())


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URI for ``url`` and the environment carrying its password (never on argv)."""
    parsed: URL = make_url(url)
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    uri = parsed.set(drivername="postgresql", password=None)
    return uri.render_as_string(hide_password=False), env


def _pg_tool(name: str) -> str:
    """``name`` from PATH, else from the newest /usr/lib/postgresql/<version>/bin."""
    found = shutil.which(name)
    if found:
        return found
    for directory in _PG_BIN_DIRS:
        if (directory / name).exists():
            return str(directory / name)
    raise KBError(
        f"{name} was not found on PATH nor under /usr/lib/postgresql/*/bin; install the "
        "PostgreSQL client tools (apt-get install postgresql-client)"
    )


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tool = Path(command[0]).name
        detail = done.stderr.strip().splitlines()[-3:] or [f"exit status {done.returncode}"]
        raise KBError(f"{tool} failed: {' | '.join(detail)}")
