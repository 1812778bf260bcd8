"""HTML pages: the knowledge-manager console (``/kb/...``), rendered with Jinja2 and HTMX."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from web.auth import requires_role
from web.pages import (
    account,
    admin_audit,
    admin_keys,
    admin_users,
    analytics,
    assist,
    assist_feedback,
    documents,
    evaluation,
    hit_test,
    jobs,
    learning,
    login,
    replies,
    rules,
    sources,
    upkeep,
    vocabulary,
)
from web.pages.forms import FormError, render_form_error
from web.rendering import STATIC_DIR, make_renderer


def install_pages(app: FastAPI) -> None:
    """Mount the page routers and ``/static`` (htmx is vendored there: no CDN).

    Each router is included with the role it needs: the panel and one's own account are for
    agents, the console for managers, its admin pages for admins; only ``/login`` and
    ``/static`` are open."""
    app.state.renderer = make_renderer()
    app.add_exception_handler(FormError, render_form_error)  # type: ignore[arg-type]
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(login.router)
    app.include_router(assist.router, dependencies=[requires_role("agent")])
    app.include_router(assist_feedback.router, dependencies=[requires_role("agent")])
    app.include_router(sources.router, dependencies=[requires_role("agent")])
    app.include_router(account.router, dependencies=[requires_role("agent")])
    for module in (
        documents,
        jobs,
        hit_test,
        replies,
        rules,
        vocabulary,
        analytics,
        upkeep,
        evaluation,
        learning,
    ):
        app.include_router(module.router, dependencies=[requires_role("manager")])
    for module in (admin_users, admin_keys, admin_audit):
        app.include_router(module.router, dependencies=[requires_role("admin")])

    @app.get("/", name="home", include_in_schema=False, dependencies=[requires_role("agent")])
    def home(request: Request) -> RedirectResponse:
        """The front door is the assist panel; its top bar links to the console."""
        return RedirectResponse(request.app.url_path_for("assist"), status_code=303)
