"""API keys for the CRM: shown once, stored as a SHA-256, scoped, limited, expiring, revocable.

A key reads ``akb_<8 characters>_<43 characters>``: the first twelve are its visible prefix (in
listings and the audit log), the rest 256 random bits. With that much randomness a plain SHA-256
cannot be searched back to a key, and it needs no server secret, so rotating ``KB_SECRET_KEY``
leaves the CRM's keys working.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import Table, bindparam
from sqlalchemy import select as sa_select
from sqlalchemy import update as sa_update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from kb.accounts.principal import Principal
from kb.accounts.schemas import ApiKeyPublic, NewApiKey
from kb.accounts.users import collection_list
from kb.audit import record
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.errors import Invalid, NotFound
from kb.models import ApiKeyRecord, utcnow
from kb.types import SCOPES, Scope

KEY_PREFIX = "akb_"
PREFIX_CHARS = len(KEY_PREFIX) + 8
TOUCH_EVERY = timedelta(minutes=1)  # last-used times are this coarse, to keep writes down
_ALPHABET = string.ascii_lowercase + string.digits

# Every API request runs this lookup: built once and run on a plain connection, it costs a
# fraction of an ORM session's query (bench/auth_cost.py), which built the statement each time.
_TABLE: Table = ApiKeyRecord.__table__  # type: ignore[attr-defined]
_BY_PREFIX = sa_select(_TABLE).where(_TABLE.c.prefix == bindparam("prefix"))
_TOUCH = (
    sa_update(_TABLE)
    .where(_TABLE.c.id == bindparam("key_id"))
    .values(last_used_at=bindparam("now"))
)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(
    kb: KnowledgeBase,
    *,
    name: str,
    scopes: Iterable[str],
    collections: Iterable[str] = (),
    expires_days: int | None = None,
    actor: str,
    now: datetime | None = None,
) -> NewApiKey:
    """A new key; the returned ``key`` is the only copy there will ever be."""
    name = name.strip()
    if not name or len(name) > 128:
        raise Invalid("key name must be 1-128 characters", field="name")
    checked = parse_scopes(scopes)
    allowed = collection_list(collections)
    if expires_days is not None and not 1 <= expires_days <= 3650:
        raise Invalid(
            "expires {expires_days} must be 1-3650 days",
            field="expires_days",
            expires_days=expires_days,
        )
    now = now or utcnow()
    for _ in range(5):  # a prefix collision is rare (36^8); draw again then
        prefix = KEY_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(8))
        key = f"{prefix}_{secrets.token_urlsafe(32)}"
        row = ApiKeyRecord(
            name=name, prefix=prefix, key_hash=key_hash(key), scopes=list(checked),
            collections=allowed, created_by=actor, created_at=now,
            expires_at=now + timedelta(days=expires_days) if expires_days else None,
        )  # fmt: skip
        try:
            with session_scope(kb.engine) as session:
                session.add(row)
                record(
                    session, actor=actor, action="key.create", target=prefix,
                    detail={"name": name, "scopes": list(checked), "collections": allowed,
                            "expires_at": row.expires_at.isoformat() if row.expires_at else None},
                    now=now,
                )  # fmt: skip
        except IntegrityError:
            continue
        return NewApiKey(key=key, api_key=ApiKeyPublic.of(row))
    raise RuntimeError("could not draw an unused key prefix")


def list_keys(kb: KnowledgeBase) -> list[ApiKeyPublic]:
    """Every key, the newest first, revoked ones included (they say so)."""
    with session_scope(kb.engine) as session:
        rows = session.exec(select(ApiKeyRecord).order_by(col(ApiKeyRecord.created_at).desc()))
        return [ApiKeyPublic.of(row) for row in rows]


def revoke_key(
    kb: KnowledgeBase, *, prefix: str, actor: str, now: datetime | None = None
) -> ApiKeyPublic:
    """Revoke the key with this prefix; it stops working at once. Revoking twice changes nothing."""
    now = now or utcnow()
    with session_scope(kb.engine) as session:
        row = _by_prefix(session, prefix.strip()[:PREFIX_CHARS])
        if row is None:
            raise NotFound(
                "no API key with prefix {prefix!r}", field="prefix", prefix=prefix.strip()
            )
        if row.revoked_at is None:
            row.revoked_at = now
            session.add(row)
            record(
                session, actor=actor, action="key.revoke", target=row.prefix,
                detail={"name": row.name}, now=now,
            )  # fmt: skip
        return ApiKeyPublic.of(row)


def authenticate_key(
    kb: KnowledgeBase, *, bearer: str | None, now: datetime | None = None
) -> Principal | None:
    """The principal of the key in ``Authorization: Bearer <key>`` (``bearer`` is the key alone),
    or None: unknown, revoked or expired."""
    if not bearer or not bearer.startswith(KEY_PREFIX) or len(bearer) > 128:
        return None
    now = now or utcnow()
    with kb.engine.begin() as connection:
        row = connection.execute(_BY_PREFIX, {"prefix": bearer[:PREFIX_CHARS]}).first()
        if row is None or not hmac.compare_digest(row.key_hash, key_hash(bearer)):
            return None
        key = ApiKeyPublic.of(row)
        if not key.active(now):
            return None
        if key.last_used_at is None or now - key.last_used_at >= TOUCH_EVERY:
            connection.execute(_TOUCH, {"key_id": row.id, "now": now})
        return key.principal()


def active_key(kb: KnowledgeBase, *, prefix: str, now: datetime) -> ApiKeyPublic | None:
    """The key with this prefix if it still works."""
    with session_scope(kb.engine) as session:
        row = _by_prefix(session, prefix)
        key = ApiKeyPublic.of(row) if row else None
    return key if key and key.active(now) else None


def parse_scopes(scopes: Iterable[str]) -> tuple[Scope, ...]:
    """Scopes from a list whose items may hold several, comma-separated; at least one."""
    names = [s.strip() for item in scopes for s in item.split(",") if s.strip()]
    unknown = [s for s in names if s not in SCOPES]
    if unknown:
        raise Invalid(
            "scope {unknown!r} is not one of {value}",
            field="scopes",
            unknown=unknown[0],
            value=", ".join(SCOPES),
        )
    if not names:
        raise Invalid(
            "a key needs at least one scope of {value}", field="scopes", value=", ".join(SCOPES)
        )
    return tuple(dict.fromkeys(names))  # type: ignore[arg-type]


def _by_prefix(session: Session, prefix: str) -> ApiKeyRecord | None:
    return session.exec(select(ApiKeyRecord).where(ApiKeyRecord.prefix == prefix)).first()
