"""Calibrate the suggest thresholds on data, not by hand (README, "Confidence").

1. Answer confidence: run the dev queries of a customer-service set (tara_dingtalk, both
   scripts) through the real search path and relate the top hit's signals (kb.retrieval.confidence:
   margin over the next different answer, cosine similarity) to whether it is correct.
   The cosine floor is the 5th percentile of correct answers' cosine; `high` is the smallest
   margin at which top-1 precision reaches --high-precision, `medium` --medium-precision.
2. Cue similarity (scripted replies and escalation examples): leave-one-out over the sample
   KB's cue utterances — a cue against the other cues of its own reply or rule (related)
   and against every other reply's or rule's cues (unrelated).

Writes bench/results/calibration.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import machine_info
from bench.query_vectors import stored_queries
from kb.context import KnowledgeBase
from kb.documents.ingestion import IngestItem, ingest_items
from kb.documents.samples import SAMPLE_DIR
from kb.library.escalation import examples_of
from kb.library.reply_format import parse_replies_yaml
from kb.library.rule_format import parse_rules_yaml
from kb.retrieval.confidence import top_margin
from kb.retrieval.evaluation import EVAL_COLLECTION, load_queries
from kb.retrieval.searching import SearchRequest, search
from kb.settings import Settings


def answer_signals(kb: KnowledgeBase, query_files: list[Path]) -> list[tuple[float, float, bool]]:
    """(cosine, margin, correct) of the top answer, searched as the suggest service does."""
    rows = []
    for path in query_files:
        for q in load_queries(path):
            hits = search(kb, SearchRequest(q.text, collection=EVAL_COLLECTION, limit=5))
            if hits:
                top = hits[0]
                ok = top.chunk.external_id in q.relevant
                rows.append((float(top.vector_score or 0.0), top_margin(hits), ok))
    return rows


def margin_threshold(
    rows: list[tuple[float, float, bool]], floor: float, precision: float
) -> dict[str, Any]:
    """Smallest margin t with precision(top-1 | margin >= t, cos >= floor) >= precision."""
    kept = sorted(((m, ok) for cos, m, ok in rows if cos >= floor), key=lambda r: -r[0])
    correct = 0
    best: dict[str, Any] = {"threshold": None, "precision": None, "coverage": 0.0}
    for n, (margin, ok) in enumerate(kept, start=1):
        correct += ok
        if n >= 20 and correct / n >= precision:
            best = {"threshold": round(margin, 3), "precision": round(correct / n, 3),
                    "coverage": round(n / len(rows), 3)}  # fmt: skip
    return best


def cue_groups() -> list[list[str]]:
    replies = parse_replies_yaml(
        (SAMPLE_DIR / "replies/replies.yaml").read_text("utf-8"), "replies.yaml"
    )
    rules = parse_rules_yaml(
        (SAMPLE_DIR / "playbooks/escalation.yaml").read_text("utf-8"), "escalation.yaml"
    )
    groups = [[r.title, *r.applies_to] for r in replies]
    groups += [examples_of(rule.when) for rule in rules]
    return [g for g in groups if len(g) >= 2]


def cue_similarity(kb: KnowledgeBase) -> dict[str, Any]:
    groups = cue_groups()
    texts = [t for g in groups for t in g]
    owner = np.array([i for i, g in enumerate(groups) for _ in g])
    vectors = kb.embedder.embed_queries(texts)
    sims = vectors @ vectors.T
    related, unrelated = [], []
    for i in range(len(texts)):
        same = (owner == owner[i]) & (np.arange(len(texts)) != i)
        related.append(float(sims[i][same].max()))
        unrelated.append(float(sims[i][owner != owner[i]].max()))
    return {
        "cues": len(texts),
        "groups": len(groups),
        "related_best_match": _summary(related),
        "unrelated_best_match": _summary(unrelated),
    }


def _summary(values: list[float]) -> dict[str, float]:
    a = np.asarray(values)
    return {f"p{p}": round(float(np.percentile(a, p)), 3) for p in (5, 25, 50, 75, 95)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/bench/data"))
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--cache", type=Path, default=Path("data/bench-cache"))
    parser.add_argument("--high-precision", type=float, default=0.9)
    parser.add_argument("--medium-precision", type=float, default=0.8)
    args = parser.parse_args()
    corpus = args.data / "tara_dingtalk/corpus.jsonl"
    query_files = [
        args.data / "tara_dingtalk/queries_dev.jsonl",
        args.data / "tara_dingtalk/queries_dev_hant.jsonl",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), cache_dir=args.cache)
        kb = KnowledgeBase(settings, embedder=stored_queries(settings))
        ingest_items(kb, [IngestItem(corpus.name, corpus.read_bytes())], collection=EVAL_COLLECTION)
        rows = answer_signals(kb, query_files)
        cues = cue_similarity(kb)
        kb.close()
    floor = round(float(np.percentile([c for c, _, ok in rows if ok], 5)), 3)
    result = {
        "machine": machine_info(),
        "answer_confidence": {
            "queries": len(rows),
            "top1_precision_overall": round(sum(ok for *_, ok in rows) / len(rows), 3),
            "min_cosine": floor,
            "high_margin": margin_threshold(rows, floor, args.high_precision),
            "medium_margin": margin_threshold(rows, floor, args.medium_precision),
            "cosine_correct": _summary([c for c, _, ok in rows if ok]),
            "cosine_wrong": _summary([c for c, _, ok in rows if not ok]),
        },
        "cue_similarity": cues,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "calibration.json").write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
