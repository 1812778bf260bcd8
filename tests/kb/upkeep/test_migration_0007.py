"""Migration 0007_upkeep on SQLite and PostgreSQL: it adds the draft table the models describe,
leaves every earlier row alone, and downgrades cleanly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from kb import migrations
from kb.db import open_engine
from kb.settings import Settings


@pytest.fixture
def engine(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    url = request.getfixturevalue("empty_postgres_url") if backend == "postgresql" else None
    settings = Settings(data_dir=tmp_path / "data", database_url=url, cache_dir=tmp_path / "c")
    engine = open_engine(settings)
    yield engine
    engine.dispose()


def test_0007_adds_the_draft_table_and_downgrades(engine: Engine) -> None:
    with engine.begin() as connection:
        migrations.upgrade(connection, "0005")
        connection.exec_driver_sql(
            "INSERT INTO suggestion (id, created_at, collection, query, conversation, answers, "
            "replies, escalation, handling, took_ms) VALUES ('s1', '2026-01-01', 'team-a', "
            "'以旧换新怎么参加', '[]', '[]', '[]', '{}', 'agent', 1.0)"
        )
    with engine.begin() as connection:
        migrations.upgrade(connection, "0007_upkeep")
        connection.exec_driver_sql(
            "INSERT INTO upkeep_draft (id, collection, question, answer, status, queries, events, "
            "created_at, created_by, expires_at) VALUES ('d1', 'team-a', '以旧换新怎么参加', '', "
            "'pending', '[\"以旧换新怎么参加\"]', 10, '2026-01-01', 'cli', '2026-02-01')"
        )
        assert (
            connection.exec_driver_sql("SELECT query FROM suggestion").scalar()
            == "以旧换新怎么参加"
        )
    # (That the schema at head is the models' is tests/kb/test_migrations.py's to check.)
    columns = {c["name"] for c in inspect(engine).get_columns("upkeep_draft")}
    assert {"answer_source", "decided_at", "decided_by", "document_id"} <= columns
    indexes = {i["name"] for i in inspect(engine).get_indexes("upkeep_draft")}
    assert {"ix_upkeep_draft_collection", "ix_upkeep_draft_status"} <= indexes
    with engine.begin() as connection:
        command.downgrade(migrations.config(connection), "0005")
        assert migrations.current_revision(connection) == "0005"
    assert "upkeep_draft" not in inspect(engine).get_table_names()
