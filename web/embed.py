"""The panel inside a CRM's iframe: who an embed token says the caller is, and only there.

The CRM's server mints a token (``POST /api/v1/embed-tokens``) and opens ``/assist?embed=TOKEN``
in its iframe. The page carries the token in ``<meta name="embed-token">``; ``web/static/app.js``
puts it in ``X-Embed-Token`` on every HTMX request and on the feedback ``fetch``. The token is
read on the panel's routes and nowhere else: on the console or the API it is no credential at
all, so it opens nothing there (a page answers with the login form, the API with 401).

Why no CSRF token: CSRF abuses credentials the browser attaches by itself (a cookie). The embed
token is never ambient: on the sub-routes it travels only in a header our own script sets from
the page, which another site can neither read (same-origin policy) nor make the browser add to
a cross-site form or link (custom headers force a CORS preflight, which we never allow). A
request that carries it has shown exactly what a CSRF token shows: it came from our page. The
entry ``GET /assist?embed=`` is a safe method; whoever holds the URL holds the token anyway.
"""

from __future__ import annotations

from fastapi import Request

from kb.accounts.embed import verify_embed_token
from kb.accounts.principal import Principal
from kb.accounts.schemas import EmbedClaims
from kb.context import KnowledgeBase
from kb.errors import EmbedRefused, Forbidden

EMBED_HEADER = "X-Embed-Token"
EMBED_QUERY = "embed"
ENTRY_ROUTE = "assist"
# The panel and its HTMX sub-routes (a cited source too): the only routes an embed token opens.
PANEL_ROUTES = frozenset(
    {ENTRY_ROUTE, "assist_suggest", "assist_search", "assist_feedback", "assist_source"}
)
# Sec-Fetch-Dest values the panel's entry accepts with a token (see ``_check_framed``).
FRAMED = frozenset({"iframe"})


def embed_principal(kb: KnowledgeBase, request: Request) -> Principal | None:
    """The embedded agent on a panel route that offers a token; None where none is offered (or
    off the panel, where a token counts for nothing). A bad token is refused, never ignored:
    falling back to a cookie would hide from the CRM that its link is broken."""
    route = request.scope.get("route")
    if getattr(route, "name", None) not in PANEL_ROUTES:
        return None
    # Empty counts as absent: app.js sends an empty header from a panel that is not embedded.
    token = request.headers.get(EMBED_HEADER) or None
    from_url = token is None and route.name == ENTRY_ROUTE  # type: ignore[union-attr]
    if from_url:
        token = request.query_params.get(EMBED_QUERY) or None
    if token is None:
        return None
    if from_url:
        _check_framed(request)
    agent = request.query_params.get("agent") if from_url else None
    claims = verify_embed_token(kb, token=token, agent=agent or None)
    if claims is None:
        raise EmbedRefused(
            "this panel link is expired or not valid (tampered, for another agent, or its key "
            "was revoked); open the panel again from the CRM"
        )
    request.state.embed = EmbedView(token=token, claims=claims)
    return claims.principal()


def _check_framed(request: Request) -> None:
    """The rule for ``GET /assist?embed=TOKEN``: a browser that says it is navigating to a
    document of its own (``Sec-Fetch-Dest: document``, or anything but ``iframe``) is refused,
    so a token link pasted into the address bar, mailed or opened in a new tab shows nothing.

    No ``Sec-Fetch-Dest`` at all is allowed: browsers set it on every request since 2020-2023
    (a page cannot forge or remove it, it is a forbidden header), so its absence means a
    non-browser client (the CRM's server checking the link, a test, curl) or an old browser,
    and neither is clickjacking anyone; who may frame the panel is ``frame-ancestors``'s job."""
    dest = request.headers.get("sec-fetch-dest")
    if dest is not None and dest not in FRAMED:
        raise Forbidden(
            "this panel link works only inside the CRM page that frames it, "
            "not opened on its own (Sec-Fetch-Dest: {dest})",
            dest=dest,
        )


class EmbedView:
    """What the panel's page needs of its token: to carry it on, and whose it is."""

    def __init__(self, *, token: str, claims: EmbedClaims) -> None:
        self.token = token
        self.claims = claims


def embed_of(request: Request) -> EmbedView | None:
    view: EmbedView | None = getattr(request.state, "embed", None)
    return view
