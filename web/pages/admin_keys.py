"""Admin console, API keys: list them, create one (the key shown once), revoke.

Through kb.accounts.keys, which stores only a hash and audits each change with the acting admin.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from kb.accounts.keys import create_key, list_keys, revoke_key
from kb.context import KnowledgeBase
from kb.errors import Invalid, KBError, Message
from kb.types import SCOPES
from web.auth import PrincipalDep
from web.deps import KBDep
from web.pages.forms import Errors, field_errors, form_errors, split_tags
from web.rendering import RendererDep

router = APIRouter(prefix="/kb/admin", include_in_schema=False)


@router.get("/keys", name="kb_admin_keys")
def keys_page(request: Request, kb: KBDep, render: RendererDep) -> Response:
    """Every key (revoked ones too) with its prefix, scopes, collections and times."""
    return render.page(request, "admin_keys.html", _context(kb), block="keys")


@router.post("/keys", name="kb_admin_key_create")
def create(
    request: Request,
    kb: KBDep,
    principal: PrincipalDep,
    render: RendererDep,
    name: Annotated[str, Form()] = "",
    scopes: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies defaults)
    collections: Annotated[str, Form()] = "",
    expires_days: Annotated[str, Form()] = "",
) -> Response:
    """Create a key; the whole key is in this answer only (kept nowhere but as a hash)."""
    form = {
        "name": name,
        "scopes": scopes,
        "collections": collections,
        "expires_days": expires_days,
    }

    def refused(exc: KBError) -> dict[str, Any]:
        return _context(kb, form=form, errors=field_errors(exc, "name"))

    with form_errors("admin_keys.html", "keys", refused, catch=KBError, status_code=None):
        new = create_key(
            kb, name=name, scopes=scopes, collections=split_tags(collections),
            expires_days=_days(expires_days), actor=principal.actor,
        )  # fmt: skip
    context = _context(kb, done=Message("已创建密钥 {name}", name=new.api_key.name), secret=new.key)
    headers = {"Cache-Control": "no-store"}  # no cache may keep the one copy of the key
    return render.page(request, "admin_keys.html", context, block="keys", headers=headers)


@router.post("/keys/revoke", name="kb_admin_key_revoke")
def revoke(
    request: Request,
    kb: KBDep,
    principal: PrincipalDep,
    render: RendererDep,
    prefix: Annotated[str, Form()] = "",
) -> Response:
    """Revoke a key by its prefix: it stops working at once, and so do its embed tokens."""

    def refused(exc: KBError) -> dict[str, Any]:
        return _context(kb, row_error=exc.message)

    with form_errors("admin_keys.html", "keys", refused, catch=KBError, status_code=None):
        key = revoke_key(kb, prefix=prefix, actor=principal.actor)
    context = _context(
        kb, done=Message("已吊销密钥 {prefix}（{name}）", prefix=key.prefix, name=key.name)
    )
    return render.page(request, "admin_keys.html", context, block="keys")


def _days(text: str) -> int | None:
    if not text.strip():
        return None
    try:
        return int(text.strip())
    except ValueError:
        raise Invalid("expires {text!r} is not a whole number of days",
                      field="expires_days", text=text.strip()) from None  # fmt: skip


def _context(
    kb: KnowledgeBase,
    *,
    form: dict[str, Any] | None = None,
    errors: Errors | None = None,
    done: str = "",
    secret: str | None = None,
    row_error: str = "",
) -> dict[str, Any]:
    return {
        "keys": list_keys(kb),
        "scopes": SCOPES,
        "form": form or {"name": "", "scopes": [], "collections": "", "expires_days": ""},
        "errors": errors or {},
        "done": done,
        "secret": secret,
        "row_error": row_error,
    }
