"""Accounts as published: never a password hash, a key hash or a session token at rest."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Row

from kb.accounts.principal import EMBED_SCOPES, ROLE_SCOPES, Principal
from kb.models import ApiKeyRecord, AuditEntry, UserAccount, as_utc
from kb.types import LANGUAGES, Language, Scope, Strict, UserRole


class UserPublic(BaseModel):
    id: str
    email: str
    role: UserRole
    disabled: bool
    collections: list[str]  # empty: every collection
    created_at: datetime
    updated_at: datetime
    password_changed_at: datetime
    locale: Language | None = None  # the UI language chosen; None: the browser's

    @classmethod
    def of(cls, row: UserAccount) -> UserPublic:
        return cls(
            id=row.id,
            email=row.email,
            role=row.role,
            disabled=row.disabled,
            collections=list(row.collections),
            created_at=as_utc(row.created_at),
            updated_at=as_utc(row.updated_at),
            password_changed_at=as_utc(row.password_changed_at),
            locale=row.locale if row.locale in LANGUAGES else None,
        )

    def principal(self, *, session_id: str | None = None) -> Principal:
        return Principal(
            kind="user",
            name=self.email,
            role=self.role,
            scopes=ROLE_SCOPES[self.role],
            collections=tuple(self.collections),
            user_id=self.id,
            session_id=session_id,
        )


class NewUser(BaseModel):
    """A user just created; ``password`` is set only when it was generated (shown once)."""

    user: UserPublic
    password: str | None = None


class SessionInfo(BaseModel):
    """A live session and the CSRF token its state-changing requests must carry."""

    id: str
    user: UserPublic
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    csrf_token: str

    @property
    def principal(self) -> Principal:
        return self.user.principal(session_id=self.id)


class SessionGrant(BaseModel):
    """A login's result: ``token`` goes into the cookie and is never stored or shown again."""

    token: str
    session: SessionInfo


class ApiKeyPublic(BaseModel):
    id: str
    name: str
    prefix: str
    scopes: list[Scope]
    collections: list[str]  # empty: every collection
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: ApiKeyRecord | Row[Any]) -> ApiKeyPublic:
        """From the model, or from a Core row of its table (the per-request lookup)."""
        return cls(
            id=row.id,
            name=row.name,
            prefix=row.prefix,
            scopes=list(row.scopes),
            collections=list(row.collections),
            created_by=row.created_by,
            created_at=as_utc(row.created_at),
            expires_at=_utc(row.expires_at),
            last_used_at=_utc(row.last_used_at),
            revoked_at=_utc(row.revoked_at),
        )

    def active(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)

    def principal(self) -> Principal:
        return Principal(
            kind="key",
            name=self.prefix,
            scopes=frozenset(self.scopes),
            collections=tuple(self.collections),
            key_id=self.id,
        )


class NewApiKey(BaseModel):
    """A key just created: ``key`` is the only time the whole key is ever available."""

    key: str
    api_key: ApiKeyPublic


class EmbedClaims(BaseModel):
    """What a verified embed token says: one agent, some collections, until ``expires_at``."""

    agent: str
    collections: list[str]  # empty: every collection (only from a key limited to none)
    issuer: str  # the prefix of the key that minted it
    expires_at: datetime

    def principal(self) -> Principal:
        return Principal(
            kind="embed",
            name=self.agent,
            role="agent",
            scopes=EMBED_SCOPES,
            collections=tuple(self.collections),
        )


class EmbedGrant(BaseModel):
    token: str
    claims: EmbedClaims


class EmbedTokenBody(Strict):
    """What a CRM's server asks for: a panel for one agent, in some collections, for a while."""

    agent: str = Field(
        min_length=1,
        max_length=128,
        description="The agent's id in the CRM; suggestion logs and feedback record it.",
    )
    collections: list[str] = Field(
        default_factory=list,
        description="Collections the panel may use, within the key's; default: all of the key's.",
    )
    minutes: float | None = Field(
        None, gt=0, description="Life of the token; default and most: KB_EMBED_TOKEN_MINUTES."
    )


class EmbedTokenOut(BaseModel):
    """A minted token and where to open the panel with it (in an iframe of the CRM's page)."""

    token: str
    agent: str
    collections: list[str] = Field(description="Empty: every collection (a key limited to none).")
    expires_at: datetime
    panel_url: str = Field(description="`/assist?embed=TOKEN`, relative to this server.")


class AuditEntryPublic(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    detail: dict[str, Any]

    @classmethod
    def of(cls, row: AuditEntry) -> AuditEntryPublic:
        assert row.id is not None
        return cls(
            id=row.id,
            at=as_utc(row.at),
            actor=row.actor,
            action=row.action,
            target=row.target,
            detail=dict(row.detail),
        )


def _utc(moment: datetime | None) -> datetime | None:
    return as_utc(moment) if moment else None
