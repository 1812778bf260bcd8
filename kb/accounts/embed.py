"""Embed tokens: a CRM's server mints one for an agent, its iframe opens the panel with it.

A cross-site iframe gets no cookie (browsers block third-party cookies), so the token carries
everything: ``itsdangerous`` signs ``{agent, collections, issuing key, expiry}`` (HMAC-SHA256
under a key derived from ``KB_SECRET_KEY`` with its own salt). Verification checks the
signature, the expiry against an explicit clock, and that the issuing key still works, so
revoking the CRM's key ends its embed tokens too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from kb.accounts.keys import active_key
from kb.accounts.principal import Principal
from kb.accounts.schemas import EmbedClaims, EmbedGrant
from kb.accounts.secret import load_secret_key
from kb.accounts.users import collection_list
from kb.context import KnowledgeBase
from kb.errors import Forbidden, Invalid
from kb.models import utcnow

_SALT = "assistkb.embed.v1"


def mint_embed_token(
    kb: KnowledgeBase,
    *,
    issuer: Principal,
    agent: str,
    collections: Iterable[str] = (),
    minutes: float | None = None,
    now: datetime | None = None,
) -> EmbedGrant:
    """A token for one agent; only an API key with scope ``embed`` mints one, within its
    collections (none asked: all of the key's)."""
    if issuer.kind != "key" or not issuer.can("embed"):
        raise Forbidden("embed tokens are minted with an API key that has the scope embed")
    agent = agent.strip()
    if not agent or len(agent) > 128:
        raise Invalid("agent must be 1-128 characters", field="agent")
    asked = collection_list(collections)
    outside = [c for c in asked if not issuer.may_read(c)]
    if outside:
        raise Forbidden(
            "this key may not read collection {outside!r}", field="collections", outside=outside[0]
        )
    longest = kb.settings.embed_token_minutes
    minutes = longest if minutes is None else minutes
    if not 0 < minutes <= longest:
        raise Invalid(
            "minutes {minutes} must be above 0 and at most {longest:g}",
            field="minutes",
            minutes=minutes,
            longest=longest,
        )
    now = now or utcnow()
    claims = EmbedClaims(
        agent=agent,
        collections=asked or list(issuer.collections),
        issuer=issuer.name,
        # Whole seconds: what the token carries is what verification reads.
        expires_at=(now + timedelta(minutes=minutes)).replace(microsecond=0),
    )
    payload = {
        "a": claims.agent,
        "c": claims.collections,
        "i": claims.issuer,
        "e": int(claims.expires_at.timestamp()),
    }
    return EmbedGrant(token=_serializer(kb).dumps(payload), claims=claims)


def verify_embed_token(
    kb: KnowledgeBase,
    *,
    token: str | None,
    agent: str | None = None,
    now: datetime | None = None,
) -> EmbedClaims | None:
    """The claims of a valid token, or None: tampered, expired, for another agent (when
    ``agent`` is given) or minted by a key that no longer works. Its collections are those of
    the token that the issuing key may still read."""
    if not token or len(token) > 4096:
        return None
    try:
        payload: Any = _serializer(kb).loads(token)
        claims = EmbedClaims(
            agent=payload["a"],
            collections=payload["c"],
            issuer=payload["i"],
            expires_at=datetime.fromtimestamp(payload["e"], UTC),
        )
    except (BadSignature, KeyError, TypeError, ValueError):
        return None
    now = now or utcnow()
    if now >= claims.expires_at or (agent is not None and agent != claims.agent):
        return None
    key = active_key(kb, prefix=claims.issuer, now=now)
    if key is None or "embed" not in key.scopes:
        return None
    collections = _narrowed(claims.collections, key.collections)
    return None if collections is None else claims.model_copy(update={"collections": collections})


def _narrowed(token: list[str], key: list[str]) -> list[str] | None:
    """The token's collections within the key's (empty: every one); None when none is left,
    since an empty list would mean every collection."""
    if not key:
        return token
    if not token:
        return list(key)
    kept = [c for c in token if c in key]
    return kept or None


def _serializer(kb: KnowledgeBase) -> URLSafeSerializer:
    return URLSafeSerializer(
        load_secret_key(kb.settings), salt=_SALT, signer_kwargs={"digest_method": hashlib.sha256}
    )
