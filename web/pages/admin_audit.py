"""Admin console, the audit log: newest first, a page at a time, filtered by actor or action.

Read-only: the log is append-only from the app's side, and this page has no form that posts.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from kb.accounts.audit import list_audit
from web.deps import KBDep
from web.rendering import RendererDep

router = APIRouter(prefix="/kb/admin", include_in_schema=False)

PAGE_SIZE = 50


@router.get("/audit", name="kb_admin_audit")
def audit_page(
    request: Request,
    kb: KBDep,
    render: RendererDep,
    actor: str = "",
    action: str = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """One page of entries (one more is read to know whether a next page exists)."""
    actor, action = actor.strip()[:300], action.strip()[:64]
    found = list_audit(
        kb, limit=PAGE_SIZE + 1, actor=actor or None, action=action or None,
        offset=(page - 1) * PAGE_SIZE,
    )  # fmt: skip
    filters = {k: v for k, v in (("actor", actor), ("action", action)) if v}
    context: dict[str, Any] = {
        "entries": found[:PAGE_SIZE],
        "actor": actor,
        "action": action,
        "page": page,
        "newer": urlencode({**filters, "page": page - 1}) if page > 1 else None,
        "older": urlencode({**filters, "page": page + 1}) if len(found) > PAGE_SIZE else None,
    }
    return render.page(request, "admin_audit.html", context, block="entries")
