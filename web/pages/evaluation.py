"""Evaluation page: upload a golden set, watch its run (kb.retrieval.evaluation_jobs: in this
process, or a queued job with workers)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from kb.accounts.principal import Principal
from kb.context import KnowledgeBase
from kb.errors import KBError
from kb.retrieval.evaluation_jobs import begin_run, find_run, recent_runs
from kb.retrieval.evaluation_runs import MODES, EvaluationRun
from web.auth import PrincipalDep
from web.deps import KBDep
from web.pages.forms import Errors, field_errors, form_errors, read_upload
from web.rendering import HtmxDep, RendererDep

router = APIRouter(prefix="/kb", include_in_schema=False)


@router.get("/evaluation", name="kb_evaluation")
def evaluation_page(
    request: Request, kb: KBDep, principal: PrincipalDep, render: RendererDep
) -> Response:
    """The upload form and the latest runs (of people who may read no more than this one)."""
    context = _context(kb, principal, run=None)
    return render.page(request, "evaluation.html", context, block="run")


@router.post("/evaluation", name="kb_evaluation_start")
def start_evaluation(
    request: Request,
    kb: KBDep,
    principal: PrincipalDep,
    render: RendererDep,
    htmx: HtmxDep,
    corpus: Annotated[UploadFile | None, File()] = None,
    queries: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Validate the golden set and start the run; HTMX gets its polling panel."""
    limit = kb.settings.max_upload_bytes

    def refused(exc: KBError) -> dict[str, Any]:
        return _context(kb, principal, run=None, errors=field_errors(exc, "corpus"))

    with form_errors("evaluation.html", "run", refused, catch=KBError):
        corpus_name, corpus_data = _read(corpus, "corpus", limit)
        queries_name, queries_data = _read(queries, "queries", limit)
        run = begin_run(
            kb, corpus_data, corpus_name, queries_data, queries_name,
            limited_to=principal.readable_collections,
        )  # fmt: skip
    if not htmx.wants_fragment:
        url = request.app.url_path_for("kb_evaluation_run", run_id=run.id)
        return RedirectResponse(url, status_code=303)
    context = _context(kb, principal, run=run)
    return render.page(request, "evaluation.html", context, block="run")


@router.get("/evaluation/{run_id}", name="kb_evaluation_run")
def run_page(
    run_id: str, request: Request, kb: KBDep, principal: PrincipalDep, render: RendererDep
) -> Response:
    """One run: progress while it works (HTMX polls this block), then its metrics."""
    run = find_run(kb, run_id, principal.readable_collections)
    context = _context(kb, principal, run=run)
    return render.page(request, "evaluation.html", context, block="run")


def _read(file: UploadFile | None, field: str, limit: int) -> tuple[str, bytes]:
    return read_upload(file, limit, field=field, missing=f"choose the {field} file (.jsonl)")


def _context(
    kb: KnowledgeBase,
    principal: Principal,
    *,
    run: EvaluationRun | None,
    errors: Errors | None = None,
) -> dict[str, Any]:
    return {
        "run": run,
        "recent": recent_runs(kb, principal.readable_collections),
        "modes": MODES,
        "errors": errors or {},
    }
