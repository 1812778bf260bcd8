"""Console page for learning from feedback: active adjustments with their evidence, pins and
agents' proposals; reset, pin, approve and unpin. Limited to the manager's collections."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from kb.accounts.principal import Principal
from kb.context import KnowledgeBase
from kb.errors import KBError, Message, NotFound
from kb.learning.overview import list_adjustments, reset
from kb.learning.pins import approve_pin, create_pin, delete_pin, list_pins
from web.auth import PrincipalDep
from web.deps import KBDep
from web.pages.forms import form_errors
from web.rendering import Renderer, RendererDep

router = APIRouter(prefix="/kb", include_in_schema=False)
Field = Annotated[str, Form(max_length=128)]


@router.get("/learning", name="kb_learning")
def learning_page(
    request: Request, kb: KBDep, principal: PrincipalDep, render: RendererDep
) -> Response:
    return _page(request, kb, principal, render)


@router.post("/learning/reset", name="kb_learning_reset")
def reset_evidence(
    request: Request,
    kb: KBDep,
    principal: PrincipalDep,
    render: RendererDep,
    intent_id: Field = "",
    item_id: Field = "",
) -> Response:
    """Forget the evidence for one answer of an intent (or, without ``item_id``, all of them)."""
    with _guard(kb, principal):
        reset(kb, readable=principal.readable_collections, intent_id=intent_id,
              item_id=item_id or None, actor=principal.actor)  # fmt: skip
    return _page(request, kb, principal, render, done=Message("已重置：之前的反馈不再计入"))


@router.post("/learning/pins", name="kb_learning_pin")
def pin(
    request: Request,
    kb: KBDep,
    principal: PrincipalDep,
    render: RendererDep,
    collection: Annotated[str, Form(max_length=64)] = "",
    intent_id: Field = "",
    item_id: Field = "",
) -> Response:
    """Pin an answer for the intent its evidence belongs to."""
    with _guard(kb, principal):
        if not principal.may_read(collection):  # another team's: as unknown
            raise NotFound(
                "no collection {collection!r}", field="collection", collection=collection
            )
        create_pin(kb, collection=collection, item_id=item_id, intent_id=intent_id,
                   actor=principal.actor)  # fmt: skip
    return _page(
        request, kb, principal, render, done=Message("已置顶：该意图的查询会先看到这条答案")
    )


@router.post("/learning/pins/{pin_id}/approve", name="kb_learning_approve")
def approve(
    request: Request, pin_id: str, kb: KBDep, principal: PrincipalDep, render: RendererDep
) -> Response:
    with _guard(kb, principal):
        approve_pin(kb, readable=principal.readable_collections, pin_id=pin_id,
                    actor=principal.actor)  # fmt: skip
    return _page(request, kb, principal, render, done=Message("已批准：建议的答案现已置顶"))


@router.post("/learning/pins/{pin_id}/delete", name="kb_learning_unpin")
def unpin(
    request: Request, pin_id: str, kb: KBDep, principal: PrincipalDep, render: RendererDep
) -> Response:
    with _guard(kb, principal):
        delete_pin(kb, readable=principal.readable_collections, pin_id=pin_id,
                   actor=principal.actor)  # fmt: skip
    return _page(request, kb, principal, render, done=Message("已取消置顶"))


def _page(
    request: Request, kb: KnowledgeBase, principal: Principal, render: Renderer, done: str = ""
) -> Response:
    """The page (its ``learning`` block for HTMX) as the manager now sees it, with ``done``
    confirming what just changed."""
    return render.page(request, "learning.html", _context(kb, principal, done), block="learning")


def _guard(kb: KnowledgeBase, principal: Principal) -> AbstractContextManager[None]:
    """A refused change comes back as the page's block with the error above the tables."""

    def refused(exc: KBError) -> dict[str, Any]:
        return _context(kb, principal, error=exc.message)

    return form_errors("learning.html", "learning", refused, catch=KBError, status_code=None)


def _context(
    kb: KnowledgeBase, principal: Principal, done: str = "", error: str = ""
) -> dict[str, Any]:
    readable = principal.readable_collections
    return {
        "enabled": kb.settings.learning,
        "adjustments": list_adjustments(kb, readable),
        "pins": list_pins(kb, readable),
        "done": done,
        "error": error,
    }
