"""GET /api/v1/sources/{chunk_id}: a cited passage with its neighbours, for the CRM."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query

from kb.assist.script import convert
from kb.documents.sources import DEFAULT_AROUND, MAX_AROUND, SourceView, read_source
from kb.types import DisplayScript
from web.auth import PrincipalDep, requires
from web.deps import KBDep
from web.errors import error_responses

# The scope of search: a key that may search reads these passages in its hits already.
router = APIRouter(prefix="/api/v1", tags=["search"], dependencies=[requires("search")])


@router.get(
    "/sources/{chunk_id}",
    response_model=SourceView,
    responses=error_responses(401, 403, 404, 422, 429),
)
def source_route(
    chunk_id: str,
    kb: KBDep,
    principal: PrincipalDep,
    around: Annotated[
        int, Query(ge=0, le=MAX_AROUND, description="Neighbouring passages either side.")
    ] = DEFAULT_AROUND,
    display_script: Annotated[
        DisplayScript | None, Query(description="Convert the text; default: as stored.")
    ] = None,
) -> SourceView:
    """The passage an answer or hit cites (its `id`), with `around` neighbours either side in
    the same document version, the document's title, version, section path and page. A chunk
    outside the key's collections is 404, exactly as an unknown id."""
    view = read_source(kb, chunk_id, collections=principal.readable_collections, around=around)
    return view.converted(partial(convert, script=display_script)) if display_script else view
