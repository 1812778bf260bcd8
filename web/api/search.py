"""POST /api/v1/search."""

from __future__ import annotations

from fastapi import APIRouter

from kb.accounts.access import collection_for
from kb.retrieval.schemas import SearchBody, SearchResponse
from kb.retrieval.searching import search_body
from web.auth import PrincipalDep, requires
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
    collection = collection_for(kb, principal, body.collection)
    return search_body(kb, body.model_copy(update={"collection": collection}))
