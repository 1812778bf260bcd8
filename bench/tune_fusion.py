"""Choose fusion settings by measurement: ingest each dev corpus once, score a grid of settings.

Writes bench/results/fusion_grid.json. The chosen defaults go into kb/settings.py and the
README; the held-out halves of the sets are never looked at.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import machine_info
from bench.run_eval import SETS
from kb.context import KnowledgeBase
from kb.documents.ingestion import IngestItem, ingest_items
from kb.retrieval.evaluation import EVAL_COLLECTION, load_queries, run_queries
from kb.settings import Settings

GRID: list[dict[str, Any]] = [
    *({"fusion": "convex", "fusion_alpha": a} for a in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)),
    *(
        {"fusion": "rrf", "rrf_k": k, "rrf_vector_weight": w, "rrf_bm25_weight": 1.0}
        for k in (10, 60)
        for w in (1.0, 1.5, 2.0)
    ),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/bench/data"))
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--cache", type=Path, default=Path("data/bench-cache"))
    parser.add_argument(
        "--sets", nargs="*", default=["tara_dingtalk", "tara_dingtalk_hant", "drcd_zh_hant"]
    )
    args = parser.parse_args()
    table: dict[str, Any] = {"machine": machine_info(), "grid": GRID, "sets": {}}
    by_corpus: dict[str, list[str]] = {}
    for name in args.sets:
        by_corpus.setdefault(SETS[name][0], []).append(name)
    for corpus, names in by_corpus.items():
        with tempfile.TemporaryDirectory() as tmp:
            base = Settings(data_dir=Path(tmp), cache_dir=args.cache, max_upload_bytes=10**9)
            kb = KnowledgeBase(base)
            path = args.data / corpus
            ingest_items(kb, [IngestItem(path.name, path.read_bytes())], collection=EVAL_COLLECTION)
            for name in names:
                queries = load_queries(args.data / SETS[name][1])
                rows = []
                for config in GRID:
                    # A fresh KnowledgeBase view with these settings shares the built index.
                    view = KnowledgeBase(base.model_copy(update=config))
                    result = run_queries(view, queries, "hybrid")
                    rows.append(
                        {**config, **{k: result[k] for k in ("mrr@10", "recall@10", "recall@1")}}
                    )
                    print(name, config, result["mrr@10"], result["recall@10"], flush=True)
                    view.close()
                table["sets"][name] = rows
            kb.close()
    (args.out / "fusion_grid.json").write_text(json.dumps(table, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
