"""HTML rendering: one template per page, rendered whole or (for HTMX) as one named block."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response
from jinja2 import StrictUndefined, pass_context
from jinja2.runtime import Context
from jinja2_fragments.fastapi import Jinja2Blocks
from markupsafe import Markup, escape

from kb.assist.sentiment import cue_message
from kb.documents.jobs import stage_message
from kb.documents.reasons import job_error_message
from kb.documents.reasons import reason_message as ingest_reason_message
from kb.errors import Message
from kb.library.escalation import reason_message
from kb.library.replies import variable_label
from kb.retrieval.vocabulary import problem_message
from kb.types import Language
from web import i18n
from web.i18n import N_

TEMPLATE_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

# Route names shown in the top bar.
NAV_ITEMS = (
    ("kb_documents", N_("文档")),
    ("kb_jobs", N_("任务")),
    ("kb_hit_test", N_("命中测试")),
    ("assist", N_("坐席助手")),
    ("kb_replies", N_("话术")),
    ("kb_rules", N_("升级规则")),
    ("kb_vocabulary", N_("词库")),
    ("kb_analytics", N_("分析")),
    ("kb_upkeep", N_("维护")),
    ("kb_evaluation", N_("评测")),
    ("kb_learning", N_("学习")),
)
# The role each top-bar item needs; the others are the console's, for managers (base.html shows
# a viewer only what they may open, so an agent's error page offers no console).
NAV_ROLES = {"assist": "agent"}
# Shown to admins only (the pages refuse everyone else anyway).
ADMIN_NAV_ITEMS = (
    ("kb_admin_users", N_("用户")),
    ("kb_admin_keys", N_("API 密钥")),
    ("kb_admin_audit", N_("审计日志")),
)

LABELS = {
    "doc_type": {
        "manual": N_("手册"),
        "faq": N_("常见问题"),
        "policy": N_("政策"),
        "reply": N_("话术"),
    },
    "kind": {"passage": N_("段落"), "faq": N_("问答")},
    "job": {
        "queued": N_("排队中"),
        "running": N_("进行中"),
        "done": N_("完成"),
        "failed": N_("失败"),
    },
    "job_kind": {
        "upload": N_("上传"),
        "reingest": N_("重新导入"),
        "reindex": N_("重建索引"),
        "evaluation": N_("评测"),
        "merge": N_("合并分段"),
    },
    "doc_stage": {
        "queued": N_("排队中"),
        "parsing": N_("解析中"),
        "indexing": N_("索引中"),
        "keyword": N_("关键词可检索"),
        "live": N_("已上线"),
        "failed": N_("向量化失败"),
    },
    "file": {
        "queued": N_("等待"),
        "processed": N_("已解析"),
        "ingested": N_("已导入"),
        "unchanged": N_("未变化"),
        "failed": N_("失败"),
    },
    "role": {"agent": N_("坐席"), "manager": N_("知识库管理员"), "admin": N_("系统管理员")},
    "scope": {
        "search": N_("搜索"),
        "suggest": N_("建议"),
        "feedback": N_("反馈"),
        "documents:read": N_("读取文档"),
        "documents:write": N_("管理文档"),
        "embed": N_("嵌入面板"),
    },
    "level": {
        "tier1": N_("一线"),
        "tier2": N_("二线"),
        "tier3": N_("三线"),
        "supervisor": N_("主管"),
        "legal": N_("法务"),
    },
    # Teams are a rule's own words; these are the ones the bundled rules use.
    "team": {
        "legal": N_("法务"),
        "safety": N_("安全"),
        "billing": N_("账务"),
        "logistics": N_("物流"),
        "technical": N_("技术"),
        "customer_care": N_("客户关怀"),
    },
    "tier": {"normal": N_("普通"), "vip": N_("VIP")},
    "handling": {
        "self_service": N_("可直接回答"),
        "agent": N_("坐席处理"),
        "expert": N_("转专家处理"),
    },
}


@dataclass(frozen=True)
class HtmxRequest:
    """What HTMX says about a request (its ``HX-*`` headers)."""

    is_htmx: bool = False
    boosted: bool = False
    target: str | None = None
    trigger: str | None = None
    current_url: str | None = None

    @property
    def wants_fragment(self) -> bool:
        # A boosted link swaps the whole body, so it needs the full page.
        return self.is_htmx and not self.boosted


def get_htmx(request: Request) -> HtmxRequest:
    h = request.headers
    return HtmxRequest(
        is_htmx=h.get("hx-request") == "true",
        boosted=h.get("hx-boosted") == "true",
        target=h.get("hx-target"),
        trigger=h.get("hx-trigger"),
        current_url=h.get("hx-current-url"),
    )


HtmxDep = Annotated[HtmxRequest, Depends(get_htmx)]


@dataclass(frozen=True)
class Rendered:
    """One render, as a listener sees it: the template, the block (None: whole page), context."""

    template: str
    block: str | None
    context: Mapping[str, Any]


@dataclass
class Renderer:
    """The Jinja2 environment and its listeners (tests listen to see what rendered with what)."""

    templates: Jinja2Blocks
    listeners: list[Callable[[Rendered], None]] = field(default_factory=list)

    def page(
        self,
        request: Request,
        name: str,
        context: dict[str, Any],
        *,
        block: str,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """The whole page, or only ``block`` when HTMX asks: both from the same template."""
        fragment = get_htmx(request).wants_fragment
        return self.render(
            request,
            name,
            context,
            block=block if fragment else None,
            status_code=status_code,
            headers=headers,
        )

    def render(
        self,
        request: Request,
        name: str,
        context: dict[str, Any],
        *,
        block: str | None = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Render ``block`` of ``name`` (or all of it) regardless of the request kind."""
        for listener in self.listeners:
            listener(Rendered(name, block, dict(context)))
        return self.templates.TemplateResponse(
            request,
            name,
            context,
            status_code=status_code,
            headers=headers,
            block_name=block,
        )

    def error(self, request: Request, status_code: int, message: str) -> Response:
        """The HTML face of the one error path: a page, or the error block for HTMX."""
        context = {"status_code": status_code, "message": message}
        return self.page(request, "error.html", context, block="error", status_code=status_code)


