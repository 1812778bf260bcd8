"""Application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import Response

from kb.accounts.secret import load_secret_key
from kb.context import KnowledgeBase
from kb.documents.backfill import resume_vectors
from kb.documents.jobs import fail_interrupted_jobs, resume_queued_jobs, shutdown_jobs
from kb.retrieval.following import GenerationFollower
from kb.settings import Settings
from search.embedders.base import EmbedderUnavailableError
from web.api import documents, embed, jobs, learning, search, sources, suggest, upkeep
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
        if settings.workers == "inline":  # else `kb worker` processes own the queue
            if interrupted := fail_interrupted_jobs(kb):
                log.warning("%d ingestion jobs were interrupted by a restart", interrupted)
            if resumed := resume_queued_jobs(kb):
                log.info("%d queued ingestion jobs resumed", resumed)
            if waiting := resume_vectors(kb):
                log.info("embedding what %s serve by keyword only", ", ".join(waiting))
        if warm:
            _warm_up(kb)
        # Other processes publish too: load their generations as soon as the poll sees them.
        follower = GenerationFollower(kb).start() if kb.shared else None
        yield
        if follower is not None:
            follower.stop()
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
    app.include_router(jobs.router)
    app.include_router(suggest.router)
    app.include_router(embed.router)
    app.include_router(upkeep.router)
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
    from kb.assist.matching import warm_up
    from kb.retrieval.indexing import ensure_fresh, known_collections
    from search.index import SearchIndexError

    try:
        for collection in known_collections(kb):
            # A shared index is written by the writers (ingest, workers) under the database's
            # lease: a web process starting beside them only reads, and serves what they published.
            if not kb.shared and ensure_fresh(kb, collection):
                log.warning("index of %r was stale and has been rebuilt", collection)
            try:
                kb.searchers.get(collection)
            except SearchIndexError as exc:  # searches answer 409 saying so until it is rebuilt
                log.warning("index of %r cannot be loaded: %s (kb check --repair)", collection, exc)
        kb.embedder.embed_queries(["warm up"])
        warm_up(kb)
    except EmbedderUnavailableError as exc:
        # A remote embedding server that is down must not keep the agents' keyword answers
        # from starting: searches say they are degraded until it answers.
        log.warning("%s; serving by keywords until the embedding server answers", exc)
