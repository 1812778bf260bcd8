"""Who is asking: one dependency resolves a request's Principal (API key or session cookie).

Every route depends on it through its router (``requires`` / ``requires_role``), and
``check_protected`` refuses to start an app with a route that does not, outside ``PUBLIC_PATHS``.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from kb.accounts.access import check_installation_wide
from kb.accounts.access import readable as readable  # routes take the collection rule here
from kb.accounts.keys import authenticate_key
from kb.accounts.principal import Principal
from kb.accounts.proxies import client_address
from kb.accounts.schemas import SessionInfo
from kb.accounts.sessions import csrf_valid, resolve_session
from kb.errors import Forbidden, TooManyAttempts, Unauthenticated
from kb.types import Scope, UserRole
from web.deps import get_kb
from web.embed import embed_principal
from web.errors import error_body, error_response
from web.i18n import localize
from web.limits import check_rate

SESSION_COOKIE = "assistkb_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
PUBLIC_PATHS = frozenset({"/healthz", "/login"})  # and the /static mount
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def current_principal(request: Request) -> Principal:
    """The caller: on the panel an embed token if one is offered (``web/embed.py``), else
    ``Authorization: Bearer <key>``, else the session cookie; 401 if none.

    Sync, so its database reads run in the thread pool, not on the event loop."""
    kb = get_kb(request)
    embedded = embed_principal(kb, request)
    if embedded is not None:
        return embedded
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, bearer = authorization.partition(" ")
        key = authenticate_key(kb, bearer=bearer.strip()) if scheme.lower() == "bearer" else None
        if key is None:
            raise Unauthenticated("the API key is unknown, revoked or expired")
        return key
    session = resolve_session(kb, token=request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise Unauthenticated("sign in first")
    request.state.session = session
    return session.principal


async def checked_principal(
    request: Request, principal: Annotated[Principal, Depends(current_principal)]
) -> Principal:
    """The caller, once a state-changing request by cookie has shown its session's CSRF token."""
    session: SessionInfo | None = getattr(request.state, "session", None)
    if session is not None and request.method not in _SAFE_METHODS:
        token = request.headers.get(CSRF_HEADER)
        if token is None and request.headers.get("content-type", "").startswith(_FORMS):
            # FastAPI has parsed the form for the route already; this reads its cache.
            field = (await request.form()).get(CSRF_FIELD)
            token = field if isinstance(field, str) else None
        if not csrf_valid(session, token):
            raise Forbidden("the CSRF token is missing or stale; reload the page and try again")
    check_rate(get_kb(request), principal)  # after authentication: counted per caller
    return principal


PrincipalDep = Annotated[Principal, Depends(checked_principal)]
SignedIn = Depends(checked_principal)  # any authenticated caller, for router dependencies


def requires(*scopes: Scope) -> Any:
    """A dependency: the caller (key or person) holds at least one of ``scopes``."""

    def scoped(principal: PrincipalDep) -> Principal:
        if not any(principal.can(s) for s in scopes):
            raise Forbidden("this needs the scope {scopes}", scopes=" | ".join(scopes))
        return principal

    return Depends(scoped)


def requires_key(scope: Scope) -> Any:
    """A dependency: an API key holding ``scope``; no person, whatever their role grants."""

    def keyed(principal: PrincipalDep) -> Principal:
        if principal.kind != "key" or not principal.can(scope):
            raise Forbidden("this needs an API key with the scope {scope}", scope=scope)
        return principal

    return Depends(keyed)


def requires_role(role: UserRole) -> Any:
    """A dependency: a signed-in person of at least ``role`` (keys have no role)."""
    Principal(kind="user", name="-", role="admin").can(role)  # a typo fails at import

    def ranked(principal: PrincipalDep) -> Principal:
        if not principal.can(role):
            raise Forbidden("this page is for the role {role} and above", role=role)
        return principal

    return Depends(ranked)


def request_address(request: Request) -> str | None:
    """The client's address: the peer, or behind ``KB_TRUSTED_PROXIES`` the client they name."""
    peer = request.client.host if request.client else None
    forwarded = request.headers.getlist("x-forwarded-for")
    return client_address(peer, forwarded, get_kb(request).settings.trusted_networks)


def _every_collection(principal: PrincipalDep) -> Principal:
    return check_installation_wide(principal)


# Routes that change replies, escalation rules or the vocabulary (they apply to every collection).
EditsInstallationWide = Depends(_every_collection)


def local_path(target: str | None, default: str = "/") -> str:
    """``target`` if it is a path on this site, else ``default``: ``next`` never leaves it."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in target):
        return default
    return target


def install_auth(app: FastAPI) -> None:
    app.add_exception_handler(Unauthenticated, _unauthenticated)  # type: ignore[arg-type]
    app.add_exception_handler(TooManyAttempts, _too_many)  # type: ignore[arg-type]


def api_routes(app: FastAPI) -> list[RouteContext]:
    """Every API route of the app as it serves it (included routers flattened, their
    dependencies applied); mounts such as /static are not routes of ours."""
    return [r for r in iter_route_contexts(app.routes) if isinstance(r.original_route, APIRoute)]


def check_protected(app: FastAPI) -> None:
    """Refuse to build an app with a route that authenticates nobody (outside PUBLIC_PATHS)."""
    open_routes = [
        f"{sorted(r.methods or ())} {r.path}"
        for r in api_routes(app)
        if r.path not in PUBLIC_PATHS and not _depends_on(r.dependant, checked_principal)
    ]
    if open_routes:
        raise RuntimeError(f"routes without authentication: {', '.join(open_routes)}")


def _depends_on(dependant: Dependant, call: Any) -> bool:
    return any(d.call is call or _depends_on(d, call) for d in dependant.dependencies)


async def _unauthenticated(request: Request, exc: Unauthenticated) -> Response:
    """401 JSON for the API; pages go to the login form (HTMX via ``HX-Redirect``)."""
    if request.url.path.startswith("/api/") or not hasattr(request.app.state, "renderer"):
        headers = {"WWW-Authenticate": "Bearer"}
        body = error_body(localize(request, exc.message), code=exc.code)
        return JSONResponse(body, status_code=401, headers=headers)
    htmx = request.headers.get("hx-request") == "true"
    # After signing in, back to the page: for HTMX the one the fragment was asked from.
    here = _path_of(request) if htmx else request.url.path
    query = "" if htmx else request.url.query
    here = local_path(here + (f"?{query}" if query else ""))
    login = f"{request.scope.get('root_path', '')}/login?next={quote(here, safe='/')}"
    if htmx:
        return Response(status_code=401, headers={"HX-Redirect": login})
    return RedirectResponse(login, status_code=303)


def _path_of(request: Request) -> str:
    """The page an HTMX request came from, as a local path (where to return after login)."""
    parts = urlsplit(request.headers.get("hx-current-url", ""))
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def _too_many(request: Request, exc: TooManyAttempts) -> Response:
    headers = {"Retry-After": str(exc.retry_after)}
    return error_response(request, 429, exc.message, headers=headers, code=exc.code)
