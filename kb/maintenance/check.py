"""``kb check``: every inconsistency between the database, the index generations, the jobs and the
embedding cache; ``--repair`` fixes what can be fixed without losing data, then checks again.

Repairs run in dependency order: the cache first (a rebuild reads it), then the rows (a rebuild
indexes them), the jobs, and last each collection's index.
"""

from __future__ import annotations

from kb.context import KnowledgeBase
from kb.documents.backfill import ingesting
from kb.documents.jobs import abandoned_jobs, fail_interrupted_jobs
from kb.maintenance.cache import check_cache
from kb.maintenance.database import check_database
from kb.maintenance.generations import check_generations, indexed_collections
from kb.maintenance.schemas import CheckReport, Finding
from kb.retrieval.vectorfill import fill_vectors
from search.index import SearchIndexError

_UNUSABLE_CACHE = ("cache-unreadable", "cache-format-newer")


def run_check(kb: KnowledgeBase, *, repair: bool = False) -> CheckReport:
    """Look (and with ``repair`` fix, then look again) at everything in ``kb``'s data directory."""
    findings = _pass(kb, repair=repair)
    if not repair:
        return CheckReport(findings=findings)
    return CheckReport(findings=findings, repaired=True, remaining=_pass(kb, repair=False))


def _pass(kb: KnowledgeBase, *, repair: bool) -> list[Finding]:
    findings = check_cache(kb, repair=repair)
    cache_usable = not any(f.kind in _UNUSABLE_CACHE and not f.repaired for f in findings)
    findings += check_database(kb, repair=repair)
    findings += _stuck_jobs(kb, repair=repair)
    if not cache_usable:
        # Opening the index store opens the cache: the generations wait for its repair.
        for f in findings:
            if f.kind in _UNUSABLE_CACHE:
                f.detail += "; the index generations were not checked"
        return findings
    for collection in indexed_collections(kb):
        findings += check_generations(kb, collection, repair=repair)
        findings += _missing_vectors(kb, collection, repair=repair)
    return findings


def _missing_vectors(kb: KnowledgeBase, collection: str, *, repair: bool) -> list[Finding]:
    """Documents switched in by keyword whose vectors no job is bringing (the embedder failed,
    or the process was killed between the phases); the repair embeds what the cache lacks."""
    try:
        waiting = kb.index_store.awaiting_vectors(collection)
    except SearchIndexError:
        return []  # the generation's own findings say what is wrong
    if not waiting or ingesting(kb, collection):
        return []
    finding = Finding(
        kind="vectors-missing",
        subject=f"collection {collection}",
        detail=f"{len(waiting)} documents are findable by keyword only: "
        + ", ".join(sorted(waiting)[:5]),
        repairable=True,
    )
    if repair:
        done = fill_vectors(kb, collection)
        finding.repaired = f"embedded the passages of {done} documents"
    return [finding]


def _stuck_jobs(kb: KnowledgeBase, *, repair: bool) -> list[Finding]:
    findings = [
        Finding(
            kind="job-stuck",
            subject=f"job {job.id}",
            detail=f"{job.status} since {job.created_at:%Y-%m-%d %H:%M:%S} "
            f"({job.stage or 'no stage'}) and no process is running it",
            repairable=True,
        )
        for job in abandoned_jobs(kb)
    ]
    if repair and findings:
        fail_interrupted_jobs(kb)
        for finding in findings:
            finding.repaired = "marked failed"
    return findings
