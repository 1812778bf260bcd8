"""feedback records its context; documents have an owner and a review interval

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 11:10:00.000000
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BATCH = 500


def upgrade() -> None:
    # All nullable: a document without an owner or interval is never due, and old feedback whose
    # suggestion does not name the item keeps no rank.
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.add_column(sa.Column("item_kind", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("rank", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("query", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("collection", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_feedback_collection"), ["collection"], unique=False)
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("review_interval_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
    _backfill_feedback(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.drop_column("reviewed_at")
        batch_op.drop_column("review_interval_days")
        batch_op.drop_column("owner_id")
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_collection"))
        batch_op.drop_column("collection")
        batch_op.drop_column("query")
        batch_op.drop_column("rank")
        batch_op.drop_column("item_kind")


# Frozen copies of the tables as of this revision: the models may change later.
_suggestion = sa.table(
    "suggestion",
    sa.column("id", sa.String),
    sa.column("collection", sa.String),
    sa.column("query", sa.Text),
    sa.column("answers", sa.JSON),
    sa.column("replies", sa.JSON),
    sa.column("escalation", sa.JSON),
)
_feedback = sa.table(
    "feedback",
    sa.column("id", sa.String),
    sa.column("suggestion_id", sa.String),
    sa.column("item_id", sa.String),
    sa.column("item_kind", sa.String),
    sa.column("rank", sa.Integer),
    sa.column("query", sa.Text),
    sa.column("collection", sa.String),
)


def _backfill_feedback(connection: sa.engine.Connection) -> None:
    """Each old event gets what its suggestion's log row says: collection, query, and the
    item's kind and rank as shown (the same rule as kb/insight/feedback.py's ``item_context``)."""
    rows = connection.execute(
        sa.select(
            _feedback.c.id,
            _feedback.c.item_id,
            _suggestion.c.collection,
            _suggestion.c.query,
            _suggestion.c.answers,
            _suggestion.c.replies,
            _suggestion.c.escalation,
        ).join(_suggestion, _suggestion.c.id == _feedback.c.suggestion_id)
    ).all()
    updates = [
        {"fid": row.id, "c": row.collection, "q": row.query, **_kind_and_rank(row)} for row in rows
    ]
    statement = (
        sa.update(_feedback)
        .where(_feedback.c.id == sa.bindparam("fid"))
        .values(
            collection=sa.bindparam("c"),
            query=sa.bindparam("q"),
            item_kind=sa.bindparam("k"),
            rank=sa.bindparam("r"),
        )
    )
    for start in range(0, len(updates), BATCH):
        connection.execute(statement, updates[start : start + BATCH])


def _kind_and_rank(row: Any) -> dict[str, Any]:
    answers = [
        str(a.get("id")) for a in (row.answers or []) if isinstance(a, dict) and not a.get("draft")
    ]
    replies = [str(r) for r in (row.replies or [])]
    if row.item_id in answers:
        return {"k": "answer", "r": answers.index(row.item_id) + 1}
    if row.item_id in replies:
        return {"k": "reply", "r": replies.index(row.item_id) + 1}
    if row.item_id == "escalation-reply":  # before 0003's rule_ids, any was offered
        return {"k": "escalation_reply", "r": 1}
    return {"k": None, "r": None}
