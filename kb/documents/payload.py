"""An ingestion job's payload: its files' names, stored inputs and upload metadata as JSON."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from kb.context import KnowledgeBase
from kb.documents.ingestion import DocumentMeta, IngestItem
from kb.models import IngestJob
from kb.queue.payloads import read_input


def meta_json(meta: DocumentMeta) -> dict[str, Any]:
    out = asdict(meta)
    out["tags"] = list(meta.tags)
    for key in ("valid_from", "valid_to"):
        out[key] = out[key].isoformat() if out[key] else None
    return out


def job_items(kb: KnowledgeBase, job: IngestJob) -> list[IngestItem]:
    items = []
    for entry in (job.payload or {}).get("files", []):
        meta = dict(entry["meta"])
        meta["tags"] = tuple(meta["tags"])
        for key in ("valid_from", "valid_to"):
            meta[key] = date.fromisoformat(meta[key]) if meta[key] else None
        data = read_input(kb.settings, job.id, entry["input"])
        items.append(IngestItem(entry["filename"], data, DocumentMeta(**meta)))
    return items
