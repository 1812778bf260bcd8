"""The API's schema and its viewer, for signed-in callers, served from our own files only.

Swagger UI is vendored under ``web/static/swagger`` (pinned, checksummed in VENDORED.txt) and
started by ``static/docs.js``: the page loads nothing from another host and runs no inline
script, so its CSP (``web/headers.py``) names no outside host. ReDoc is not offered.
"""

from __future__ import annotations

from html import escape

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse

from web.auth import SignedIn
from web.headers import DOCS_PATH

SWAGGER_VERSION = "5.36.0"  # swagger-ui-dist, see web/static/VENDORED.txt

# Relative URLs: right behind a proxy's path prefix too. The version busts browser caches.
_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="{csrf}">
<title>AssistKB API</title>
<link rel="stylesheet" href="static/swagger/swagger-ui.css?v={version}">
</head>
<body>
<div id="swagger-ui" data-openapi-url="openapi.json"></div>
<script src="static/swagger/swagger-ui-bundle.js?v={version}"></script>
<script src="static/docs.js?v={version}"></script>
</body>
</html>
"""


def docs_html(csrf_token: str) -> str:
    """The viewer page; ``csrf_token`` lets "Try it out" send the session's token."""
    return _PAGE.format(csrf=escape(csrf_token, quote=True), version=SWAGGER_VERSION)


def install_docs(app: FastAPI) -> None:
    """``/openapi.json`` and ``/docs``, both behind sign-in."""

    @app.get("/openapi.json", include_in_schema=False, dependencies=[SignedIn])
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get(DOCS_PATH, include_in_schema=False, dependencies=[SignedIn])
    def docs(request: Request) -> HTMLResponse:
        session = getattr(request.state, "session", None)
        return HTMLResponse(docs_html(str(session.csrf_token) if session else ""))
