"""Retrieval quality: ingest a corpus into a fresh collection and score every query (DESIGN.md)."""

from __future__ import annotations

import json
import math
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kb.context import KnowledgeBase
from kb.documents.ingestion import DocumentMeta, IngestItem, ingest_items
from kb.errors import Invalid
from kb.retrieval.searching import Mode, SearchRequest, search_result
from kb.retrieval.vocabulary import Vocabulary, save_vocabulary, vocabulary_size
from kb.settings import Settings
from search.embedders.base import Embedder
from search.types import IndexedChunk

EVAL_COLLECTION = "eval"
KS = (1, 5, 10)


@dataclass(frozen=True)
class PassageRef:
    """A relevant passage of a structured document: its title plus a heading on its path or a span.

    For manuals, whose chunks have no stable external ids, so relevance survives re-chunking.
    """

    document: str
    section: str | None = None
    text: str | None = None

    @property
    def label(self) -> str:
        return f"{self.document} › {self.section or repr(self.text)}"

    def matches(self, chunk: IndexedChunk) -> bool:
        if chunk.document_title != self.document:
            return False
        if self.section is not None and self.section not in chunk.section:
            return False
        return self.text is None or self.text in chunk.text


@dataclass(frozen=True)
class Query:
    id: str
    text: str
    relevant: frozenset[str]
    passages: tuple[PassageRef, ...] = ()


def load_queries(path: Path) -> list[Query]:
    queries = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            refs = tuple(PassageRef(**ref) for ref in row.get("relevant_passages", ()))
            relevant = frozenset(row.get("relevant_ids", ())) | {ref.label for ref in refs}
            if not relevant:
                raise ValueError("no relevant_ids or relevant_passages")
            queries.append(Query(str(row["id"]), row["query"], relevant, refs))
        except (ValueError, KeyError, TypeError) as exc:
            raise Invalid(
                f"{path.name} line {n}: not a query record ({exc})", field="queries"
            ) from exc
    if not queries:
        raise Invalid(f"{path.name} holds no queries", field="queries")
    return queries


def score_ranking(ranked: Sequence[str], relevant: frozenset[str]) -> dict[str, float]:
    """Recall@k, MRR@10 and binary nDCG@10 of one ranked list of passage ids."""
    top = list(ranked[:10])
    out = {f"recall@{k}": len(relevant & set(ranked[:k])) / len(relevant) for k in KS}
    first = next((i for i, pid in enumerate(top) if pid in relevant), None)
    out["mrr@10"] = 0.0 if first is None else 1.0 / (first + 1)
    dcg = sum(1.0 / math.log2(i + 2) for i, pid in enumerate(top) if pid in relevant)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(relevant), 10)))
    out["ndcg@10"] = dcg / ideal if ideal else 0.0
    return out


def run_queries(
    kb: KnowledgeBase, queries: Sequence[Query], mode: Mode, *, per_query: bool = False
) -> dict[str, Any]:
    """Every query through the real search path; metrics averaged, latency percentiles in ms.

    ``per_query`` adds each query's metrics and the rank of its first relevant passage.
    """
    totals: dict[str, float] = {}
    latencies = []
    each: dict[str, dict[str, Any]] = {}
    skipped = 0
    for q in queries:
        start = time.perf_counter()
        request = SearchRequest(
            q.text, collection=EVAL_COLLECTION, limit=20, mode=mode, may_degrade=False
        )
        outcome = search_result(kb, request)
        latencies.append((time.perf_counter() - start) * 1000)
        hits = outcome.hits
        skipped += outcome.embedding_skipped
        ranked = _dedupe(passage_id(h.chunk, q.passages) for h in hits)
        scores = score_ranking(ranked, q.relevant)
        for name, value in scores.items():
            totals[name] = totals.get(name, 0.0) + value
        if per_query:
            first = next((i for i, pid in enumerate(ranked, start=1) if pid in q.relevant), None)
            each[q.id] = {**scores, "first_relevant_rank": first}
    result: dict[str, Any] = {"queries": len(queries), "mode": mode}
    result.update({name: round(total / len(queries), 4) for name, total in totals.items()})
    result["p50_ms"] = round(statistics.median(latencies), 2)
    result["p95_ms"] = percentile(latencies, 95)
    # Hybrid searches served by BM25 alone (KB_SKIP_EMBEDDING): their share of the queries.
    result["embedding_skipped_share"] = round(skipped / len(queries), 4)
    if per_query:
        result["per_query"] = each
    return result


