"""Users on SQLite and PostgreSQL: add, list, disable, set passwords, the first admin, audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kb.accounts.audit import list_audit
from kb.accounts.passwords import verify_password
from kb.accounts.users import (
    create_user,
    disable_user,
    ensure_admin,
    get_user,
    list_users,
    set_password,
)
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.errors import Conflict, Invalid, NotFound
from kb.models import UserAccount

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)  # an explicit clock: no test sleeps
PASSWORD = "correct horse battery"


def stored_hash(kb: KnowledgeBase, email: str) -> str:
    with session_scope(kb.engine) as session:
        row = session.get(UserAccount, get_user(kb, email=email).id)
        assert row is not None
        return row.password_hash


def test_create_list_and_audit(db_kb: KnowledgeBase) -> None:
    new = create_user(
        db_kb, email=" Ann@Example.com", role="manager", password=PASSWORD,
        collections=["hr", "finance", "hr"], actor="cli", now=T0,
    )  # fmt: skip
    assert new.password is None  # it was given, so it is not echoed
    assert new.user.email == "ann@example.com" and new.user.role == "manager"
    assert new.user.collections == ["hr", "finance"] and not new.user.disabled
    assert new.user.created_at == new.user.password_changed_at == T0
    assert "password_hash" not in new.user.model_dump()
    assert verify_password(PASSWORD, stored_hash(db_kb, "ANN@example.com"))[0]

    generated = create_user(
        db_kb, email="bo@example.com", role="agent", actor="user:ann@example.com"
    )
    assert generated.password and len(generated.password) == 24
    assert verify_password(generated.password, stored_hash(db_kb, "bo@example.com"))[0]

    assert [u.email for u in list_users(db_kb)] == ["ann@example.com", "bo@example.com"]
    entries = list_audit(db_kb)
    assert [(e.actor, e.action, e.target) for e in entries] == [
        ("user:ann@example.com", "user.add", "bo@example.com"),
        ("cli", "user.add", "ann@example.com"),
    ]
    assert entries[1].detail == {"role": "manager", "collections": ["hr", "finance"]}
    assert all(PASSWORD not in str(e.detail) for e in entries)


@pytest.mark.parametrize(
    ("fields", "error", "field"),
    [
        ({"email": "ANN@example.com"}, Conflict, "email"),  # unique whatever the case
        ({"email": "not-an-email"}, Invalid, "email"),
        ({"role": "owner"}, Invalid, "role"),
        ({"password": "too short"}, Invalid, "password"),
        ({"collections": ["HR files"]}, Invalid, "collections"),
    ],
)
def test_create_refuses(
    db_kb: KnowledgeBase, fields: dict[str, object], error: type[Exception], field: str
) -> None:
    create_user(db_kb, email="ann@example.com", role="agent", password=PASSWORD, actor="cli")
    arguments: dict[str, object] = {
        "email": "new@example.com", "role": "agent", "password": PASSWORD, **fields,
    }  # fmt: skip
    with pytest.raises(error) as caught:
        create_user(db_kb, actor="cli", **arguments)  # type: ignore[arg-type]
    assert caught.value.field == field  # type: ignore[attr-defined]
    assert len(list_users(db_kb)) == 1 and len(list_audit(db_kb)) == 1


def test_disable_and_set_password_are_audited(db_kb: KnowledgeBase) -> None:
    create_user(
        db_kb, email="root@example.com", role="admin", password=PASSWORD, actor="cli", now=T0
    )
    create_user(
        db_kb, email="ann@example.com", role="agent", password=PASSWORD, actor="cli", now=T0
    )
    later = T0 + timedelta(hours=1)

    new = set_password(db_kb, email="Ann@example.com", actor="user:root@example.com", now=later)
    assert new.password and new.user.password_changed_at == later
    assert verify_password(new.password, stored_hash(db_kb, "ann@example.com"))[0]
    assert not verify_password(PASSWORD, stored_hash(db_kb, "ann@example.com"))[0]
    given = set_password(db_kb, email="ann@example.com", password="another good one", actor="cli")
    assert given.password is None

    user = disable_user(db_kb, email="ann@example.com", actor="user:root@example.com", now=later)
    assert user.disabled and get_user(db_kb, email="ann@example.com").disabled
    disable_user(db_kb, email="ann@example.com", actor="cli")  # again: no change, no entry

    actions = [(e.action, e.target, e.detail) for e in list_audit(db_kb, limit=3)]
    assert actions == [
        ("user.disable", "ann@example.com", {"sessions_ended": 0}),
        ("user.set_password", "ann@example.com", {"generated": False, "sessions_ended": 0}),
        ("user.set_password", "ann@example.com", {"generated": True, "sessions_ended": 0}),
    ]
    assert [e.action for e in list_audit(db_kb, action="user.add")] == ["user.add", "user.add"]


def test_unknown_users_and_the_last_admin(db_kb: KnowledgeBase) -> None:
    with pytest.raises(NotFound, match=r"no user ghost@example\.com"):
        disable_user(db_kb, email="ghost@example.com", actor="cli")
    with pytest.raises(NotFound):
        set_password(db_kb, email="ghost@example.com", password=PASSWORD, actor="cli")
    create_user(db_kb, email="root@example.com", role="admin", password=PASSWORD, actor="cli")
    with pytest.raises(Conflict, match="last enabled admin"):
        disable_user(db_kb, email="root@example.com", actor="cli")
    assert not get_user(db_kb, email="root@example.com").disabled


def test_ensure_admin_only_when_there_is_none(db_kb: KnowledgeBase) -> None:
    create_user(db_kb, email="ann@example.com", role="manager", password=PASSWORD, actor="cli")
    first = ensure_admin(db_kb)
    assert first is not None and first.password
    assert first.user.email == "admin@localhost" and first.user.role == "admin"
    assert verify_password(first.password, stored_hash(db_kb, "admin@localhost"))[0]
    assert ensure_admin(db_kb) is None
    assert [u.role for u in list_users(db_kb)] == ["admin", "manager"]
