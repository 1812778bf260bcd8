"""One error path: domain and validation errors become one JSON body for the API, HTML for pages."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from kb.errors import KBError
from kb.faults import as_domain_error

log = logging.getLogger(__name__)


class Problem(BaseModel):
    field: str = Field(description="Dotted path of the input at fault, e.g. `conversation.0.text`.")
    message: str


class ErrorDetail(BaseModel):
    message: str = Field(description="What is wrong, for a person.")
    field: str | None = Field(None, description="The input at fault, when one is.")
    problems: list[Problem] | None = Field(
        None, description="Every problem found (422 on a malformed request only)."
    )


class ErrorBody(BaseModel):
    """The body of every 4xx and 5xx answer of the API."""

    error: ErrorDetail


_MEANINGS = {
    400: "Bad request (the message says what to change).",
    401: "No valid credentials: an API key in `Authorization: Bearer <key>` or a session.",
    403: "The key's scopes (or the person's role) do not allow this, or a CSRF token is missing.",
    404: "Not found: the field names what is unknown (a collection, a document id).",
    409: "Conflict with the stored state (e.g. an index built by another embedder).",
    413: "Too large.",
    422: "Invalid input: `error.field` names the field, `problems` lists every one.",
    503: "The database cannot be reached; the message says why. Retry later.",
    507: "The disk of the database or the index is full; nothing was changed.",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` for a route: the error answers it can give, all in ErrorBody.

    Every route may answer 503 (the database is down) and 507 (its disk is full: even a read
    logs or touches a key's last-used time), so both are always listed."""
    listed = sorted({*codes, 503, 507})
    return {code: {"model": ErrorBody, "description": _MEANINGS[code]} for code in listed}


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(KBError, _kb_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    # Registered by class (not left to the catch-all) so that Starlette answers them without
    # re-raising: the log gets one warning line, not a traceback per request while a fault lasts.
    for fault in (OSError, DBAPIError, sqlite3.Error):
        app.add_exception_handler(fault, _fault)
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


def _answer(
    request: Request, status_code: int, message: str, field: str | None = None, **extra: Any
) -> Response:
    if _wants_html(request):
        return request.app.state.renderer.error(request, status_code, message)
    return JSONResponse(error_body(message, field, **extra), status_code=status_code)


async def _kb_error(request: Request, exc: KBError) -> Response:
    return _answer(request, exc.status_code, exc.message, exc.field)


async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
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
    return _answer(request, 422, message, first["field"], problems=problems)


# FastAPI's answer (400) to a body it could not even decode: bytes that are not UTF-8 under a
# JSON content type, or a broken form. It is invalid input like any other: 422, naming the body.
_UNPARSED_BODY = "There was an error parsing the body"


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    if exc.status_code == 400 and exc.detail == _UNPARSED_BODY:
        cause = exc.__cause__
        what = (
            f"invalid JSON: not UTF-8 text ({cause.reason} at byte {cause.start})"
            if isinstance(cause, UnicodeDecodeError)
            else f"could not be parsed as {request.headers.get('content-type', 'sent')}"
        )
        problem = {"field": "body", "message": what}
        return _answer(request, 422, f"body: {what}", "body", problems=[problem])
    return _answer(request, exc.status_code, str(exc.detail))


async def _fault(request: Request, exc: Exception) -> Response:
    """A full disk or a database gone says so (503/507), never a bare 500."""
    fault = as_domain_error(exc)
    if fault is None:
        return await _unexpected(request, exc)
    log.warning("%s %s: %s", request.method, request.url.path, fault.message)
    return _answer(request, fault.status_code, fault.message, fault.field)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    message = "internal error; the server log has details"
    try:
        return _answer(request, 500, message)
    except Exception:  # the error view itself failed to render: the bare answer still goes out
        log.exception("the error view failed on %s", request.url.path)
        return JSONResponse(error_body(message), status_code=500)
