"""upkeep: draft FAQ entries from gaps, in a review queue

Revision ID: 0007_upkeep
Revises: 0006_published
Create Date: 2026-12-07 14:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_upkeep"
down_revision = "0006_published"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "upkeep_draft",
        sa.Column("collection", sa.String(length=64), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("answer_source", sa.String(length=128), nullable=True),
        sa.Column("queries", sa.JSON(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=300), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=300), nullable=True),
        sa.Column("document_id", sa.String(length=32), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("upkeep_draft", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_upkeep_draft_collection"), ["collection"])
        batch_op.create_index(batch_op.f("ix_upkeep_draft_created_at"), ["created_at"])
        batch_op.create_index(batch_op.f("ix_upkeep_draft_status"), ["status"])


def downgrade() -> None:
    with op.batch_alter_table("upkeep_draft", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_upkeep_draft_status"))
        batch_op.drop_index(batch_op.f("ix_upkeep_draft_created_at"))
        batch_op.drop_index(batch_op.f("ix_upkeep_draft_collection"))
    op.drop_table("upkeep_draft")
