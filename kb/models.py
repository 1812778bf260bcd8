"""SQL tables: documents and their versions and chunks, the library, logs, jobs and accounts.

An entity a service publishes has a ``XBase`` here holding its published columns; the table adds
what only storage needs, and the room's ``schemas.py`` derives ``XPublic`` from the base.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def new_id() -> str:
    return uuid.uuid4().hex[:16]


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """Databases hand back naive UTC (SQLite, PostgreSQL "timestamp"): say so."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class DocumentBase(SQLModel):
    collection: str = Field(index=True, max_length=64)
    source_name: str = Field(max_length=512, description="File name as uploaded; the identity key.")
    title: str = Field(max_length=512)
    doc_type: str = Field(default="manual", max_length=32, index=True)
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    product: str | None = Field(default=None, max_length=128)
    language: str | None = Field(default=None, max_length=16)
    valid_from: date | None = None
    valid_to: date | None = None
    # Upkeep: who answers for the content and how often it is checked (kb/documents/review.py).
    owner_id: str | None = Field(
        default=None, max_length=32, description="The user who owns the content, or none."
    )
    review_interval_days: int | None = Field(
        default=None, description="Days between reviews; none: the document is never due."
    )
    reviewed_at: datetime | None = Field(
        default=None, description="When a manager last marked it reviewed (UTC)."
    )


class Document(DocumentBase, table=True):
    __table_args__ = (UniqueConstraint("collection", "source_name"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    current_version: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class DocumentVersionBase(SQLModel):
    document_id: str = Field(foreign_key="document.id", index=True, max_length=32)
    number: int
    content_hash: str = Field(max_length=64)
    size_bytes: int
    format: str = Field(max_length=16)
    encoding: str | None = Field(default=None, max_length=32)
    chunk_count: int = 0
    warnings: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class DocumentVersion(DocumentVersionBase, table=True):
    __tablename__ = "document_version"
    __table_args__ = (UniqueConstraint("document_id", "number"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)


class ChunkBase(SQLModel):
    version_id: str = Field(foreign_key="document_version.id", index=True, max_length=32)
    document_id: str = Field(index=True, max_length=32)
    ordinal: int
    kind: str = Field(default="passage", max_length=16)
    text: str = Field(sa_column=Column(Text, nullable=False))
    question: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    title: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    heading_path: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    page: int | None = None
    external_id: str | None = Field(default=None, max_length=128)


class ChunkRecord(ChunkBase, table=True):
    __tablename__ = "chunk"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)


class ReplyRecord(SQLModel, table=True):
    """A scripted reply template; ``id`` is its stable slug."""

    __tablename__ = "reply"

    id: str = Field(primary_key=True, max_length=128)
    title: str = Field(max_length=256)
    body: str = Field(sa_column=Column(Text, nullable=False))
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    language: str = Field(default="zh-Hans", max_length=16)
    variables: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    applies_to: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    labels: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    source: str | None = Field(default=None, max_length=256)
    updated_at: datetime = Field(default_factory=utcnow)


class RuleSetBase(SQLModel):
    source: str = Field(max_length=256)
    rule_count: int = 0
    created_at: datetime = Field(default_factory=utcnow, index=True)


class RuleSetRecord(RuleSetBase, table=True):
    """An imported escalation rule file; the newest row is the rule set in force."""

    __tablename__ = "rule_set"

    id: int | None = Field(default=None, primary_key=True)
    text: str = Field(sa_column=Column(Text, nullable=False))


class VocabularyRecord(SQLModel, table=True):
    """The BM25 vocabulary edited in the console; the newest row is the one in force."""

    __tablename__ = "vocabulary"

    id: int | None = Field(default=None, primary_key=True)
    user_dict: str = Field(sa_column=Column(Text, nullable=False))
    synonyms: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, index=True)


class SuggestionLog(SQLModel, table=True):
    """Every suggestion made, with personal data redacted before it is written."""

    __tablename__ = "suggestion"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    collection: str = Field(max_length=64)
    query: str = Field(sa_column=Column(Text, nullable=False))
    conversation: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    customer_tier: str | None = Field(default=None, max_length=32)
    answers: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    replies: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    escalation: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    handling: str = Field(max_length=16)
    best_confidence: str | None = Field(default=None, max_length=8)
    took_ms: float = 0.0
    # Who asked: user:<email>, key:<prefix> or embed:<agent> (the agent an embed token names).
    actor: str | None = Field(default=None, max_length=300)


class FeedbackBase(SQLModel):
    suggestion_id: str = Field(foreign_key="suggestion.id", index=True, max_length=32)
    item_id: str = Field(max_length=128)
    action: str = Field(max_length=16)
    comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, index=True)
    # The context the item was used in, copied from the suggestion when the event is recorded
    # (kb/insight/feedback.py), so analytics and learning need no join. Null only in rows that
    # predate it and whose suggestion no longer says (migration 0005 backfilled the rest).
    item_kind: str | None = Field(
        default=None, max_length=16, description="answer | reply | escalation_reply"
    )
    rank: int | None = Field(
        default=None,
        description="1-based position the item was shown at among the suggestion's items of "
        "its kind (answers in ranked order, replies in their order).",
    )
    query: str | None = Field(
        default=None,
        sa_column=Column(Text, nullable=True),
        description="The query as searched for the suggestion, personal data redacted.",
    )
    collection: str | None = Field(
        default=None, max_length=64, index=True, description="The suggestion's collection."
    )
    actor: str | None = Field(
        default=None,
        max_length=300,
        description="Who acted: user:<email>, key:<prefix> or "
        "embed:<agent>, as SuggestionLog.actor.",
    )


