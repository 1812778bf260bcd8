"""HTML pages: the knowledge-manager console (``/kb/...``), rendered with Jinja2 and HTMX."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from web.pages import (
    analytics,
    assist,
    documents,
    evaluation,
    hit_test,
    jobs,
    replies,
    rules,
    vocabulary,
)
from web.pages.forms import FormError, render_form_error
from web.rendering import STATIC_DIR, make_renderer


def install_pages(app: FastAPI) -> None:
    """Mount the page routers and ``/static`` (htmx is vendored there: no CDN)."""
    app.state.renderer = make_renderer()
    app.add_exception_handler(FormError, render_form_error)  # type: ignore[arg-type]
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (
        documents,
        jobs,
        hit_test,
        assist,
        replies,
        rules,
        vocabulary,
        analytics,
        evaluation,
    ):
        app.include_router(module.router)

    @app.get("/", name="home", include_in_schema=False)
    def home(request: Request) -> RedirectResponse:
        """The front door is the assist panel; its top bar links to the console."""
        return RedirectResponse(request.app.url_path_for("assist"), status_code=303)