def evaluate(
    settings: Settings,
    corpus: Path | Sequence[IngestItem],
    queries_path: Path,
    *,
    modes: Sequence[Mode] = ("hybrid",),
    on_index: Callable[[int, int], None] | None = None,
    vocabulary: Vocabulary | None = None,
    per_query: bool = False,
    embedder: Embedder | None = None,
) -> dict[str, Any]:
    """Ingest ``corpus`` into a throw-away data dir (sharing the embedding cache) and score.

    ``corpus`` is one FAQ file or a list of documents with their metadata (e.g. the sample KB).
    ``vocabulary`` (a knowledge base's edited one) is applied on top of the settings' files,
    so a knowledge manager can measure what their words and synonyms do. ``embedder`` is the
    running knowledge base's (not a second model loaded), or the benches' stored query vectors;
    None makes one from the settings.
    """
    queries = load_queries(queries_path)
    if isinstance(corpus, Path):
        items = [IngestItem(corpus.name, corpus.read_bytes(), DocumentMeta(doc_type="faq"))]
    else:
        items = list(corpus)
    with tempfile.TemporaryDirectory(prefix="kb-eval-") as tmp:
        largest = max(len(item.data) for item in items)
        eval_settings = settings.model_copy(
            update={
                "data_dir": Path(tmp),
                "database_url": None,
                "cache_dir": settings.embedding_cache_path.parent,
                "max_upload_bytes": max(settings.max_upload_bytes, largest + 1),
            }
        )
        kb = KnowledgeBase(eval_settings, embedder=embedder)
        try:
            if vocabulary is not None:
                save_vocabulary(kb, vocabulary)  # nothing is indexed yet: this only stores it
            start = time.perf_counter()
            results = ingest_items(kb, items, collection=EVAL_COLLECTION, on_index=on_index)
            for item, result in zip(items, results, strict=True):
                if result.status == "failed":
                    raise Invalid(f"{item.filename}: {result.reason}", field="corpus")
            ingest_s = time.perf_counter() - start
            runs = {mode: run_queries(kb, queries, mode, per_query=per_query) for mode in modes}
        finally:
            kb.close()
    main = dict(runs[modes[0]])
    main.update(
        {
            "corpus": str(corpus) if isinstance(corpus, Path) else [i.filename for i in items],
            "queries_file": str(queries_path),
            "chunks": sum(r.chunks for r in results),
            "ingest_s": round(ingest_s, 2),
            "embedder": settings.embedder,
            "fusion": settings.fusion_config.as_dict(),
            "skip_embedding": rule.as_dict() if (rule := settings.skip_rule) else None,
            "vocabulary": vocabulary_size(vocabulary or Vocabulary()),
        }
    )
    if len(modes) > 1:
        main["baselines"] = {mode: runs[mode] for mode in modes[1:]}
    return main


def passage_id(chunk: IndexedChunk, refs: Sequence[PassageRef]) -> str:
    """The label of the first reference ``chunk`` matches, else its passage id."""
    label = next((ref.label for ref in refs if ref.matches(chunk)), None)
    return label or chunk.external_id or chunk.chunk_id


def _dedupe(ids: Any) -> list[str]:
    seen: dict[str, None] = {}
    for pid in ids:
        seen.setdefault(pid, None)
    return list(seen)


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile, rounded to 2 places (evaluation and analytics); None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(pct / 100 * len(ordered)) - 1))
    return round(ordered[index], 2)