def make_renderer(directory: Path = TEMPLATE_DIR) -> Renderer:
    templates = Jinja2Blocks(directory=str(directory))
    env = templates.env
    env.trim_blocks = True
    env.lstrip_blocks = True
    env.add_extension("jinja2.ext.i18n")
    # Every string a page shows goes through the reader's catalogue: literal text as _("…"),
    # and every Message (a label, a domain error) when it is output (finalize).
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_gettext, ngettext=_ngettext, newstyle=True
    )
    env.finalize = _finalize
    env.globals["ui_locale"] = ui_locale
    env.globals["ui_choices"] = i18n.CHOICES
    env.globals["script_messages"] = script_messages
    # A name missing from a context is a bug in a route: fail the render (and its test).
    env.undefined = StrictUndefined
    env.globals["path_for"] = path_for
    env.globals["csrf_token"] = csrf_token
    env.globals["signed_in_as"] = signed_in_as
    env.globals["embed_token"] = embed_token
    env.globals["nav_items"] = NAV_ITEMS
    env.globals["admin_nav_items"] = ADMIN_NAV_ITEMS
    env.globals["signed_in_role"] = signed_in_role
    env.globals["may_use"] = may_use
    env.globals["nav_roles"] = NAV_ROLES
    env.globals["labels"] = LABELS
    env.filters["stage"] = lambda stage: Quoted(stage_message(stage))
    env.filters["reason"] = lambda reason: Quoted(reason_message(reason))
    env.filters["cue"] = lambda cue: Quoted(cue_message(cue))
    env.filters["ingest_reason"] = ingest_reason_message
    env.filters["job_error"] = job_error_message
    env.filters["vocabulary_problem"] = problem_message
    env.filters["variable"] = variable
    env.filters["marked"] = marked
    env.filters["heading"] = heading
    env.filters["score"] = score
    return Renderer(templates)


def get_renderer(request: Request) -> Renderer:
    renderer: Renderer = request.app.state.renderer
    return renderer


RendererDep = Annotated[Renderer, Depends(get_renderer)]


