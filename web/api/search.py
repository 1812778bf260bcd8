"""POST /api/v1/search."""

from __future__ import annotations

import time

from fastapi import APIRouter

from kb.retrieval.schemas import SearchBody, SearchResponse
from kb.retrieval.searching import SearchRequest, hit_to_dict, search
from web.deps import KBDep
from web.errors import error_responses

router = APIRouter(prefix="/api/v1", tags=["search"])


@router.post("/search", response_model=SearchResponse, responses=error_responses(404, 409, 422))
def search_route(body: SearchBody, kb: KBDep) -> dict[str, object]:
    """Hybrid (BM25 + vector) search; every hit cites document, version, section and page."""
    start = time.perf_counter()
    filters = body.filters.to_search_filters()
    request = SearchRequest(body.query, body.collection, body.limit, filters, body.mode)
    hits = search(kb, request)
    took = (time.perf_counter() - start) * 1000
    return {"query": body.query, "hits": [hit_to_dict(h) for h in hits], "took_ms": round(took, 2)}
