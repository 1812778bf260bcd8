"""API keys on SQLite and PostgreSQL: shown once, hashed, scoped, expiring, revocable."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from kb.accounts.audit import list_audit
from kb.accounts.keys import authenticate_key, create_key, list_keys, parse_scopes, revoke_key
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.errors import Invalid, NotFound
from kb.models import ApiKeyRecord

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)  # an explicit clock: no test sleeps
MIN = timedelta(minutes=1)


def test_create_stores_only_a_hash_and_authenticates(db_kb: KnowledgeBase) -> None:
    new = create_key(
        db_kb, name="crm", scopes=["search,suggest", "feedback"], collections=["hr"],
        actor="user:root@example.com", now=T0,
    )  # fmt: skip
    key = new.api_key
    assert new.key.startswith(key.prefix + "_") and len(key.prefix) == 12
    assert key.prefix.startswith("akb_") and len(new.key) == 12 + 1 + 43
    assert key.scopes == ["search", "suggest", "feedback"] and key.collections == ["hr"]
    assert key.expires_at is None and key.last_used_at is None
    with session_scope(db_kb.engine) as session:
        [row] = session.exec(select(ApiKeyRecord)).all()
    assert row.key_hash == hashlib.sha256(new.key.encode()).hexdigest()
    assert new.key not in row.model_dump_json()  # only the hash and the prefix are kept
    [listed] = list_keys(db_kb)
    assert new.key not in listed.model_dump_json()

    principal = authenticate_key(db_kb, bearer=new.key, now=T0 + MIN)
    assert principal is not None and principal.kind == "key" and principal.name == key.prefix
    assert principal.can("suggest") and not principal.can("documents:read")
    assert principal.readable_collections == {"hr"} and principal.actor == f"key:{key.prefix}"
    [entry] = list_audit(db_kb)
    assert (entry.actor, entry.action, entry.target) == (
        "user:root@example.com",
        "key.create",
        key.prefix,
    )
    assert entry.detail["scopes"] == ["search", "suggest", "feedback"]
    assert new.key not in str(entry.detail)


def test_wrong_keys_are_refused(db_kb: KnowledgeBase) -> None:
    key = create_key(db_kb, name="crm", scopes=["search"], actor="cli", now=T0).key
    tampered = key[:-1] + ("A" if key[-1] != "A" else "B")
    other_prefix = "akb_zzzzzzzz" + key[12:]
    for bearer in (tampered, other_prefix, key[:12], "", None, "Bearer " + key, key + "x" * 100):
        assert authenticate_key(db_kb, bearer=bearer, now=T0) is None, bearer


def test_expiry_and_revocation(db_kb: KnowledgeBase) -> None:
    expiring = create_key(
        db_kb, name="trial", scopes=["search"], expires_days=7, actor="cli", now=T0
    )
    assert expiring.api_key.expires_at == T0 + timedelta(days=7)
    assert authenticate_key(db_kb, bearer=expiring.key, now=T0 + timedelta(days=7) - MIN)
    assert authenticate_key(db_kb, bearer=expiring.key, now=T0 + timedelta(days=7)) is None

    kept = create_key(db_kb, name="crm", scopes=["search"], actor="cli", now=T0)
    revoked = revoke_key(db_kb, prefix=kept.api_key.prefix, actor="cli", now=T0 + MIN)
    assert revoked.revoked_at == T0 + MIN
    assert authenticate_key(db_kb, bearer=kept.key, now=T0 + 2 * MIN) is None
    again = revoke_key(db_kb, prefix=kept.api_key.prefix, actor="cli", now=T0 + 5 * MIN)
    assert again.revoked_at == T0 + MIN  # revoking twice changes nothing
    actions = [(e.action, e.target) for e in list_audit(db_kb)]
    assert actions.count(("key.revoke", kept.api_key.prefix)) == 1
    with pytest.raises(NotFound, match="no API key with prefix 'akb_nothere1'"):
        revoke_key(db_kb, prefix="akb_nothere1", actor="cli")
    listed = {k.prefix: k for k in list_keys(db_kb)}
    assert listed[kept.api_key.prefix].revoked_at is not None
    assert listed[expiring.api_key.prefix].revoked_at is None


def test_last_used_is_written_at_most_once_a_minute(db_kb: KnowledgeBase) -> None:
    key = create_key(db_kb, name="crm", scopes=["search"], actor="cli", now=T0).key
    seen = []
    for seconds in (0, 30, 59, 60, 100, 121):
        assert authenticate_key(db_kb, bearer=key, now=T0 + timedelta(seconds=seconds))
        [listed] = list_keys(db_kb)
        assert listed.last_used_at is not None
        seen.append(int((listed.last_used_at - T0).total_seconds()))
    assert seen == [0, 0, 0, 60, 60, 121]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"scopes": []}, "scopes", "a key needs at least one scope"),
        ({"scopes": ["search,admin"]}, "scopes", "scope 'admin' is not one of search, suggest"),
        ({"name": "  "}, "name", "key name must be 1-128 characters"),
        ({"collections": ["../etc"]}, "collections", "collection name '../etc' must be"),
        ({"expires_days": 0}, "expires_days", "expires 0 must be 1-3650 days"),
    ],
)
def test_create_refuses(
    db_kb: KnowledgeBase, fields: dict[str, object], field: str, message: str
) -> None:
    arguments: dict[str, object] = {"name": "crm", "scopes": ["search"], **fields}
    with pytest.raises(Invalid) as caught:
        create_key(db_kb, actor="cli", **arguments)  # type: ignore[arg-type]
    assert caught.value.field == field and message in caught.value.message
    assert list_keys(db_kb) == [] and list_audit(db_kb) == []


@pytest.mark.parametrize(
    ("given", "scopes"),
    [
        (["search"], ("search",)),
        (["search, suggest", "search"], ("search", "suggest")),
        (["documents:read,documents:write,embed"], ("documents:read", "documents:write", "embed")),
    ],
)
def test_parse_scopes(given: list[str], scopes: tuple[str, ...]) -> None:
    assert parse_scopes(given) == scopes
