"""Application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import Response

from kb.accounts.secret import load_secret_key
from kb.context import KnowledgeBase
from kb.documents.jobs import fail_interrupted_jobs, shutdown_jobs
from kb.settings import Settings
from web.api import documents, embed, learning, search, sources, suggest
from web.auth import check_protected, install_auth
from web.docs import install_docs
from web.errors import error_response, install_error_handlers
from web.headers import install_security_headers
from web.limits import BodySizeLimit
from web.pages import install_pages

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, warm: bool = True) -> FastAPI:
    """Build the app; ``warm`` loads the embedder and live indexes at start-up, not on first use."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Refuses to start (KB_ENV=production) without a strong explicit secret, and says why.
        load_secret_key(settings)
        kb = KnowledgeBase(settings)
        app.state.kb = kb
        if interrupted := fail_interrupted_jobs(kb):
            log.warning("%d ingestion jobs were interrupted by a restart", interrupted)
        if warm:
            _warm_up(kb)
        yield
        shutdown_jobs(kb)
        kb.close()

    app = FastAPI(
        title="AssistKB",
        version="1",
        summary="Agent-assist knowledge base: hybrid search, suggestions, replies, escalation.",
        lifespan=lifespan,
        # Added by install_docs below, behind sign-in and from our own files.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes, refuse=_body_too_large)
    install_security_headers(app, frame_ancestors=settings.frame_ancestors)
    install_auth(app)
    app.include_router(search.router)
    app.include_router(sources.router)
    app.include_router(documents.router)
    app.include_router(suggest.router)
    app.include_router(embed.router)
    app.include_router(learning.router)
    install_pages(app)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    install_docs(app)  # the schema and its viewer need a signed-in caller too
    check_protected(app)  # a route without authentication is a start-up error, not a leak
    return app


def _body_too_large(request: Request, message: str) -> Response:
    return error_response(request, 413, message, "body")


def _warm_up(kb: KnowledgeBase) -> None:
    from kb.retrieval.indexing import ensure_fresh, known_collections

    for collection in known_collections(kb):
        if ensure_fresh(kb, collection):
            log.warning("index of %r was stale and has been rebuilt", collection)
        kb.searchers.get(collection)
    kb.embedder.embed_queries(["warm up"])
    from kb.assist.matching import warm_up

    warm_up(kb)
