"""Security headers on every response: pages, API, errors, static files and redirects.

One pure ASGI wrapper, outermost (outside Starlette's ServerErrorMiddleware, so a 500 carries
them too), decides the Content-Security-Policy by path: the assist panel may be framed by the
origins in ``KB_FRAME_ANCESTORS``; everything else by nobody.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PANEL_PREFIX = "/assist"
DOCS_PATH = "/docs"

# Our pages need nothing inline: no <script> blocks, no on*= handlers, no style attributes
# (app.js styles through the CSSOM, which CSP allows; htmx's indicator <style> is off in
# base.html's htmx-config). form-action/base-uri stop an injected <form> or <base> from
# sending the page's data elsewhere.
_OURS = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
}
_COMMON = {
    b"x-content-type-options": b"nosniff",
    # The panel's and console's URLs carry queries and document ids: never to another site.
    b"referrer-policy": b"same-origin",
}


def content_security_policy(frame_ancestors: str, **overrides: str) -> str:
    """Our policy with ``frame-ancestors`` (and any directive in ``overrides``) set."""
    directives = {**_OURS, **overrides, "frame-ancestors": frame_ancestors}
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def _frame_options(frame_ancestors: str) -> bytes | None:
    """The legacy X-Frame-Options matching ``frame_ancestors``, when it can say the same."""
    return {"'none'": b"DENY", "'self'": b"SAMEORIGIN"}.get(frame_ancestors.strip())


def _swagger_policy() -> str:
    """The API viewer: our vendored Swagger UI, no inline script and no other host.

    React and Swagger UI set style attributes and inject a few <style> rules, and its icons
    are data: SVGs; both are allowed on this one read-only page only, never a script."""
    return content_security_policy(
        "'none'",
        **{"style-src": "'self' 'unsafe-inline'", "img-src": "'self' data:"},
    )


@dataclass(frozen=True)
class HeaderSet:
    """The headers one kind of path gets, encoded once."""

    headers: tuple[tuple[bytes, bytes], ...]

    @classmethod
    def of(cls, policy: str, frame_options: bytes | None) -> HeaderSet:
        pairs = [(b"content-security-policy", policy.encode()), *_COMMON.items()]
        if frame_options is not None:
            pairs.append((b"x-frame-options", frame_options))
        return cls(tuple(pairs))


class SecurityHeaders:
    """ASGI middleware: sets the security headers on every HTTP response (replacing any)."""

    def __init__(self, app: ASGIApp, *, frame_ancestors: str) -> None:
        self.app = app
        ancestors = frame_ancestors.strip() or "'self'"
        self.panel = HeaderSet.of(content_security_policy(ancestors), _frame_options(ancestors))
        self.console = HeaderSet.of(content_security_policy("'none'"), b"DENY")
        self.docs = HeaderSet.of(_swagger_policy(), b"DENY")

    def headers_for(self, path: str) -> HeaderSet:
        if path == PANEL_PREFIX or path.startswith(PANEL_PREFIX + "/"):
            return self.panel
        return self.docs if path == DOCS_PATH else self.console

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chosen = self.headers_for(scope["path"])
        names = {name for name, _ in chosen.headers}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": [*kept, *chosen.headers]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_security_headers(app: FastAPI, *, frame_ancestors: str) -> None:
    """Wrap the app's whole middleware stack, error middleware included, in SecurityHeaders.

    ``add_middleware`` would place it inside ServerErrorMiddleware, whose 500 answers would
    then go out bare; Starlette builds the stack lazily through this one method."""
    build: Callable[[], ASGIApp] = app.build_middleware_stack

    def build_wrapped() -> ASGIApp:
        return SecurityHeaders(build(), frame_ancestors=frame_ancestors)

    app.build_middleware_stack = build_wrapped  # type: ignore[method-assign]
