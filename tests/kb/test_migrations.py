"""Schema migrations on SQLite and PostgreSQL: the migrated schema is the models', a 040a051
database is adopted only when it really is one, and the start-up policy of kb/db.py."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine
from typer.testing import CliRunner

from kb import migrations
from kb.cli import app
from kb.context import KnowledgeBase
from kb.db import SchemaMismatch, Upgrade, open_engine, schema_state, upgrade_database
from kb.settings import Settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DATADIR_040A051 = FIXTURES / "datadir-040a051"
HEAD = migrations.head_revision()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings of an empty database of ``backend`` (SQLite in its own data dir)."""
    url = request.getfixturevalue("empty_postgres_url") if backend == "postgresql" else None
    return Settings(data_dir=tmp_path / "data", database_url=url, cache_dir=tmp_path / "cache")


@pytest.fixture
def engine(settings: Settings) -> Any:
    engine = open_engine(settings)
    yield engine
    engine.dispose()


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def make_040a051(engine: Engine, data_dir: Path) -> None:
    """What release 040a051 left: its data dir (SQLite) or its create_all DDL (PostgreSQL)."""
    if engine.dialect.name == "sqlite":
        shutil.copytree(DATADIR_040A051, data_dir, dirs_exist_ok=True)
        return
    ddl = (FIXTURES / "schema-040a051-postgresql.sql").read_text(encoding="utf-8")
    with engine.begin() as connection:
        for statement in filter(str.strip, ddl.split(";")):
            connection.exec_driver_sql(statement)


# Tables that revisions after the 0001 baseline create (0002: accounts).
LATER_TABLES = {
    "user_account", "user_session", "api_key", "login_failure", "audit_log",  # 0002
    "index_generation", "rate_window",  # 0006_published
    "upkeep_draft",  # 0007_upkeep
    "learning_intent", "learning_query", "learning_pin", "learning_reset",  # 0009_learning
    "learning_interleave",  # 0010_interleave
}  # fmt: skip
# Columns later revisions added to 040a051's tables: nullable, so its rows stay valid (0003,
# 0005).
LATER_COLUMNS = {
    "suggestion": {"actor"},
    "feedback": {"actor", "item_kind", "rank", "query", "collection"},
    "document": {"owner_id", "review_interval_days", "reviewed_at"},
    "ingest_job": {"kind", "actor", "attempts", "lease_owner", "lease_until", "payload"},  # 0008
}
# Later columns that are NOT NULL with a server default instead (0008): old rows get the default.
DEFAULTED = {("ingest_job", "kind"), ("ingest_job", "actor"), ("ingest_job", "attempts")}


def without_later_columns(tables: dict[str, Any]) -> dict[str, Any]:
    """``tables`` as 040a051 had them (without later columns and their indexes); each later
    column must be nullable."""
    out = {}
    for table, shape in tables.items():
        later = LATER_COLUMNS.get(table, set())
        added = [c for c in shape["columns"] if c[0] in later]
        assert {c[0] for c in added} == later, (table, added)
        assert all(c[2] or (table, c[0]) in DEFAULTED for c in added), (table, added)
        columns = [c for c in shape["columns"] if c[0] not in later]
        indexes = [i for i in shape["indexes"] if not set(i[1]) & later]
        out[table] = {**shape, "columns": columns, "indexes": indexes}
    return out


def describe(connection: Connection) -> dict[str, Any]:
    """Tables with their columns (type, nullability), indexes, unique and foreign keys."""
    inspector = inspect(connection)
    return {
        table: {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)
            ],
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in inspector.get_indexes(table)
            ),
            "unique": sorted(
                tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)
            ),
            "foreign": sorted(
                (tuple(f["constrained_columns"]), f["referred_table"])
                for f in inspector.get_foreign_keys(table)
            ),
        }
        for table in sorted(inspector.get_table_names())
        if table != migrations.VERSION_TABLE
    }


def test_a_new_database_is_made_by_the_migrations_and_matches_the_models(engine: Engine) -> None:
    assert upgrade_database(engine) == Upgrade("empty", HEAD, None)
    with engine.connect() as connection:
        assert migrations.current_revision(connection) == HEAD
        # A model changed without a migration fails here: autogenerate would write something.
        assert migrations.schema_diff(connection) == []
    assert upgrade_database(engine) == Upgrade(HEAD, HEAD, None)


