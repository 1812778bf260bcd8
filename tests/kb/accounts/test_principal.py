"""What each kind of caller may do: roles by rank, scopes by list, collections by name."""

from __future__ import annotations

import pytest

from kb.accounts.principal import EMBED_SCOPES, ROLE_SCOPES, Principal

AGENT = Principal(kind="user", name="a@x.io", role="agent", scopes=ROLE_SCOPES["agent"])
MANAGER = Principal(kind="user", name="m@x.io", role="manager", scopes=ROLE_SCOPES["manager"])
ADMIN = Principal(kind="user", name="r@x.io", role="admin", scopes=ROLE_SCOPES["admin"])
KEY = Principal(kind="key", name="akb_abcdefgh", scopes=frozenset({"search", "embed"}))
EMBED = Principal(kind="embed", name="agent-7", role="agent", scopes=EMBED_SCOPES)


@pytest.mark.parametrize(
    ("principal", "permission", "allowed"),
    [
        (AGENT, "agent", True),
        (AGENT, "manager", False),
        (AGENT, "admin", False),
        (AGENT, "suggest", True),
        (AGENT, "documents:write", False),
        (MANAGER, "agent", True),
        (MANAGER, "manager", True),
        (MANAGER, "admin", False),
        (MANAGER, "documents:write", True),
        (MANAGER, "embed", False),
        (ADMIN, "admin", True),
        (ADMIN, "embed", True),
        (KEY, "search", True),
        (KEY, "suggest", False),
        (KEY, "embed", True),
        (KEY, "agent", False),  # a key never has a role, whatever its scopes
        (EMBED, "agent", True),
        (EMBED, "feedback", True),
        (EMBED, "manager", False),
        (EMBED, "documents:read", False),
        (EMBED, "embed", False),
    ],
)
def test_can(principal: Principal, permission: str, allowed: bool) -> None:
    assert principal.can(permission) is allowed  # type: ignore[arg-type]


def test_an_unknown_permission_is_an_error_not_a_silent_no() -> None:
    with pytest.raises(ValueError, match="unknown role or scope 'documents:delete'"):
        ADMIN.can("documents:delete")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("collections", "readable", "may_read_hr"),
    [
        ((), None, True),
        (("hr",), frozenset({"hr"}), True),
        (("finance",), frozenset({"finance"}), False),
    ],
)
def test_collections(
    collections: tuple[str, ...], readable: frozenset[str] | None, may_read_hr: bool
) -> None:
    principal = AGENT.model_copy(update={"collections": collections})
    assert principal.readable_collections == readable
    assert principal.may_read("hr") is may_read_hr


def test_actor_names_the_caller_for_the_audit_log() -> None:
    assert [p.actor for p in (AGENT, KEY, EMBED)] == [
        "user:a@x.io",
        "key:akb_abcdefgh",
        "embed:agent-7",
    ]
