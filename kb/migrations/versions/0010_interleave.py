"""team-draft interleaving of learned and unlearned rankings: the teams of shown answers

Revision ID: 0010_interleave
Revises: 0009_learning
Create Date: 2026-12-07 17:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_interleave"
down_revision = "0009_learning"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "learning_interleave",
        sa.Column("suggestion_id", sa.String(length=32), nullable=False),
        sa.Column("collection", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("teams", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("suggestion_id"),
    )
    with op.batch_alter_table("learning_interleave", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_learning_interleave_collection"), ["collection"])
        batch_op.create_index(batch_op.f("ix_learning_interleave_created_at"), ["created_at"])


def downgrade() -> None:
    op.drop_table("learning_interleave")
