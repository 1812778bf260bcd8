"""Alembic's environment: run on the connection kb.migrations hands over, never on a URL of its own.

The database URL has one source, ``Settings``; ``kb db upgrade`` and start-up open the engine
and pass its connection in ``config.attributes["connection"]``.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from sqlalchemy import DateTime
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

from kb import learning_models, models  # noqa: F401  (register the tables on SQLModel.metadata)


def render_item(kind: str, value: Any, _context: Any) -> str | Literal[False]:
    """Revisions name plain SQLAlchemy types, so they never depend on sqlmodel's internals."""
    if kind == "type" and isinstance(value, AutoString):
        return f"sa.String(length={value.length})" if value.length else "sa.String()"
    if kind == "type" and isinstance(getattr(value, "impl", None), DateTime):
        return f"sa.DateTime(timezone={value.impl.timezone})"
    return False


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `kb db upgrade`, not the alembic command")

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    # SQLite alters a table by copying it: batch mode does that for every ALTER.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    render_item=render_item,
)
with context.begin_transaction():
    context.run_migrations()
