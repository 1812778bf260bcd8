"""Admin console, people: list them, add one (a one-time password), disable, set a password.

Every change goes through kb.accounts.users, which audits it with the acting admin as actor;
disabling or a new password ends that person's sessions at once.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from kb.accounts.schemas import NewUser
from kb.accounts.sessions import last_sign_ins
from kb.accounts.users import create_user, disable_user, list_users, set_password
from kb.context import KnowledgeBase
from kb.errors import N_, KBError, Message
from kb.types import USER_ROLES
from web.auth import PrincipalDep
from web.deps import KBDep
from web.pages.forms import Errors, field_errors, form_errors, split_tags
from web.rendering import RendererDep

router = APIRouter(prefix="/kb/admin", include_in_schema=False)

ROLE_LABELS = {"agent": N_("坐席"), "manager": N_("知识库管理员"), "admin": N_("系统管理员")}


@router.get("/users", name="kb_admin_users")
def users_page(request: Request, kb: KBDep, render: RendererDep) -> Response:
    """Everyone with their role, collections, state and last sign-in; the add form."""
    return render.page(request, "admin_users.html", _context(kb), block="users")


@router.post("/users", name="kb_admin_user_add")
def add_user(
    request: Request,
    kb: KBDep,
    principal: PrincipalDep,
    render: RendererDep,
    email: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "agent",
    collections: Annotated[str, Form()] = "",
) -> Response:
    """Add a person; the generated password is in this answer only, never stored or logged."""
    form = {"email": email, "role": role, "collections": collections}

    def refused(exc: KBError) -> dict[str, Any]:
        return _context(kb, form=form, errors=field_errors(exc, "email"))

    with form_errors("admin_users.html", "users", refused, catch=KBError, status_code=None):
        new = create_user(
            kb, email=email, role=role, collections=split_tags(collections), actor=principal.actor
        )
    return _shown_once(
        request, kb, render, new, done=Message("已添加 {email}", email=new.user.email)
    )


@router.post("/users/disable", name="kb_admin_user_disable")
def disable(
    request: Request,
    kb: KBDep,
    principal: PrincipalDep,
    render: RendererDep,
    email: Annotated[str, Form()] = "",
) -> Response:
    """Disable a person: their sessions end at once (the last enabled admin stays)."""
    with _row_action(kb):
        user = disable_user(kb, email=email, actor=principal.actor)
    context = _context(kb, done=Message("已停用 {email}，其所有会话已结束", email=user.email))
    return render.page(request, "admin_users.html", context, block="users")


@router.post("/users/password", name="kb_admin_user_password")
def new_password(
    request: Request,
    kb: KBDep,
    principal: PrincipalDep,
    render: RendererDep,
    email: Annotated[str, Form()] = "",
) -> Response:
    """Give a person a generated password, shown once; their sessions end at once."""
    with _row_action(kb):
        new = set_password(kb, email=email, actor=principal.actor)
    done = Message("已为 {email} 设置新密码，其所有会话已结束", email=new.user.email)
    return _shown_once(request, kb, render, new, done=done)


def _shown_once(
    request: Request, kb: KnowledgeBase, render: RendererDep, new: NewUser, *, done: str
) -> Response:
    context = _context(kb, done=done, secret={"email": new.user.email, "password": new.password})
    # The password is in this page only: no browser or proxy may keep a copy of it.
    headers = {"Cache-Control": "no-store"}
    return render.page(request, "admin_users.html", context, block="users", headers=headers)


def _row_action(kb: KnowledgeBase) -> AbstractContextManager[None]:
    """A refused action on a user's row shows the page again with the reason above the table."""
    return form_errors(
        "admin_users.html", "users", lambda exc: _context(kb, row_error=exc.message),
        catch=KBError, status_code=None,
    )  # fmt: skip


def _context(
    kb: KnowledgeBase,
    *,
    form: dict[str, str] | None = None,
    errors: Errors | None = None,
    done: str = "",
    secret: dict[str, Any] | None = None,
    row_error: str = "",
) -> dict[str, Any]:
    return {
        "users": list_users(kb),
        "last_sign_in": last_sign_ins(kb),
        "roles": [(r, ROLE_LABELS[r]) for r in USER_ROLES],
        "role_labels": ROLE_LABELS,
        "form": form or {"email": "", "role": "agent", "collections": ""},
        "errors": errors or {},
        "done": done,
        "secret": secret,
        "row_error": row_error,
    }
