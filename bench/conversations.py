"""The conversation dev set through the real suggest path: hit@1, hit@3 and MRR@10.

Each record is a conversation (customer and agent turns, oldest first) and the entries that
answer its last customer turn. The corpus is ingested into a throw-away data dir (sharing the
embedding cache) and every conversation goes through ``kb.assist.suggest.suggest`` as the panel
sends it, with the agent's display script, so the query builder, twin collapse and the answer
order agents see are what is measured (bench/data/README.md).
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kb.assist.conversation import Turn
from kb.assist.suggest import SuggestInput, suggest
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.documents.ingestion import DocumentMeta, IngestItem, ingest_items
from kb.errors import Invalid
from kb.retrieval.evaluation import percentile
from kb.retrieval.indexing import live_chunks
from kb.retrieval.vocabulary import Vocabulary, save_vocabulary
from kb.settings import Settings
from kb.types import DisplayScript
from search.embedders.base import Embedder
from search.types import IndexedChunk

COLLECTION = "eval"
DEPTH = 10


@dataclass(frozen=True)
class EntryRef:
    """An answering entry, named so that it survives re-ingesting and re-chunking.

    A document title plus one of: an FAQ entry's question, a heading on a passage's section path,
    or a span of its text (one row of a table chunked with others).
    """

    document: str
    question: str | None = None
    section: str | None = None
    text: str | None = None

    @property
    def label(self) -> str:
        return f"{self.document} › {self.question or self.section or repr(self.text)}"

    def matches(self, chunk: IndexedChunk) -> bool:
        if chunk.document_title != self.document:
            return False
        if self.question is not None and chunk.question != self.question:
            return False
        if self.section is not None and self.section not in chunk.section:
            return False
        return self.text is None or self.text in chunk.text


@dataclass(frozen=True)
class Conversation:
    id: str
    language: str  # zh-Hans | zh-Hant | en: the customer's, and the agent's display script
    turns: tuple[Turn, ...]
    relevant: frozenset[str]
    refs: tuple[EntryRef, ...]

    @property
    def display_script(self) -> DisplayScript | None:
        return "zh-Hant" if self.language == "zh-Hant" else "zh-Hans"


def load_conversations(path: Path) -> list[Conversation]:
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            refs = tuple(EntryRef(**ref) for ref in row.get("relevant_passages", ()))
            relevant = frozenset(row.get("relevant_ids", ())) | {r.label for r in refs}
            turns = tuple(Turn(role=t["role"], text=t["text"]) for t in row["conversation"])
            if not relevant or not turns:
                raise ValueError("no answering entry or no turns")
            out.append(Conversation(str(row["id"]), row["language"], turns, relevant, refs))
        except (ValueError, KeyError, TypeError) as exc:
            raise Invalid(f"{path.name} line {n}: not a conversation ({exc})") from exc
    return out


def entry_id(chunk: IndexedChunk, refs: Sequence[EntryRef]) -> str:
    label = next((ref.label for ref in refs if ref.matches(chunk)), None)
    return label or chunk.external_id or chunk.chunk_id


def run_conversations(
    kb: KnowledgeBase, conversations: Sequence[Conversation], collection: str = COLLECTION
) -> dict[str, Any]:
    """Every conversation through ``suggest``; hit@1, hit@3, MRR@10, overall and by language."""
    with session_scope(kb.engine) as session:
        chunks = {c.chunk_id: c for c in live_chunks(session, collection)}
    each: dict[str, dict[str, Any]] = {}
    latencies = []
    for conv in conversations:
        start = time.perf_counter()
        body = suggest(
            kb,
            SuggestInput(
                conversation=conv.turns,
                collection=collection,
                display_script=conv.display_script,
                limit=DEPTH,
            ),
        )
        latencies.append((time.perf_counter() - start) * 1000)
        ranked = [entry_id(chunks[a.id], conv.refs) for a in body.answers]
        first = next((i for i, pid in enumerate(ranked, 1) if pid in conv.relevant), None)
        each[conv.id] = {
            "language": conv.language,
            "chars": sum(len(t.text) for t in conv.turns),
            "first_relevant_rank": first,
            "query": body.query,
            "top": ranked[:3],
            "confidence": [a.confidence for a in body.answers[:3]],
        }
    result: dict[str, Any] = {"queries": len(conversations), **_scores(each.values())}
    result["by_language"] = {
        lang: {"queries": len(rows), **_scores(rows)}
        for lang in sorted({row["language"] for row in each.values()})
        if (rows := [row for row in each.values() if row["language"] == lang])
    }
    long = [row for row in each.values() if row["chars"] > 300]
    result["over_300_chars"] = {"queries": len(long), **_scores(long)}
    result["p50_ms"] = round(statistics.median(latencies), 2)
    result["p95_ms"] = percentile(latencies, 95)
    result["per_query"] = each
    return result


def _scores(rows: Any) -> dict[str, float]:
    ranks = [row["first_relevant_rank"] for row in rows]
    if not ranks:
        return {"hit@1": 0.0, "hit@3": 0.0, "mrr@10": 0.0}
    return {
        "hit@1": round(sum(r == 1 for r in ranks) / len(ranks), 4),
        "hit@3": round(sum(r is not None and r <= 3 for r in ranks) / len(ranks), 4),
        "mrr@10": round(sum(1 / r for r in ranks if r and r <= DEPTH) / len(ranks), 4),
    }


def evaluate_conversations(
    settings: Settings,
    corpus: Path | Sequence[IngestItem],
    conversations_path: Path,
    *,
    vocabulary: Vocabulary | None = None,
    embedder: Embedder | None = None,
) -> dict[str, Any]:
    """Ingest ``corpus`` into a throw-away data dir and score every conversation.

    ``embedder`` is the running one (None: built from settings), as in ``kb eval``."""
    conversations = load_conversations(conversations_path)
    if isinstance(corpus, Path):
        items = [IngestItem(corpus.name, corpus.read_bytes(), DocumentMeta(doc_type="faq"))]
    else:
        items = list(corpus)
    with tempfile.TemporaryDirectory(prefix="kb-eval-conv-") as tmp:
        largest = max(len(item.data) for item in items)
        kb = KnowledgeBase(
            settings.model_copy(
                update={
                    "data_dir": Path(tmp),
                    "database_url": None,
                    "cache_dir": settings.embedding_cache_path.parent,
                    "max_upload_bytes": max(settings.max_upload_bytes, largest + 1),
                }
            ),
            embedder=embedder,
        )
        try:
            if vocabulary is not None:
                save_vocabulary(kb, vocabulary)
            results = ingest_items(kb, items, collection=COLLECTION)
            for item, outcome in zip(items, results, strict=True):
                if outcome.status == "failed":
                    raise Invalid(f"{item.filename}: {outcome.reason}", field="corpus")
            result = run_conversations(kb, conversations)
        finally:
            kb.close()
    result.update(
        {
            "corpus": str(corpus) if isinstance(corpus, Path) else [i.filename for i in items],
            "queries_file": str(conversations_path),
            "chunks": sum(r.chunks for r in results),
            "embedder": settings.embedder,
        }
    )
    return result
