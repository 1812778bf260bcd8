"""Hit test: a query's ranked chunks with BM25, vector and fused scores side by side."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from kb.accounts.access import default_collection, readable, readable_collections
from kb.errors import KBError
from kb.retrieval.schemas import MAX_SEARCH_LIMIT
from kb.retrieval.searching import SearchRequest, query_terms, search
from kb.types import SEARCH_MODES, SearchMode
from web.auth import PrincipalDep
from web.deps import KBDep
from web.pages.forms import form_errors
from web.rendering import RendererDep

router = APIRouter(prefix="/kb", include_in_schema=False)

LIMITS = (5, 10, 20, 50)
# The search service names its input "query"; the form calls it "q".
_FORM_FIELD = {"query": "q"}


@router.get("/hit-test", name="kb_hit_test")
def hit_test(
    request: Request,
    kb: KBDep,
    principal: PrincipalDep,
    render: RendererDep,
    q: str = "",
    collection: str = "",
    mode: SearchMode = "hybrid",
    limit: Annotated[int, Query(ge=1, le=MAX_SEARCH_LIMIT)] = 10,
) -> Response:
    """The form and, for a query, its hits (HTMX: the hits only); readable collections only."""
    collection = readable(principal, collection or default_collection(kb, principal))
    context: dict[str, Any] = {
        "q": q,
        "collection": collection,
        "collections": readable_collections(kb, principal) or [collection],
        "mode": mode,
        "modes": SEARCH_MODES,
        "limit": limit,
        "limits": LIMITS,
        "hits": [],
        "terms": [],
        "errors": {},
    }

    def refused(exc: KBError) -> dict[str, Any]:
        field = _FORM_FIELD.get(exc.field or "query", exc.field or "q")
        return {**context, "errors": {field: exc.message}}

    if q.strip():
        with form_errors("hit_test.html", "hits", refused, catch=KBError, status_code=None):
            # Both signals of every hit, always: the page is there to show how each ranked.
            asked = SearchRequest(
                q, collection, limit, mode=mode, may_skip=False, may_degrade=False
            )
            context["hits"] = search(kb, asked)
        context["terms"] = query_terms(kb, collection, q)
    return render.page(request, "hit_test.html", context, block="hits")
