"""The bundled sample knowledge base (``kb/sample/``): its manifest and files as ingest items."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from kb.documents.ingestion import DocumentMeta, IngestItem

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "sample"  # kb/sample/


@dataclass(frozen=True)
class SampleKB:
    collection_items: dict[str, list[IngestItem]]
    replies: Path | None
    escalation_rules: Path | None
    user_dict: Path | None = None
    synonyms: Path | None = None


def load_sample(root: Path = SAMPLE_DIR) -> SampleKB:
    manifest: dict[str, Any] = yaml.safe_load((root / "manifest.yaml").read_text(encoding="utf-8"))
    by_collection: dict[str, list[IngestItem]] = {}
    for entry in manifest.get("documents", []):
        path = root / entry["path"]
        meta = DocumentMeta(
            doc_type=entry.get("type"),
            title=entry.get("title"),
            tags=tuple(entry.get("tags") or ()),
            product=entry.get("product"),
            language=entry.get("language"),
            valid_from=_date(entry.get("valid_from")),
            valid_to=_date(entry.get("valid_to")),
        )
        item = IngestItem(path.name, path.read_bytes(), meta)
        by_collection.setdefault(entry.get("collection") or "default", []).append(item)
    replies = manifest.get("replies")
    rules = manifest.get("escalation_rules")
    vocabulary = manifest.get("vocabulary") or {}
    return SampleKB(
        by_collection,
        root / replies if replies else None,
        root / rules if rules else None,
        root / vocabulary["user_dict"] if vocabulary.get("user_dict") else None,
        root / vocabulary["synonyms"] if vocabulary.get("synonyms") else None,
    )


def _date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))
