"""One error path: domain errors and validation errors become clear JSON for the API."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from kb.errors import KBError

log = logging.getLogger(__name__)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(KBError, _kb_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)


def error_body(message: str, field: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"error": {"message": message}}
    if field:
        body["error"]["field"] = field
    body["error"].update(extra)
    return body


def _wants_html(request: Request) -> bool:
    """API paths always get JSON; pages (and their HTMX fragments) get the HTML error view."""
    return not request.url.path.startswith("/api/") and hasattr(request.app.state, "renderer")


async def _kb_error(request: Request, exc: KBError) -> Response:
    if _wants_html(request):
        return request.app.state.renderer.error(request, exc.status_code, exc.message)
    return JSONResponse(error_body(exc.message, exc.field), status_code=exc.status_code)


async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = []
    for e in exc.errors():
        loc = [str(p) for p in e.get("loc", ())]
        if loc and loc[0] in ("body", "query", "path", "header", "cookie"):
            loc = loc[1:]  # where the value came from, not its name
        field = ".".join(loc) or "body"
        msg = e.get("msg", "invalid")
        if e.get("type") == "extra_forbidden":
            msg = "unknown field"
        elif e.get("type") == "json_invalid":
            field, msg = "body", f"invalid JSON: {e.get('ctx', {}).get('error', msg)}"
        problems.append({"field": field, "message": msg})
    first = problems[0] if problems else {"field": "body", "message": "invalid request"}
    message = f"{first['field']}: {first['message']}"
    return JSONResponse(error_body(message, first["field"], problems=problems), status_code=422)


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    if _wants_html(request):
        return request.app.state.renderer.error(request, exc.status_code, str(exc.detail))
    return JSONResponse(error_body(str(exc.detail)), status_code=exc.status_code)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse(error_body("internal error; the server log has details"), status_code=500)
