"""learning from feedback: query intents, pins, resets

Revision ID: 0006_learning
Revises: 0005
Create Date: 2026-12-07 13:49:02.145634
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_learning"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "learning_intent",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("collection", sa.String(length=64), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("centroid", sa.JSON(), nullable=False),
        sa.Column("query_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("learning_intent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_learning_intent_collection"), ["collection"])
    op.create_table(
        "learning_reset",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("collection", sa.String(length=64), nullable=False),
        sa.Column("intent_id", sa.String(length=32), nullable=False),
        sa.Column("item_id", sa.String(length=128), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("learning_reset", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_learning_reset_collection"), ["collection"])
    op.create_table(
        "learning_pin",
        sa.Column("collection", sa.String(length=64), nullable=False),
        sa.Column("intent_id", sa.String(length=32), nullable=False),
        sa.Column("item_id", sa.String(length=128), nullable=False),
        sa.Column("document_id", sa.String(length=32), nullable=False),
        sa.Column("document_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=300), nullable=False),
        sa.Column("approved_by", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["intent_id"], ["learning_intent.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("learning_pin", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_learning_pin_collection"), ["collection"])
        batch_op.create_index(batch_op.f("ix_learning_pin_intent_id"), ["intent_id"])
    op.create_table(
        "learning_query",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("collection", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("intent_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["intent_id"], ["learning_intent.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("collection", "key"),
    )
    with op.batch_alter_table("learning_query", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_learning_query_intent_id"), ["intent_id"])


def downgrade() -> None:
    op.drop_table("learning_query")
    op.drop_table("learning_pin")
    op.drop_table("learning_reset")
    op.drop_table("learning_intent")
