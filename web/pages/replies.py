"""Console pages for scripted replies: list and filter, create and edit, delete, import, export."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel

from kb.context import KnowledgeBase
from kb.errors import N_, Invalid, Message, NotFound
from kb.library.replies import (
    LANGUAGES,
    InvalidReply,
    Placeholder,
    ReplyTemplate,
    derived_id,
    make_reply,
    parse_template,
)
from kb.library.rulefile import RuleFileError
from kb.library.store import delete_reply, export_replies, import_replies, list_replies, save_reply
from search.normalize import normalize
from web.auth import EditsInstallationWide, PrincipalDep
from web.deps import KBDep
from web.pages.forms import Errors, FormError, form_errors, read_text_upload, split_tags
from web.rendering import HtmxDep, RendererDep

router = APIRouter(prefix="/kb", include_in_schema=False)

LANGUAGE_LABELS = {"zh-Hans": N_("简体中文"), "zh-Hant": N_("繁體中文"), "en": "English"}
# Variables are declared by the body itself, so a problem with them is shown under the body.
_FORM_FIELD = {"variables": "body"}


@dataclass(frozen=True)
class ReplyFilter:
    text: str = ""
    tag: str = ""
    language: str = ""

    def __call__(self, reply: ReplyTemplate) -> bool:
        """Text matches id, title, body or cues in either script; tag and language exactly."""
        if self.tag and self.tag not in reply.tags:
            return False
        if self.language and reply.language != self.language:
            return False
        if not self.text.strip():
            return True
        haystack = normalize(" ".join([reply.id, reply.title, reply.body, *reply.applies_to]))
        return normalize(self.text) in haystack


class ReplyForm(BaseModel):
    """The reply form exactly as the browser sent it."""

    id: str = ""
    title: str = ""
    body: str = ""
    tags: str = ""
    language: str = ""
    applies_to: str = ""

    @classmethod
    def of(cls, reply: ReplyTemplate) -> ReplyForm:
        return cls(
            id=reply.id,
            title=reply.title,
            body=reply.body,
            tags=", ".join(reply.tags),
            language=reply.language,
            applies_to="\n".join(reply.applies_to),
        )

    def build(self, labels: dict[str, str] | None = None) -> ReplyTemplate:
        """The reply, or InvalidReply naming the form field at fault."""
        return make_reply(
            id=self.id.strip() or derived_id(self.title),
            title=self.title,
            body=self.body,
            tags=split_tags(self.tags),
            language=self.language or None,
            variables=_kept_labels(self.body, labels or {}) or None,
            applies_to=self.applies_to.splitlines(),
        )


def _kept_labels(body: str, labels: dict[str, str]) -> dict[str, str]:
    """Per-variable labels (set in imported files) for the variables the edited body still uses."""
    try:
        used = {p.name for p in parse_template(body) if isinstance(p, Placeholder)}
    except InvalidReply:
        return {}  # make_reply reports the broken body
    return {name: label for name, label in labels.items() if name in used}


@router.get("/replies", name="kb_replies")
def replies_page(
    request: Request,
    kb: KBDep,
    render: RendererDep,
    q: str = "",
    tag: str = "",
    language: str = "",
    saved: str = "",
    deleted: str = "",
    imported: int | None = None,
) -> Response:
    """Filterable list (HTMX: the list only), with import and export."""
    flash = _flash(saved, deleted, imported)
    context = _list_context(kb, ReplyFilter(q, tag.strip(), language), flash=flash)
    return render.page(request, "replies.html", context, block="reply_list")


@router.get("/replies/export", name="kb_replies_export")
def export(kb: KBDep) -> Response:
    """Every reply as one YAML file, in the import format."""
    return Response(
        export_replies(kb),
        media_type="application/yaml; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="replies.yaml"'},
    )


@router.post("/replies/import", name="kb_replies_import", dependencies=[EditsInstallationWide])
def import_file(
    request: Request,
    kb: KBDep,
    principal: PrincipalDep,
    render: RendererDep,
    htmx: HtmxDep,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """All or nothing: a file with an error changes no reply, and the error names its line."""
    with form_errors("replies.html", "import_form", partial(_refused_import, kb)):
        name, text = read_text_upload(file, kb.settings.max_upload_bytes)
        ids = import_replies(kb, text, name, actor=principal.actor)
    return _back_to_list(request, htmx, imported=len(ids))


@router.get("/replies/new", name="kb_reply_new")
def new_reply(request: Request, render: RendererDep) -> Response:
    context = _form_context(ReplyForm(language=""), is_new=True)
    return render.page(request, "reply_edit.html", context, block="reply_form")


@router.post("/replies/new", name="kb_reply_create", dependencies=[EditsInstallationWide])
def create_reply(
    request: Request,
    kb: KBDep,
    principal: PrincipalDep,
    render: RendererDep,
    htmx: HtmxDep,
    form: Annotated[ReplyForm, Form()],
) -> Response:
    """A new reply; an id already taken is an error on the id field, never an overwrite."""
    known = {r.id for r in list_replies(kb)}

    def refused(exc: InvalidReply) -> dict[str, Any]:
        return _form_context(form, is_new=True, errors=_field_error(exc))

    with form_errors("reply_edit.html", "reply_form", refused, catch=InvalidReply):
        reply = form.build()
        if reply.id in known:
            raise InvalidReply("a reply with id '{id}' already exists", "id", id=reply.id)
    save_reply(kb, reply, actor=principal.actor)
    return _back_to_list(request, htmx, saved=reply.id)


@router.get("/replies/{reply_id}", name="kb_reply")
def edit_reply(reply_id: str, request: Request, kb: KBDep, render: RendererDep) -> Response:
    reply = get_reply(kb, reply_id)
    context = _form_context(ReplyForm.of(reply), is_new=False, reply=reply)
    return render.page(request, "reply_edit.html", context, block="reply_form")


@router.post("/replies/{reply_id}", name="kb_reply_save", dependencies=[EditsInstallationWide])
def update_reply(
    reply_id: str,
    request: Request,
    kb: KBDep,
    principal: PrincipalDep,
    render: RendererDep,
    htmx: HtmxDep,
    form: Annotated[ReplyForm, Form()],
) -> Response:
    """Save an edited reply; its id stays (other data, such as rules and feedback, points at it)."""
    current = get_reply(kb, reply_id)
    form = form.model_copy(update={"id": reply_id})

    def refused(exc: InvalidReply) -> dict[str, Any]:
        return _form_context(form, is_new=False, reply=current, errors=_field_error(exc))

    with form_errors("reply_edit.html", "reply_form", refused, catch=InvalidReply):
        reply = form.build(dict(current.labels))
    save_reply(kb, reply, actor=principal.actor)
    return _back_to_list(request, htmx, saved=reply.id)


@router.post(
    "/replies/{reply_id}/delete", name="kb_reply_delete", dependencies=[EditsInstallationWide]
)
def remove_reply(
    reply_id: str,
    request: Request,
    kb: KBDep,
    principal: PrincipalDep,
    render: RendererDep,
    htmx: HtmxDep,
    confirm: Annotated[str, Form()] = "",
) -> Response:
    """Delete after an explicit confirmation field (the browser's hx-confirm is not enough)."""
    reply = get_reply(kb, reply_id)
    if confirm != reply_id:
        errors = {"confirm": "tick the box to confirm deleting this reply"}
        context = _form_context(ReplyForm.of(reply), is_new=False, reply=reply, errors=errors)
        raise FormError("reply_edit.html", "delete_form", context)
    delete_reply(kb, reply_id, actor=principal.actor)
    return _back_to_list(request, htmx, deleted=reply.title)


def get_reply(kb: KnowledgeBase, reply_id: str) -> ReplyTemplate:
    for reply in list_replies(kb):
        if reply.id == reply_id:
            return reply
    raise NotFound("no reply with id {reply_id!r}", field="reply_id", reply_id=reply_id)


def _back_to_list(request: Request, htmx: Any, **flash: Any) -> Response:
    target = f"{request.app.url_path_for('kb_replies')}?{urlencode(flash)}"
    if htmx.is_htmx:
        return Response(status_code=200, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def _flash(saved: str, deleted: str, imported: int | None) -> str:
    if saved:
        return Message("已保存话术 {saved}。", saved=saved)
    if deleted:
        return Message("已删除话术「{deleted}」。", deleted=deleted)
    if imported is not None:
        return Message("已导入 {imported} 条话术。", imported=imported)
    return ""


def _refused_import(kb: KnowledgeBase, exc: Invalid) -> dict[str, Any]:
    return _list_context(kb, ReplyFilter(), import_error=exc)


def _field_error(exc: InvalidReply) -> Errors:
    return {_FORM_FIELD.get(exc.field, exc.field): str(exc)}


def _list_context(
    kb: KnowledgeBase, filters: ReplyFilter, *, flash: str = "", import_error: Invalid | None = None
) -> dict[str, Any]:
    replies = list_replies(kb)
    return {
        "replies": [r for r in replies if filters(r)],
        "total": len(replies),
        "filters": filters,
        "tags": sorted({t for r in replies for t in r.tags}),
        "languages": LANGUAGE_LABELS,
        "flash": flash,
        "import_error": import_error,
        "import_line": import_error.line if isinstance(import_error, RuleFileError) else None,
    }


def _form_context(
    form: ReplyForm,
    *,
    is_new: bool,
    reply: ReplyTemplate | None = None,
    errors: Errors | None = None,
) -> dict[str, Any]:
    return {
        "form": form,
        "is_new": is_new,
        "reply": reply,
        "errors": errors or {},
        "languages": [(code, LANGUAGE_LABELS[code]) for code in LANGUAGES],
    }
