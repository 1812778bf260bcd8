"""many web processes on one published index: the live generation per collection and shared
rate-limit windows

Revision ID: 0006_published
Revises: 0005
Create Date: 2026-12-07 14:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_published"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Written only with KB_SHARED (PostgreSQL); created everywhere so both schemas are one.
    op.create_table(
        "index_generation",
        sa.Column("collection", sa.String(length=64), nullable=False),
        sa.Column("generation", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("pending", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("collection"),
    )
    op.create_table(
        "rate_window",
        sa.Column("caller", sa.String(length=200), nullable=False),
        sa.Column("minute", sa.Integer(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("caller", "minute"),
    )


def downgrade() -> None:
    op.drop_table("rate_window")
    op.drop_table("index_generation")
