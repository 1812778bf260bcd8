"""One error path: domain and validation errors become one JSON body for the API, HTML for pages."""

from __future__ import annotations

import logging
import sqlite3
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from kb.errors import N_, KBError, Message
from kb.faults import as_domain_error
from web.i18n import localize
from web.validation import FIELD_PROBLEM, field_problem

log = logging.getLogger(__name__)


class Problem(BaseModel):
    field: str = Field(description="Dotted path of the input at fault, e.g. `conversation.0.text`.")
    loc: list[str | int] = Field(
        description='The same path as a list (`["conversation", 0, "text"]`; empty for the '
        "body as a whole)."
    )
    type: str = Field(
        description="What is wrong, for a program: pydantic's error type (`missing`, "
        "`string_too_long`, `greater_than_equal`, `int_parsing`, `literal_error`, "
        "`json_invalid`, `extra_forbidden`, `value_error`, …), stable across languages; "
        "`body_unparsed` for a body that could not be decoded at all."
    )
    message: str = Field(description="What is wrong, for a person, in the caller's language.")


class ErrorDetail(BaseModel):
    code: str = Field(
        description="What went wrong, for a program: stable across releases and languages "
        "(`invalid`, `not_found`, `forbidden`, `unauthenticated`, `too_many_requests`, …)."
    )
    message: str = Field(
        description="What is wrong, for a person, in the caller's language: the "
        "`Accept-Language` header (zh-Hans, zh-Hant or en; English when none is asked for)."
    )
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
    413: "Too large: the request body (KB_MAX_REQUEST_BYTES) or its files (KB_MAX_UPLOAD_FILES).",
    422: "Invalid input: `error.field` names the field, `problems` lists every one with its "
    "`loc` and a stable `type` (pydantic's: `missing`, `string_too_long`, …).",
    429: "Over the rate limit of this key or person: wait the `Retry-After` seconds.",
    503: "A service it needs (the database, the embedding server, the vector engine) cannot be "
    "reached; the message says why. Retry later.",
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


# The machine code of an answer that no domain error named (a framework's 404, 405, …).
_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid",
    429: "too_many_requests",
    500: "internal",
    503: "unavailable",
    507: "storage_full",
}


def code_of(status_code: int) -> str:
    return _CODES.get(status_code, "error")


def error_body(
    message: str, field: str | None = None, *, code: str = "error", **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if field:
        body["error"]["field"] = field
    body["error"].update(extra)
    return body


def _wants_html(request: Request) -> bool:
    """API paths always get JSON; pages (and their HTMX fragments) get the HTML error view."""
    return not request.url.path.startswith("/api/") and hasattr(request.app.state, "renderer")


def error_response(
    request: Request,
    status_code: int,
    message: str,
    field: str | None = None,
    *,
    headers: dict[str, str] | None = None,
    code: str | None = None,
    **extra: Any,
) -> Response:
    """The one error answer: ErrorBody JSON under /api, the HTML error view for pages; the
    message in the caller's language (a ``Message`` is translated, other text shown as is)."""
    message = localize(request, message)
    if _wants_html(request):
        response: Response = request.app.state.renderer.error(request, status_code, message)
        response.headers.update(headers or {})
        return response
    body = error_body(message, field, code=code or code_of(status_code), **extra)
    return JSONResponse(body, status_code=status_code, headers=headers)


async def _kb_error(request: Request, exc: KBError) -> Response:
    return error_response(request, exc.status_code, exc.message, exc.field, code=exc.code)


async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    found = [field_problem(e) for e in exc.errors()]
    problems = [
        {
            "field": p.field,
            "loc": list(p.loc),
            "type": p.type,
            "message": localize(request, p.message),
        }
        for p in found
    ]
    if not found:
        return error_response(request, 422, N_("invalid request"), "body", problems=[])
    first = found[0]
    message = Message(FIELD_PROBLEM, field=first.field, problem=first.message)
    return error_response(request, 422, message, first.field, problems=problems)


# FastAPI's and Starlette's answer (400) to a body they could not even decode: bytes that are
# not UTF-8 under a JSON content type, or a broken form ("Invalid multipart data.", a missing
# boundary). Our own code never raises a 400; this is invalid input like any other: 422, naming
# the body.
_UNPARSED_BODY = "There was an error parsing the body"
_NOT_UTF8 = N_("invalid JSON: not UTF-8 text ({reason} at byte {start})")
_UNPARSED_AS = N_("could not be parsed as {type}")
_UNPARSED = N_("could not be parsed: {detail}")


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    if exc.status_code == 400:
        cause = exc.__cause__
        kind = "body_unparsed"
        if isinstance(cause, UnicodeDecodeError):
            kind = "json_invalid"
            what = Message(_NOT_UTF8, reason=cause.reason, start=cause.start)
        elif exc.detail == _UNPARSED_BODY:
            what = Message(_UNPARSED_AS, type=request.headers.get("content-type", "sent"))
        else:
            what = Message(_UNPARSED, detail=exc.detail)
        problem = {"field": "body", "loc": [], "type": kind, "message": localize(request, what)}
        message = Message(FIELD_PROBLEM, field="body", problem=what)
        return error_response(request, 422, message, "body", problems=[problem])
    # Starlette's own answers (an unknown path, a wrong method) carry only the status phrase.
    detail = _PHRASES.get(exc.status_code) if exc.detail == _phrase(exc.status_code) else None
    return error_response(request, exc.status_code, detail or str(exc.detail))


_PHRASES = {
    404: N_("no such page or resource"),
    405: N_("this method is not allowed here"),
}


def _phrase(status_code: int) -> str:
    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return ""


async def _fault(request: Request, exc: Exception) -> Response:
    """A full disk or a database gone says so (503/507), never a bare 500."""
    fault = as_domain_error(exc)
    if fault is None:
        return await _unexpected(request, exc)
    log.warning("%s %s: %s", request.method, request.url.path, fault.message)
    return error_response(request, fault.status_code, fault.message, fault.field, code=fault.code)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    message = N_("internal error; the server log has details")
    try:
        return error_response(request, 500, message)
    except Exception:  # the error view itself failed to render: the bare answer still goes out
        log.exception("the error view failed on %s", request.url.path)
        return JSONResponse(error_body(message, code="internal"), status_code=500)