@pytest.mark.parametrize(
    ("change", "kind"),
    [
        ("ALTER TABLE reply ADD COLUMN extra INTEGER", "remove_column"),
        ("DROP INDEX ix_feedback_created_at", "add_index"),
        ("DROP TABLE ingest_job", "add_table"),
    ],
)
def test_the_schema_comparison_sees_a_difference(engine: Engine, change: str, kind: str) -> None:
    upgrade_database(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql(change)
    with engine.connect() as connection:
        diff = migrations.schema_diff(connection)
    assert kind in {d[0] for d in diff if isinstance(d, tuple)}


def test_a_040a051_database_is_adopted_as_the_baseline(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    make_040a051(engine, settings.data_dir)
    with engine.connect() as connection:
        state = schema_state(connection)
        assert (state.revision, state.empty) == (None, False)
        before = describe(connection)
    done = upgrade_database(engine)
    assert (done.before, done.after) == ("040a051 (no revision)", HEAD)
    assert (done.backup is not None) == (engine.dialect.name == "sqlite")
    with engine.connect() as connection:
        after = describe(connection)
        # Stamped, not altered: the 040a051 tables are as they were; later revisions only added
        # tables, and nullable columns.
        assert without_later_columns({table: after[table] for table in before}) == before
        assert set(after) - set(before) == LATER_TABLES
        assert migrations.schema_diff(connection) == []
    if engine.dialect.name == "sqlite":  # PostgreSQL: the next test
        # ... and identical to what the migrations make in a new database.
        fresh = open_engine(settings.model_copy(update={"data_dir": tmp_path / "fresh"}))
        try:
            upgrade_database(fresh)
            with fresh.connect() as connection:
                assert describe(connection) == after
        finally:
            fresh.dispose()


def test_the_baseline_is_the_040a051_schema_on_postgresql(empty_postgres_url: str) -> None:
    """The DDL 040a051 ran and the baseline revision make the same PostgreSQL schema."""
    import psycopg

    server, name = empty_postgres_url.rsplit("/", 1)
    admin = server.replace("postgresql+psycopg://", "postgresql://") + f"/{name}"
    other = f"{name}_b"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{other}"')
    described = []
    for url, build in ((empty_postgres_url, "040a051"), (f"{server}/{other}", "baseline")):
        engine = open_engine(Settings(database_url=url))
        try:
            if build == "040a051":
                make_040a051(engine, Path("unused"))
            else:
                with engine.begin() as connection:
                    migrations.upgrade(connection, "0001")
            with engine.connect() as connection:
                described.append(describe(connection))
        finally:
            engine.dispose()
    assert described[0] == described[1]
    assert set(described[0]) == set(migrations.baseline_columns())


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ("ALTER TABLE chunk DROP COLUMN external_id", "chunk.external_id is missing"),
        ("ALTER TABLE reply ADD COLUMN mood TEXT", "reply.mood is unknown"),
        ("DROP TABLE feedback", "table feedback is missing"),
    ],
)
def test_tables_that_are_not_040a051s_are_refused_and_left_alone(
    tmp_path: Path, change: str, problem: str
) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATADIR_040A051, data)
    database = data / "assistkb.sqlite3"
    with closing(sqlite3.connect(database)) as db:
        db.execute(change)
        db.commit()
    with pytest.raises(SchemaMismatch, match="not release 040a051's") as caught:
        KnowledgeBase(Settings(data_dir=data))
    assert problem in caught.value.message and "left unchanged" in caught.value.message
    with closing(sqlite3.connect(database)) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert migrations.VERSION_TABLE not in tables
    assert sorted(p.name for p in data.glob("*.before-upgrade-*")) == []
    code, output = run("db", "upgrade", "--data-dir", str(data))
    assert code == 1 and problem in output


def test_a_revision_from_a_newer_build_is_refused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    KnowledgeBase(settings).close()
    with closing(sqlite3.connect(tmp_path / "data" / "assistkb.sqlite3")) as db:
        db.execute("UPDATE alembic_version SET version_num = '9999'")
        db.commit()
    with pytest.raises(SchemaMismatch, match="revision 9999, which a newer AssistKB wrote"):
        KnowledgeBase(settings)
    code, output = run("db", "current", "--data-dir", str(tmp_path / "data"))
    assert code == 1 and "newer AssistKB" in output


def test_sqlite_upgrades_at_start_up_after_a_backup(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATADIR_040A051, data)
    code, output = run("db", "current", "--data-dir", str(data))
    assert code == 0 and "release 040a051's schema (no revision yet)" in output
    code, output = run("documents", "list", "--json", "--data-dir", str(data))  # any command
    assert code == 0 and "warranty-policy.md" in output
    code, output = run("db", "current", "--data-dir", str(data))
    assert (code, output.strip()) == (0, f"{HEAD} (head)")
    [backup] = data.glob("assistkb.sqlite3.before-upgrade-*-from-040a051")
    with closing(sqlite3.connect(backup)) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert migrations.VERSION_TABLE not in tables and "document" in tables


def test_concurrent_sqlite_upgrades_take_turns(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATADIR_040A051, data)
    settings = Settings(data_dir=data)
    start = threading.Barrier(2)
    results: list[Upgrade] = []

    def upgrade() -> None:
        engine = open_engine(settings)
        try:
            start.wait()
            results.append(upgrade_database(engine))
        finally:
            engine.dispose()

    threads = [threading.Thread(target=upgrade) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.before for r in results) == sorted(["040a051 (no revision)", HEAD])
    assert {r.after for r in results} == {HEAD}
    assert len(list(data.glob("*.before-upgrade-*"))) == 1


