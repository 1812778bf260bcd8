"""Quality on the dev query sets: hybrid next to BM25-only and vector-only from the same run.

Runs the real `kb eval` path (kb.evaluation.evaluate) once per set and writes
bench/results/eval_<set>.json. The embedding cache is kept in --cache (query vectors too), so
reruns are fast.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.conversations import evaluate_conversations
from bench.eval_sets import DEFAULT, NAMES, SHARED, EvalSet, load_set
from bench.machine import machine_info
from bench.query_vectors import stored_queries
from kb.retrieval.evaluation import evaluate
from kb.settings import Settings
from search.embedders.base import Embedder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/bench/data"))
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--cache", type=Path, default=Path("data/bench-cache"))
    parser.add_argument("--sets", nargs="*", default=DEFAULT, choices=NAMES)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    settings = Settings(cache_dir=args.cache)
    embedder = stored_queries(settings)  # one model for every set
    with tempfile.TemporaryDirectory(prefix="kb-eval-sets-") as scratch:
        for name in args.sets:
            run_set(name, args, settings, embedder, Path(scratch))


def run_set(
    name: str, args: argparse.Namespace, settings: Settings, embedder: Embedder, scratch: Path
) -> None:
    """Evaluate one set in three modes and write bench/results/eval_<name>.json."""
    chosen = load_set(name, args.data, scratch)
    if chosen.conversations:
        run_conversation_set(chosen, args, settings, embedder)
        return
    ours = name not in SHARED
    start = time.perf_counter()
    result = evaluate(
        settings,
        chosen.corpus,
        chosen.queries,
        modes=("hybrid", "bm25", "vector"),
        vocabulary=chosen.vocabulary,
        per_query=ours,
        embedder=embedder,
    )
    result["set"] = name
    result["wall_s"] = round(time.perf_counter() - start, 1)
    result["machine"] = machine_info()
    if ours:
        result["vector_first"] = vector_first(result)
    (args.out / f"eval_{name}.json").write_text(
        json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    b = result["baselines"]
    print(
        f"{name}: hybrid MRR@10 {result['mrr@10']:.3f} R@10 {result['recall@10']:.3f} | "
        f"bm25 {b['bm25']['mrr@10']:.3f}/{b['bm25']['recall@10']:.3f} | "
        f"vector {b['vector']['mrr@10']:.3f}/{b['vector']['recall@10']:.3f} | "
        f"embedding skipped {result['embedding_skipped_share']:.1%}"
        + (f" | vector-first {result['vector_first']}" if ours else ""),
        flush=True,
    )


def run_conversation_set(
    chosen: EvalSet, args: argparse.Namespace, settings: Settings, embedder: Embedder
) -> None:
    """Score a conversation set through suggest; write bench/results/eval_<name>.json."""
    start = time.perf_counter()
    result = evaluate_conversations(
        settings,
        chosen.corpus,
        chosen.queries,
        vocabulary=chosen.vocabulary,
        embedder=embedder,
    )
    result["set"] = chosen.name
    result["wall_s"] = round(time.perf_counter() - start, 1)
    result["machine"] = machine_info()
    (args.out / f"eval_{chosen.name}.json").write_text(
        json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    langs = ", ".join(
        f"{lang} {row['hit@1']:.3f}/{row['hit@3']:.3f}"
        for lang, row in result["by_language"].items()
    )
    print(
        f"{chosen.name}: suggest hit@1 {result['hit@1']:.3f} hit@3 {result['hit@3']:.3f} "
        f"MRR@10 {result['mrr@10']:.3f} | {langs}",
        flush=True,
    )


def vector_first(result: dict[str, Any]) -> dict[str, Any]:
    """Of the queries vector-only answers at rank 1, how many hybrid answers in its top 3."""
    hybrid = result["per_query"]
    dense = result["baselines"]["vector"]["per_query"]
    firsts = [qid for qid, row in dense.items() if row["first_relevant_rank"] == 1]
    kept = [q for q in firsts if (hybrid[q]["first_relevant_rank"] or 99) <= 3]
    missed = sorted(set(firsts) - set(kept))
    return {"vector_rank_1": len(firsts), "hybrid_top_3": len(kept), "missed": missed}


if __name__ == "__main__":
    main()
