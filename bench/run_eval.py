"""Quality on the dev query sets: hybrid next to BM25-only and vector-only from the same run.

Runs the real `kb eval` path (kb.evaluation.evaluate) once per set and writes
bench/results/eval_<set>.json. The embedding cache is kept in --cache so reruns are fast.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import machine_info
from kb.retrieval.evaluation import evaluate
from kb.settings import Settings

SETS = {
    "tara_dingtalk": ("tara_dingtalk/corpus.jsonl", "tara_dingtalk/queries_dev.jsonl"),
    "tara_dingtalk_hant": ("tara_dingtalk/corpus.jsonl", "tara_dingtalk/queries_dev_hant.jsonl"),
    "drcd_zh_hant": ("drcd_zh_hant/corpus.jsonl", "drcd_zh_hant/queries_dev.jsonl"),
    "insuranceqa_zh": ("insuranceqa_zh/corpus.jsonl", "insuranceqa_zh/queries_dev.jsonl"),
    "insuranceqa_en": ("insuranceqa_en/corpus.jsonl", "insuranceqa_en/queries_dev.jsonl"),
}
DEFAULT_SETS = ["tara_dingtalk", "tara_dingtalk_hant", "drcd_zh_hant"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/bench/data"))
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--cache", type=Path, default=Path("data/bench-cache"))
    parser.add_argument("--sets", nargs="*", default=DEFAULT_SETS, choices=sorted(SETS))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    settings = Settings(cache_dir=args.cache)
    for name in args.sets:
        corpus, queries = SETS[name]
        start = time.perf_counter()
        result = evaluate(
            settings, args.data / corpus, args.data / queries, modes=("hybrid", "bm25", "vector")
        )
        result["set"] = name
        result["wall_s"] = round(time.perf_counter() - start, 1)
        result["machine"] = machine_info()
        (args.out / f"eval_{name}.json").write_text(
            json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        b = result["baselines"]
        print(
            f"{name}: hybrid MRR@10 {result['mrr@10']:.3f} R@10 {result['recall@10']:.3f} | "
            f"bm25 {b['bm25']['mrr@10']:.3f}/{b['bm25']['recall@10']:.3f} | "
            f"vector {b['vector']['mrr@10']:.3f}/{b['vector']['recall@10']:.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
