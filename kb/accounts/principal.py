"""Who is asking: a signed-in user, an API key or an embed token, and what each may do."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from kb.types import SCOPES, USER_ROLES, Scope, UserRole

PrincipalKind = Literal["user", "key", "embed"]

_RANK: dict[UserRole, int] = {role: rank for rank, role in enumerate(USER_ROLES)}

# What a person of each role may do through the API; each role includes the one before it.
ROLE_SCOPES: dict[UserRole, frozenset[Scope]] = {
    "agent": frozenset({"search", "suggest", "feedback"}),
    "manager": frozenset({"search", "suggest", "feedback", "documents:read", "documents:write"}),
    "admin": frozenset(SCOPES),
}

# An embed token stands for one agent in the panel, and for nothing more.
EMBED_SCOPES: frozenset[Scope] = ROLE_SCOPES["agent"]


class Principal(BaseModel):
    """The caller of a route or service; ``collections`` empty means every collection."""

    model_config = ConfigDict(frozen=True)

    kind: PrincipalKind
    name: str  # the e-mail, the key's prefix or the embedded agent's id
    role: UserRole | None = None
    scopes: frozenset[Scope] = frozenset()
    collections: tuple[str, ...] = ()
    user_id: str | None = None
    session_id: str | None = None
    key_id: str | None = None

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"{self.kind}:{self.name}"

    @property
    def readable_collections(self) -> frozenset[str] | None:
        """The collections this caller may read, or None for all of them."""
        return frozenset(self.collections) if self.collections else None

    def may_read(self, collection: str) -> bool:
        return not self.collections or collection in self.collections

    def can(self, permission: UserRole | Scope) -> bool:
        """A role (at least that rank) or a scope. Keys have scopes but never a role."""
        if permission in _RANK:
            return self.role is not None and _RANK[self.role] >= _RANK[permission]
        if permission in SCOPES:
            return permission in self.scopes
        # A typo must not silently deny (or allow) everything.
        raise ValueError(f"unknown role or scope {permission!r}: one of {_KNOWN}")


_KNOWN = ", ".join((*USER_ROLES, *SCOPES))
