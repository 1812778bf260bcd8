"""Calibrate the confidence badges on the scores suggestions are ranked by (README, "Confidence").

bench/calibrate.py calibrated the margins on plain hybrid search. A suggestion's answers score
the mean of two searches (kb/assist/ranking.py: the bounded query and the question alone) after
twins are collapsed, a different scale: this runs the same calibration on those scores, so a
badge keeps the precision it was calibrated to (high: top-1 right >= 90 %, medium >= 80 %).

Rows: every conversation of the conversation dev set (bench/data/conversations, sample KB and
tara) and every tara dev question (both scripts) asked as a one-turn conversation, each through
``build_query`` and ``rank_answers`` as ``suggest`` runs them. For each, the top answer's cosine
and its margin over the next different answer (kb.retrieval.confidence.top_margin), and whether
it is right. The cosine floor is the 5th percentile of right answers' cosine, as before.

Writes bench/results/calibration_suggest.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.calibrate import _summary, margin_threshold
from bench.conversations import COLLECTION, entry_id, load_conversations
from bench.eval_sets import OURS, SHARED, sample_corpus
from bench.machine import machine_info
from bench.query_vectors import stored_queries
from kb.assist.conversation import Turn, build_query
from kb.assist.ranking import rank_answers
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.documents.ingestion import DocumentMeta, IngestItem, ingest_items
from kb.retrieval.confidence import top_margin
from kb.retrieval.evaluation import load_queries
from kb.retrieval.indexing import live_chunks
from kb.retrieval.vocabulary import save_vocabulary
from kb.settings import Settings
from search.types import SearchFilters

Row = tuple[float, float, bool]  # (top cosine, top margin, right)


def signals(
    kb: KnowledgeBase, cases: Iterable[tuple[list[Turn], frozenset[str], Any, str | None]]
) -> list[Row]:
    """(cosine, margin, right) of each case's top answer, ranked as ``suggest`` ranks."""
    with session_scope(kb.engine) as session:
        chunks = {c.chunk_id: c for c in live_chunks(session, COLLECTION)}
    rows = []
    for turns, relevant, refs, script in cases:
        plan = build_query(turns)
        if not plan.query.strip():
            continue  # a question of punctuation only: suggest refuses it
        ranked = rank_answers(
            kb, plan, collection=COLLECTION, filters=SearchFilters(), limit=10,
            display_script=script,  # type: ignore[arg-type]
        )  # fmt: skip
        hits = [a.hit for a in ranked]
        if hits:
            right = entry_id(chunks[hits[0].chunk.chunk_id], refs) in relevant
            rows.append((float(hits[0].vector_score or 0.0), top_margin(hits), right))
    return rows


def run_corpus(
    settings: Settings, items: list[IngestItem], cases: list[Any], vocabulary: Any = None
) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="kb-calibrate-") as tmp:
        largest = max(len(item.data) for item in items)
        kb = KnowledgeBase(
            settings.model_copy(
                update={
                    "data_dir": Path(tmp),
                    "max_upload_bytes": largest + settings.max_upload_bytes,
                }
            ),
            embedder=stored_queries(settings),
        )
        try:
            if vocabulary is not None:
                save_vocabulary(kb, vocabulary)
            ingest_items(kb, items, collection=COLLECTION)
            return signals(kb, cases)
        finally:
            kb.close()


def badges(rows: list[Row], settings: Settings) -> dict[str, Any]:
    """Top-1 precision and share of each badge the top answer gets with ``settings``."""
    out = {}
    for name in ("high", "medium", "low"):
        kept = [ok for cos, margin, ok in rows if _badge(cos, margin, settings) == name]
        out[name] = {
            "precision": round(sum(kept) / len(kept), 3) if kept else None,
            "share": round(len(kept) / len(rows), 3),
        }
    return out


def _badge(cosine: float, margin: float, s: Settings) -> str:
    if cosine < s.confidence_min_cosine:
        return "low"
    if margin >= s.confidence_high_margin:
        return "high"
    return "medium" if margin >= s.confidence_medium_margin else "low"


def report(rows: list[Row], high: float, medium: float, settings: Settings) -> dict[str, Any]:
    floor = round(float(np.percentile([c for c, _, ok in rows if ok], 5)), 3)
    return {
        "badges_at_settings": badges(rows, settings),
        "queries": len(rows),
        "top1_precision_overall": round(sum(ok for *_, ok in rows) / len(rows), 3),
        "min_cosine": floor,
        "high_margin": margin_threshold(rows, floor, high),
        "medium_margin": margin_threshold(rows, floor, medium),
        "cosine_correct": _summary([c for c, _, ok in rows if ok]),
        "cosine_wrong": _summary([c for c, _, ok in rows if not ok]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/bench/data"))
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--cache", type=Path, default=Path("data/bench-cache"))
    parser.add_argument("--high-precision", type=float, default=0.9)
    parser.add_argument("--medium-precision", type=float, default=0.8)
    args = parser.parse_args()
    settings = Settings(cache_dir=args.cache)

    def conversations(name: str) -> list[Any]:
        return [
            (list(c.turns), c.relevant, c.refs, c.display_script)
            for c in load_conversations(OURS / "conversations" / name)
        ]

    items, vocabulary = sample_corpus()
    sample_rows = run_corpus(settings, items, conversations("sample_kb.jsonl"), vocabulary)
    tara_path = args.data / SHARED["tara_dingtalk"][0]
    tara_items = [IngestItem(tara_path.name, tara_path.read_bytes(), DocumentMeta(doc_type="faq"))]
    questions = [
        ([Turn("customer", q.text)], frozenset(q.relevant), (), None)
        for name in ("tara_dingtalk/queries_dev.jsonl", "tara_dingtalk/queries_dev_hant.jsonl")
        for q in load_queries(args.data / name)
    ]
    tara_conv = conversations("tara.jsonl")
    tara_rows = run_corpus(settings, tara_items, tara_conv + questions)
    conv_rows = sample_rows + tara_rows[: len(tara_conv)]
    result = {
        "machine": machine_info(),
        "all": report(
            sample_rows + tara_rows, args.high_precision, args.medium_precision, settings
        ),
        "conversations": report(conv_rows, args.high_precision, args.medium_precision, settings),
        "tara_questions": report(
            tara_rows[len(tara_conv) :], args.high_precision, args.medium_precision, settings
        ),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "calibration_suggest.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
