"""HTML rendering: one template per page, rendered whole or (for HTMX) as one named block."""

from __future__ import annotations

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

TEMPLATE_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

# Route names shown in the top bar.
NAV_ITEMS = (
    ("kb_documents", "文档"),
    ("kb_hit_test", "命中测试"),
    ("assist", "坐席助手"),
    ("kb_replies", "话术"),
    ("kb_rules", "升级规则"),
    ("kb_vocabulary", "词库"),
    ("kb_analytics", "分析"),
    ("kb_evaluation", "评测"),
)
# The role each top-bar item needs; the others are the console's, for managers (base.html shows
# a viewer only what they may open, so an agent's error page offers no console).
NAV_ROLES = {"assist": "agent"}
# Shown to admins only (the pages refuse everyone else anyway).
ADMIN_NAV_ITEMS = (
    ("kb_admin_users", "用户"),
    ("kb_admin_keys", "API 密钥"),
    ("kb_admin_audit", "审计日志"),
)

LABELS = {
    "doc_type": {"manual": "手册", "faq": "常见问题", "policy": "政策", "reply": "话术"},
    "kind": {"passage": "段落", "faq": "问答"},
    "job": {"queued": "排队中", "running": "进行中", "done": "完成", "failed": "失败"},
    "file": {
        "queued": "等待",
        "processed": "已解析",
        "ingested": "已导入",
        "unchanged": "未变化",
        "failed": "失败",
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
    env.filters["marked"] = marked
    env.filters["heading"] = heading
    env.filters["score"] = score
    return Renderer(templates)


def get_renderer(request: Request) -> Renderer:
    renderer: Renderer = request.app.state.renderer
    return renderer


RendererDep = Annotated[Renderer, Depends(get_renderer)]


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
