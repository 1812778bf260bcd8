"""``kb users ...``, ``kb keys ...`` and ``kb audit``: accounts from the terminal."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Annotated

import typer

from kb.accounts.audit import list_audit
from kb.accounts.keys import create_key, list_keys, revoke_key
from kb.accounts.users import (
    FIRST_ADMIN_EMAIL,
    create_user,
    disable_user,
    ensure_admin,
    list_users,
    set_password,
)
from kb.cli._common import ACTOR, DataDir, JsonFlag, Typer, add_row, fail, open_kb, out, table
from kb.types import SCOPES, USER_ROLES

users_app = Typer(
    help="People who sign in: add, list, disable, set passwords.", no_args_is_help=True
)
keys_app = Typer(help="API keys for the CRM: create, list, revoke.", no_args_is_help=True)

PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from standard input (one line)."),
]
Collections = Annotated[
    list[str] | None,
    typer.Option("--collection", "-c", help="Limit to this collection (repeatable; none: all)."),
]


def _stdin_password() -> str:
    text = sys.stdin.read()
    line = text[:-1] if text.endswith("\n") else text
    line = line[:-1] if line.endswith("\r") else line
    if "\n" in line:
        raise fail("--password-stdin takes one line")
    return line


def _show_once(label: str, secret: str) -> None:
    # Plain write: a rich console could wrap or colour it, and this must copy as it is.
    out.print(f"{label} (shown once, store it now):")
    sys.stdout.write(secret + "\n")


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "—"


@users_app.command("add")
def users_add(
    email: str,
    role: Annotated[str, typer.Option("--role", help=" | ".join(USER_ROLES))],
    password_stdin: PasswordStdin = False,
    collection: Collections = None,
    data_dir: DataDir = None,
) -> None:
    """Add a user; without --password-stdin a strong password is generated and printed once."""
    password = _stdin_password() if password_stdin else None
    new = create_user(
        open_kb(data_dir), email=email, role=role, password=password,
        collections=collection or [], actor=ACTOR,
    )  # fmt: skip
    scope = ", ".join(new.user.collections) or "all collections"
    out.print(f"added {new.user.email} ({new.user.role}, {scope})", highlight=False)
    if new.password:
        _show_once("password", new.password)


@users_app.command("list")
def users_list(data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """Every user with role, collections and state."""
    users = list_users(open_kb(data_dir))
    if as_json:
        out.print_json(data=[u.model_dump(mode="json") for u in users])
        return
    grid = table("email", "role", "collections", "state", "created", "password set")
    for u in users:
        add_row(
            grid, u.email, u.role, ", ".join(u.collections) or "all",
            "disabled" if u.disabled else "active", _when(u.created_at),
            _when(u.password_changed_at),
        )  # fmt: skip
    out.print(grid)


@users_app.command("disable")
def users_disable(email: str, data_dir: DataDir = None) -> None:
    """Disable a user; their sessions end at once."""
    user = disable_user(open_kb(data_dir), email=email, actor=ACTOR)
    out.print(f"disabled {user.email}; their sessions have ended", highlight=False)


@users_app.command("set-password")
def users_set_password(
    email: str, password_stdin: PasswordStdin = False, data_dir: DataDir = None
) -> None:
    """Set a new password (generated and printed once without --password-stdin); ends the
    user's sessions."""
    password = _stdin_password() if password_stdin else None
    new = set_password(open_kb(data_dir), email=email, password=password, actor=ACTOR)
    out.print(f"password of {new.user.email} set; their sessions have ended", highlight=False)
    if new.password:
        _show_once("password", new.password)


@users_app.command("ensure-admin")
def users_ensure_admin(
    email: Annotated[str, typer.Option(help="E-mail of the admin to create.")] = FIRST_ADMIN_EMAIL,
    url: Annotated[str | None, typer.Option(help="Login URL to print with the password.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Create an admin with a one-time password if there is no enabled admin (first run)."""
    new = ensure_admin(open_kb(data_dir), email=email, actor=ACTOR)
    if new is None:
        out.print("an admin exists; nothing to do")
        return
    out.print(f"created the admin {new.user.email}", highlight=False)
    if url:
        out.print(f"sign in at {url}", highlight=False)
    assert new.password is not None
    _show_once("password", new.password)


@keys_app.command("create")
def keys_create(
    name: str,
    scope: Annotated[
        list[str],
        typer.Option("--scope", help=f"{', '.join(SCOPES)}; comma-separated or repeated."),
    ],
    collection: Collections = None,
    expires: Annotated[int | None, typer.Option("--expires", help="Days until it expires.")] = None,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a key and print it once: the last line of the output (or {"key": ...})."""
    new = create_key(
        open_kb(data_dir), name=name, scopes=scope, collections=collection or [],
        expires_days=expires, actor=ACTOR,
    )  # fmt: skip
    if as_json:
        sys.stdout.write(json.dumps({"key": new.key, **new.api_key.model_dump(mode="json")}) + "\n")
        return
    k = new.api_key
    out.print(
        f"created key {k.prefix} ({k.name}): {', '.join(k.scopes)}; "
        f"{', '.join(k.collections) or 'all collections'}; expires {_when(k.expires_at)}",
        highlight=False,
    )
    _show_once("key", new.key)


@keys_app.command("list")
def keys_list(data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """Every key by prefix (the key itself is never shown again)."""
    keys = list_keys(open_kb(data_dir))
    if as_json:
        out.print_json(data=[k.model_dump(mode="json") for k in keys])
        return
    grid = table("prefix", "name", "scopes", "collections", "created", "expires", "last used")
    for k in keys:
        add_row(
            grid, k.prefix + (" (revoked)" if k.revoked_at else ""), k.name, ", ".join(k.scopes),
            ", ".join(k.collections) or "all", _when(k.created_at), _when(k.expires_at),
            _when(k.last_used_at),
        )  # fmt: skip
    out.print(grid)


@keys_app.command("revoke")
def keys_revoke(prefix: str, data_dir: DataDir = None) -> None:
    """Revoke the key with this prefix; it stops working at once."""
    key = revoke_key(open_kb(data_dir), prefix=prefix, actor=ACTOR)
    out.print(f"revoked {key.prefix} ({key.name})", highlight=False)


def audit_cmd(
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Newest N entries.")] = 50,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Who changed what, newest first."""
    entries = list_audit(open_kb(data_dir), limit=limit)
    if as_json:
        out.print_json(data=[e.model_dump(mode="json") for e in entries])
        return
    grid = table("at", "who", "action", "target", "detail")
    for e in entries:
        detail = json.dumps(e.detail, ensure_ascii=False)
        add_row(grid, _when(e.at), e.actor, e.action, e.target, detail)
    out.print(grid)
