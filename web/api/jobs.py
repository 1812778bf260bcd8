"""Jobs: an upload queued for a worker (202 from POST /api/v1/documents), polled until it ends."""

from __future__ import annotations

from fastapi import APIRouter

from kb.accounts.access import job_for
from kb.documents.schemas import IngestJobPublic
from web.auth import PrincipalDep, requires
from web.deps import KBDep
from web.errors import error_responses

router = APIRouter(prefix="/api/v1/jobs", tags=["documents"])


@router.get(
    "/{job_id}",
    name="api_job",
    response_model=IngestJobPublic,
    responses=error_responses(401, 403, 404, 422, 429),
    dependencies=[requires("documents:read")],
)
def job_route(job_id: str, kb: KBDep, principal: PrincipalDep) -> IngestJobPublic:
    """A job's status, stage, attempts, worker and per-file results; ``finished`` once it is
    done or failed. A job into a collection the caller may not read is 404, like an unknown id."""
    return job_for(kb, principal, job_id)