def _locale(context: Context) -> Language:
    request = context.get("request")
    return i18n.locale_of(request) if request is not None else i18n.DEFAULT


@pass_context
def _gettext(context: Context, text: str) -> str:
    return i18n.gettext(_locale(context), text)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return i18n.ngettext(_locale(context), singular, plural, n)


@pass_context
def _finalize(context: Context, value: Any) -> Any:
    if isinstance(value, Quoted):
        return value.render(_locale(context))
    return i18n.gettext(_locale(context), value) if isinstance(value, Message) else value


@pass_context
def ui_locale(context: Context) -> Language:
    """The language the page is shown in (``<html lang>``, the language switch)."""
    return _locale(context)


@pass_context
def script_messages(context: Context) -> str:
    """app.js's strings in the page's language, as JSON (autoescaped into an attribute)."""
    return json.dumps(i18n.script_messages(_locale(context)), ensure_ascii=False)


# The fields of kb's forms that quote what someone wrote (a customer's words, a file name).
_QUOTED_FIELDS = frozenset({"value", "file"})


class Quoted:
    """A Message whose quoted fields are shown as ``<q>``: the product's words translated, the
    customer's (or a file's) words marked as content in their own language."""

    def __init__(self, message: Message) -> None:
        self.message = message

    def render(self, locale: Language) -> Markup:
        message = self.message
        template = escape(i18n.gettext(locale, Message(message.template)))
        fields = {
            k: Markup('<q class="quote">{}</q>').format(v) if k in _QUOTED_FIELDS
            else i18n.gettext(locale, v) if isinstance(v, Message) else v
            for k, v in message.params.items()
        }  # fmt: skip
        return Markup(template).format(**fields) if fields else Markup(template)


@pass_context
def variable(context: Context, name: str) -> str:
    """A reply variable's name in the page's language (称呼 for ``name``)."""
    return variable_label(name, _locale(context))


@pass_context
def path_for(context: Context, name: str, /, **params: Any) -> str:
    """The path of a named route or mount (relative, so it works behind a proxy or in an iframe)."""
    request: Request = context["request"]
    # The app's own root, not a mount's: an error page under /static once linked its own
    # stylesheet as /static/static/app.css.
    root = request.scope.get("app_root_path", request.scope.get("root_path", ""))
    return f"{root}{request.app.url_path_for(name, **params)}"


@pass_context
def csrf_token(context: Context) -> str:
    """The session's CSRF token, for forms and HTMX headers ('' when signed out)."""
    session = getattr(context["request"].state, "session", None)
    return str(session.csrf_token) if session else ""


@pass_context
def signed_in_as(context: Context) -> str:
    """The signed-in person's e-mail, or ''."""
    session = getattr(context["request"].state, "session", None)
    return str(session.user.email) if session else ""


@pass_context
def embed_token(context: Context) -> str:
    """The embed token an embedded panel carries on to its HTMX requests ('' when not embedded)."""
    view = getattr(context["request"].state, "embed", None)
    return str(view.token) if view else ""


@pass_context
def signed_in_role(context: Context) -> str:
    """The signed-in person's role, or ''."""
    session = getattr(context["request"].state, "session", None)
    return str(session.user.role) if session else ""


@pass_context
def may_use(context: Context, role: str) -> bool:
    """Whether the signed-in person holds at least ``role``; a signed-out, embedded or API-key
    viewer holds none (their pages link nowhere they cannot open)."""
    session = getattr(context["request"].state, "session", None)
    return session is not None and bool(session.principal.can(role))


def marked(highlight: str) -> Markup:
    """A search highlight (``search.highlight``: HTML-escaped text plus ``<mark>``) as markup.

    Trusted only in that exact shape: anything else that looks like a tag is escaped again.
    """
    pieces = highlight.replace("</mark>", "<mark>").split("<mark>")
    if any("<" in p or ">" in p for p in pieces):
        return Markup(escape(highlight))
    return Markup(highlight)


def heading(path: list[str] | tuple[str, ...] | None) -> str:
    """A heading path as the citation shows it: ``3 Returns › 3.2 Refunds``."""
    return " › ".join(p for p in path or () if p)


def score(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"
