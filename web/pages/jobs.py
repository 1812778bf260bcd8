"""Jobs: the list of every job (kind, stage, attempts, worker) and one upload's progress panel,
each polled by HTMX while something is still at work."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kb.accounts.access import job_for, jobs_for
from web.auth import PrincipalDep
from web.deps import KBDep
from web.rendering import RendererDep

router = APIRouter(prefix="/kb", include_in_schema=False)

# Fired with the last poll so lists on the page reload once the new documents exist.
DOCUMENTS_CHANGED = "kb:documents-changed"


@router.get("/jobs/{job_id}", name="kb_job")
def job_page(
    job_id: str, request: Request, kb: KBDep, principal: PrincipalDep, render: RendererDep
) -> Response:
    """Progress and per-file results; HTMX gets the panel only. Another team's job is 404."""
    job = job_for(kb, principal, job_id)
    headers = {"HX-Trigger": DOCUMENTS_CHANGED} if job.finished else None
    return render.page(request, "job.html", {"job": job}, block="job", headers=headers)


@router.get("/jobs", name="kb_jobs")
def jobs_page(
    request: Request, kb: KBDep, principal: PrincipalDep, render: RendererDep
) -> Response:
    """The newest jobs of collections the viewer may read; HTMX gets the table only."""
    jobs = jobs_for(kb, principal)
    context = {"jobs": jobs, "working": any(not j.finished for j in jobs)}
    return render.page(request, "jobs.html", context, block="jobs")
