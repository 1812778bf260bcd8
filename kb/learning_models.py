"""SQL tables of learning from feedback (kb/learning/): query intents, pins, resets, interleaving.

Apart from kb/models.py only to keep both modules readable; kb.migrations imports both, so every
table is on ``SQLModel.metadata`` wherever the schema is made or compared.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from kb.models import new_id, utcnow

# --- learning from feedback: query intents, pins, resets (kb/learning) ----------------------


class LearningIntent(SQLModel, table=True):
    """A cluster of queries that mean the same: what adjustments and pins are keyed to."""

    __tablename__ = "learning_intent"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    collection: str = Field(index=True, max_length=64)
    label: str = Field(sa_column=Column(Text, nullable=False))  # its first query, redacted
    centroid: list[float] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    query_count: int = 1
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class LearningQuery(SQLModel, table=True):
    """A query as logged (folded and redacted, by its hash) and the intent it belongs to."""

    __tablename__ = "learning_query"
    __table_args__ = (UniqueConstraint("collection", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    collection: str = Field(max_length=64)
    key: str = Field(max_length=64)
    intent_id: str = Field(foreign_key="learning_intent.id", index=True, max_length=32)
    created_at: datetime = Field(default_factory=utcnow)


class LearningPinBase(SQLModel):
    collection: str = Field(index=True, max_length=64)
    intent_id: str = Field(foreign_key="learning_intent.id", index=True, max_length=32)
    item_id: str = Field(max_length=128, description="The pinned answer (a chunk id).")
    document_id: str = Field(max_length=32)
    document_version: int = Field(description="The pin holds while this version is current.")
    status: str = Field(default="active", max_length=16, description="proposed | active")
    created_by: str = Field(max_length=300)
    approved_by: str | None = Field(default=None, max_length=300)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime | None = None


class LearningPin(LearningPinBase, table=True):
    """An answer that leads for an intent's queries (or an agent's proposal that it should)."""

    __tablename__ = "learning_pin"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)


class LearningReset(SQLModel, table=True):
    """Evidence before ``at`` no longer counts for the intent's item (or all its items)."""

    __tablename__ = "learning_reset"

    id: int | None = Field(default=None, primary_key=True)
    collection: str = Field(index=True, max_length=64)
    intent_id: str = Field(max_length=32)
    item_id: str | None = Field(default=None, max_length=128)  # None: every item of the intent
    at: datetime = Field(default_factory=utcnow)
    actor: str = Field(max_length=300)


class LearningInterleave(SQLModel, table=True):
    """A suggestion whose answers interleaved the learned ranking (team A) with the unlearned
    one (team B): which team picked each answer shown (kb/learning/interleaving.py)."""

    __tablename__ = "learning_interleave"

    suggestion_id: str = Field(primary_key=True, max_length=32)
    collection: str = Field(index=True, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    teams: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