def test_postgresql_refuses_to_start_until_kb_db_upgrade(
    empty_postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from web.app import create_app

    settings = Settings(data_dir=tmp_path / "data", database_url=empty_postgres_url)
    engine = open_engine(settings)
    try:
        make_040a051(engine, settings.data_dir)
    finally:
        engine.dispose()
    with pytest.raises(SchemaMismatch, match=r"run `kb db upgrade` once"):
        KnowledgeBase(settings)
    with pytest.raises(SchemaMismatch, match=r"kb db upgrade"), TestClient(create_app(settings)):
        pass  # the web app's start-up
    monkeypatch.setenv("KB_DATABASE_URL", empty_postgres_url)
    data = str(tmp_path / "data")
    # An unroutable host: should the refusal ever go, uvicorn fails instead of serving forever.
    code, output = run("serve", "--data-dir", data, "--host", "256.0.0.1")
    assert code == 1 and "kb db upgrade" in output
    code, output = run("db", "current", "--data-dir", data)
    assert code == 0 and "release 040a051's schema" in output
    code, output = run("db", "upgrade", "--data-dir", data)
    assert code == 0 and f"040a051 (no revision) → {HEAD}" in output
    code, output = run("db", "current", "--data-dir", data)
    assert (code, output.strip()) == (0, f"{HEAD} (head)")
    KnowledgeBase(settings).close()


def test_0004_adds_each_persons_language_and_keeps_their_accounts(engine: Engine) -> None:
    """An account made before 0004 follows its browser's language afterwards (locale NULL),
    and can save a choice."""
    with engine.begin() as connection:
        migrations.upgrade(connection, "0003")
        connection.exec_driver_sql(
            "INSERT INTO user_account (id, email, role, password_hash, disabled, collections, "
            "created_at, updated_at, password_changed_at) VALUES ('u1', 'a@assistkb.test', "
            "'agent', 'x', false, '[]', '2026-01-01', '2026-01-01', '2026-01-01')"
        )
    with engine.begin() as connection:
        migrations.upgrade(connection, "0004")
        rows = connection.exec_driver_sql("SELECT email, locale FROM user_account").all()
        assert [tuple(r) for r in rows] == [("a@assistkb.test", None)]
        connection.exec_driver_sql("UPDATE user_account SET locale = 'zh-Hant'")
        assert migrations.current_revision(connection) == "0004"
    columns = {c["name"]: c for c in inspect(engine).get_columns("user_account")}
    assert columns["locale"]["nullable"]


def test_0005_gives_old_feedback_its_suggestions_context(engine: Engine) -> None:
    """Each event gets its suggestion's collection and query and the item's kind and rank as
    shown; an item the suggestion did not offer keeps none; documents get no owner."""
    answers = '[{"id": "c1", "score": 0.9}, {"id": "c2", "score": 0.5}]'
    with engine.begin() as connection:
        migrations.upgrade(connection, "0004")
        connection.exec_driver_sql(
            "INSERT INTO suggestion (id, created_at, collection, query, conversation, answers, "
            "replies, escalation, handling, took_ms) VALUES ('s1', '2026-01-01', 'team-a', "
            f"'退款多久', '[]', '{answers}', '[\"r1\", \"r2\"]', '{{}}', 'agent', 1.0)"
        )
        for fid, item in [("f1", "c2"), ("f2", "r2"), ("f3", "escalation-reply"), ("f4", "zz")]:
            connection.exec_driver_sql(
                "INSERT INTO feedback (id, suggestion_id, item_id, action, created_at) "
                f"VALUES ('{fid}', 's1', '{item}', 'copied', '2026-01-01')"
            )
        connection.exec_driver_sql(
            "INSERT INTO document (id, collection, source_name, title, doc_type, tags, "
            "current_version, created_at, updated_at) VALUES ('d1', 'team-a', 'a.md', 'A', "
            "'manual', '[]', 1, '2026-01-01', '2026-01-01')"
        )
    with engine.begin() as connection:
        migrations.upgrade(connection, "0005")
        rows = connection.exec_driver_sql(
            "SELECT id, item_kind, rank, query, collection FROM feedback ORDER BY id"
        ).all()
        document = connection.exec_driver_sql(
            "SELECT owner_id, review_interval_days, reviewed_at FROM document"
        ).one()
    assert [tuple(r) for r in rows] == [
        ("f1", "answer", 2, "退款多久", "team-a"),
        ("f2", "reply", 2, "退款多久", "team-a"),
        ("f3", "escalation_reply", 1, "退款多久", "team-a"),
        ("f4", None, None, "退款多久", "team-a"),
    ]
    assert tuple(document) == (None, None, None)
