"""POST /api/v1/search."""

from __future__ import annotations

from fastapi import APIRouter

from kb.retrieval.schemas import SearchBody, SearchResponse
from kb.retrieval.searching import search_body
from web.auth import PrincipalDep, readable, requires
from web.deps import KBDep
from web.errors import error_responses

router = APIRouter(prefix="/api/v1", tags=["search"], dependencies=[requires("search")])


@router.post(
    "/search",
    response_model=SearchResponse,
    responses=error_responses(401, 403, 404, 409, 422, 429),
)
def search_route(body: SearchBody, kb: KBDep, principal: PrincipalDep) -> SearchResponse:
    """Hybrid (BM25 + vector) search; every hit cites document, version, section and page."""
    readable(principal, body.collection or kb.settings.default_collection)
    return search_body(kb, body)
