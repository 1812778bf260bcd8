"""jobs are rows of one queue: kind, payload reference, actor, attempts and a lease

Revision ID: 0008_jobs
Revises: 0007_upkeep
Create Date: 2026-12-07 14:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_jobs"
down_revision = "0007_upkeep"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Jobs written before have no payload: they can only be failed if left running, never retried.
    with op.batch_alter_table("ingest_job", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=32), nullable=False, server_default="upload")
        )
        batch_op.add_column(
            sa.Column("actor", sa.String(length=300), nullable=False, server_default="system")
        )
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("lease_owner", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("payload", sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f("ix_ingest_job_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_ingest_job_lease_until"), ["lease_until"])


def downgrade() -> None:
    with op.batch_alter_table("ingest_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ingest_job_lease_until"))
        batch_op.drop_index(batch_op.f("ix_ingest_job_kind"))
        batch_op.drop_column("payload")
        batch_op.drop_column("lease_until")
        batch_op.drop_column("lease_owner")
        batch_op.drop_column("attempts")
        batch_op.drop_column("actor")
        batch_op.drop_column("kind")
