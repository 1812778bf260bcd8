"""POST /api/v1/embed-tokens: the CRM's server mints a token that opens the panel in its iframe."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request

from kb.accounts.embed import mint_embed_token
from kb.accounts.schemas import EmbedTokenBody, EmbedTokenOut
from web.auth import PrincipalDep, requires_key
from web.deps import KBDep
from web.embed import EMBED_QUERY, ENTRY_ROUTE
from web.errors import error_responses

router = APIRouter(prefix="/api/v1", tags=["embed"])


@router.post(
    "/embed-tokens",
    status_code=201,
    response_model=EmbedTokenOut,
    responses=error_responses(401, 403, 422, 429),
    dependencies=[requires_key("embed")],
)
def mint_route(
    body: EmbedTokenBody, request: Request, kb: KBDep, principal: PrincipalDep
) -> EmbedTokenOut:
    """A short-lived signed token for one agent; only an API key with the scope ``embed`` mints
    one (a person cannot: revoking the key must end its tokens). Open ``panel_url`` in an
    iframe; the token opens the panel and nothing else."""
    grant = mint_embed_token(
        kb, issuer=principal, agent=body.agent, collections=body.collections, minutes=body.minutes
    )
    path = request.scope.get("root_path", "") + request.app.url_path_for(ENTRY_ROUTE)
    return EmbedTokenOut(
        token=grant.token,
        agent=grant.claims.agent,
        collections=grant.claims.collections,
        expires_at=grant.claims.expires_at,
        panel_url=f"{path}?{urlencode({EMBED_QUERY: grant.token})}",
    )
