"""A cited passage for agents (``/assist/sources/{chunk_id}``): read-only, with its neighbours.

The panel's citations load it with HTMX into a dialog over the panel, so an embedded panel
(whose token rides only in the ``X-Embed-Token`` header, ``web/embed.py``) reads it without
leaving the iframe; opened as a page of its own (a signed-in agent's new tab) it is the same
template whole. Any signed-in role may read it, only for collections they may read.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from kb.assist.script import convert
from kb.documents.sources import DEFAULT_AROUND, MAX_AROUND, read_source
from web.auth import PrincipalDep
from web.deps import KBDep
from web.pages.assist import chosen_script
from web.rendering import HtmxDep, RendererDep

router = APIRouter(prefix="/assist", include_in_schema=False)
# What "更多上下文" adds either side each time it is pressed.
MORE_STEP = 3


@router.get("/sources/{chunk_id}", name="assist_source")
def source_page(
    chunk_id: str,
    request: Request,
    kb: KBDep,
    principal: PrincipalDep,
    render: RendererDep,
    htmx: HtmxDep,
    around: Annotated[int, Query(ge=0, le=MAX_AROUND)] = DEFAULT_AROUND,
    script: str = "",
) -> Response:
    """The passage with ``around`` neighbours either side (HTMX: the dialog only)."""
    chosen = chosen_script(request, script)
    view = read_source(
        kb, chunk_id, collections=principal.readable_collections, around=around
    ).converted(partial(convert, script=chosen))
    context = {
        "source": view,
        "script": chosen,
        "around": around,
        "more": min(around + MORE_STEP, MAX_AROUND),
        "in_dialog": htmx.wants_fragment,
    }
    return render.page(request, "source.html", context, block="source")
