"""Embed tokens: valid, expired, tampered, for another agent, from a revoked key, out of scope."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from itsdangerous.encoding import base64_decode, base64_encode
from sqlmodel import select

from kb.accounts.embed import mint_embed_token, verify_embed_token
from kb.accounts.keys import authenticate_key, create_key, revoke_key
from kb.accounts.principal import Principal
from kb.accounts.schemas import UserPublic
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.errors import Forbidden, Invalid
from kb.models import ApiKeyRecord

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)  # an explicit clock: no test sleeps
MIN = timedelta(minutes=1)


def issuer(
    kb: KnowledgeBase, scopes: str = "embed", collections: tuple[str, ...] = ()
) -> Principal:
    key = create_key(kb, name="crm", scopes=[scopes], collections=collections, actor="cli", now=T0)
    principal = authenticate_key(kb, bearer=key.key, now=T0)
    assert principal is not None
    return principal


def test_a_valid_token_stands_for_one_agent_until_it_expires(db_kb: KnowledgeBase) -> None:
    crm = issuer(db_kb, collections=("hr", "finance"))
    grant = mint_embed_token(db_kb, issuer=crm, agent="agent-7", collections=["hr"], now=T0)
    assert grant.claims.expires_at == T0 + 15 * MIN and grant.claims.issuer == crm.name
    claims = verify_embed_token(db_kb, token=grant.token, now=T0 + 14 * MIN)
    assert claims == grant.claims
    principal = claims.principal()
    assert principal.kind == "embed" and principal.name == "agent-7"
    assert principal.readable_collections == {"hr"} and principal.can("suggest")
    assert not principal.can("documents:read") and not principal.can("manager")
    assert verify_embed_token(db_kb, token=grant.token, agent="agent-7", now=T0) == claims

    assert verify_embed_token(db_kb, token=grant.token, now=T0 + 15 * MIN) is None  # expired
    assert verify_embed_token(db_kb, token=grant.token, agent="agent-8", now=T0) is None


def test_without_collections_it_gets_the_keys(db_kb: KnowledgeBase) -> None:
    crm = issuer(db_kb, collections=("hr",))
    grant = mint_embed_token(db_kb, issuer=crm, agent="a1", minutes=2, now=T0)
    assert grant.claims.collections == ["hr"] and grant.claims.expires_at == T0 + 2 * MIN


def test_tampered_tokens_are_refused(db_kb: KnowledgeBase) -> None:
    crm = issuer(db_kb, collections=("hr",))
    token = mint_embed_token(db_kb, issuer=crm, agent="a1", now=T0).token
    payload, signature = token.rsplit(".", 1)
    assert len(signature) == 43  # HMAC-SHA256
    claims = json.loads(base64_decode(payload))
    assert claims["c"] == ["hr"]
    wider = base64_encode(json.dumps({**claims, "c": []}, separators=(",", ":"))).decode()
    other = signature[0].translate(str.maketrans("AB", "BA")) if signature[0] in "AB" else "A"
    for bad in (f"{wider}.{signature}", f"{payload}.{other}{signature[1:]}", payload, "", None):
        assert verify_embed_token(db_kb, token=bad, now=T0) is None, bad
    assert verify_embed_token(db_kb, token=token, now=T0) is not None


def test_a_token_signed_with_another_secret_is_refused(make_kb: object) -> None:
    make = make_kb  # a KnowledgeBase factory
    ours = make(secret_key="s" * 8 + "0123456789abcdefghijklmnopqrstuv")  # type: ignore[operator]
    theirs = make(secret_key="t" * 8 + "0123456789abcdefghijklmnopqrstuv")  # type: ignore[operator]
    token = mint_embed_token(theirs, issuer=issuer(theirs), agent="a1", now=T0).token
    assert verify_embed_token(ours, token=token, now=T0) is None
    assert verify_embed_token(theirs, token=token, now=T0) is not None


def test_revoking_the_key_ends_its_tokens(db_kb: KnowledgeBase) -> None:
    crm = issuer(db_kb)
    token = mint_embed_token(db_kb, issuer=crm, agent="a1", now=T0).token
    revoke_key(db_kb, prefix=crm.name, actor="cli", now=T0 + MIN)
    assert verify_embed_token(db_kb, token=token, now=T0 + 2 * MIN) is None


def test_who_may_mint_what(db_kb: KnowledgeBase) -> None:
    with pytest.raises(Forbidden, match="scope embed"):
        mint_embed_token(db_kb, issuer=issuer(db_kb, scopes="suggest"), agent="a1", now=T0)
    admin = UserPublic(
        id="u1", email="root@example.com", role="admin", disabled=False, collections=[],
        created_at=T0, updated_at=T0, password_changed_at=T0,
    ).principal()  # fmt: skip
    with pytest.raises(Forbidden):  # people sign in; embed tokens are for the CRM's server
        mint_embed_token(db_kb, issuer=admin, agent="a1", now=T0)
    limited = issuer(db_kb, collections=("hr",))
    with pytest.raises(Forbidden, match="may not read collection 'finance'"):
        mint_embed_token(db_kb, issuer=limited, agent="a1", collections=["finance"], now=T0)
    with pytest.raises(Invalid, match="at most 15"):
        mint_embed_token(db_kb, issuer=limited, agent="a1", minutes=16, now=T0)
    with pytest.raises(Invalid, match="agent must be"):
        mint_embed_token(db_kb, issuer=limited, agent=" ", now=T0)


def test_a_token_keeps_only_the_collections_its_key_may_still_read(db_kb: KnowledgeBase) -> None:
    crm = issuer(db_kb, collections=("hr", "finance"))
    token = mint_embed_token(db_kb, issuer=crm, agent="a1", now=T0).token

    def key_reads(*collections: str) -> None:
        with session_scope(db_kb.engine) as session:
            row = session.exec(select(ApiKeyRecord).where(ApiKeyRecord.prefix == crm.name)).one()
            row.collections = list(collections)
            session.add(row)

    key_reads("finance")  # narrowed since the token was minted
    claims = verify_embed_token(db_kb, token=token, now=T0)
    assert claims is not None and claims.collections == ["finance"]
    key_reads("legal")  # nothing left in common: refused, never "every collection"
    assert verify_embed_token(db_kb, token=token, now=T0) is None