class FeedbackRecord(FeedbackBase, table=True):
    __tablename__ = "feedback"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)


class IngestJobBase(SQLModel):
    collection: str = Field(max_length=64)
    status: str = Field(default="queued", max_length=16)  # queued|running|done|failed
    total_files: int = 0
    done_files: int = 0
    stage: str = Field(default="", max_length=64)  # e.g. "parsing faq.csv", "indexing 40/120"
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, index=True)
    finished_at: datetime | None = None


class IngestJob(IngestJobBase, table=True):
    """A background ingestion run (console uploads): progress and per-file results."""

    __tablename__ = "ingest_job"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    # Each file's result as JSON: ``IngestJobPublic`` reads them as ``JobFileOut``.
    results: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )


# --- accounts: people, their sessions, API keys, failed logins, the audit log ----------------


class UserAccount(SQLModel, table=True):
    """A person who signs in. ``email`` is stored lower-cased, so it is unique in any case."""

    __tablename__ = "user_account"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    email: str = Field(max_length=254, unique=True, index=True)
    role: str = Field(max_length=16)
    password_hash: str = Field(max_length=255)
    disabled: bool = False
    collections: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    password_changed_at: datetime = Field(default_factory=utcnow)
    # The UI language the person chose (kb.types.Language); None: their browser's.
    locale: str | None = Field(default=None, max_length=16)


class UserSession(SQLModel, table=True):
    """A server-side login; the cookie's token is stored only as its SHA-256."""

    __tablename__ = "user_session"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    user_id: str = Field(foreign_key="user_account.id", index=True, max_length=32)
    csrf_secret: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    ended_at: datetime | None = None
    end_reason: str | None = Field(default=None, max_length=16)  # logout|disabled|password


class ApiKeyRecord(SQLModel, table=True):
    """A CRM's key: only the visible prefix and the SHA-256 of the whole key are kept."""

    __tablename__ = "api_key"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    name: str = Field(max_length=128)
    prefix: str = Field(max_length=16, unique=True, index=True)
    key_hash: str = Field(max_length=64)
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    collections: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_by: str = Field(max_length=300)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class LoginFailure(SQLModel, table=True):
    """One failed login of a subject (a hashed account name or address), for throttling."""

    __tablename__ = "login_failure"

    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(max_length=64, index=True)
    at: datetime = Field(default_factory=utcnow, index=True)


class AuditEntry(SQLModel, table=True):
    """Who changed what. The application only ever inserts rows here."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor: str = Field(max_length=300)  # user:<email> | key:<prefix> | embed:<agent> | cli
    action: str = Field(max_length=64, index=True)
    target: str = Field(max_length=300)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


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
