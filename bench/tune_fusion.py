"""Choose fusion settings by cross-validation over the dev sets (README, "How the fusion…").

Each corpus is ingested once and every query's retrieval signals (both top lists, both scores of
every candidate) are taken once from the real searcher at the deepest candidate depth; each grid
setting then re-fuses them with the same ``search.fusion`` code the searcher runs. Queries are
split into folds per set; for each fold the setting with the best MRR@10 on the other folds
(averaged per set, and separately over all queries) is scored on the held fold, and the shipped
default is scored fold by fold beside it. Writes bench/results/fusion_grid.json.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.eval_sets import DEFAULT, NAMES, load_set
from bench.machine import machine_info
from bench.query_vectors import stored_queries
from kb.context import KnowledgeBase
from kb.documents.ingestion import DocumentMeta, IngestItem, ingest_items
from kb.retrieval.evaluation import EVAL_COLLECTION, Query, load_queries, passage_id, score_ranking
from kb.retrieval.vocabulary import save_vocabulary
from kb.settings import Settings
from search.fusion import FusionConfig, Signals, fuse
from search.normalize import normalize

FOLDS = 5
DEPTHS = (20, 50, 100)
ALPHAS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
WIDTHS = (0.05, 0.1, 0.2)


def _grid(base: FusionConfig) -> list[FusionConfig]:
    """Every setting tried, each a whole config: fields not varied keep the settings' values."""
    convex = replace(base, method="convex")
    width = replace(convex, bm25_scale="ceiling", reach=True, vector_scale="width")
    return [
        *(
            replace(convex, bm25_scale=scale, reach=reach, alpha=a, vector_scale="minmax", depth=d)
            for scale, reach in (("ceiling", True), ("minmax", False), ("ceiling", False))
            for a in ALPHAS
            for d in DEPTHS
        ),
        *(
            replace(width, alpha=a, vector_width=w, depth=d)
            for w in WIDTHS
            for a in ALPHAS
            for d in DEPTHS
        ),
        *(replace(base, method="rrf", rrf_k=k, depth=d) for k in (10, 60) for d in DEPTHS),
    ]


# The shipped defaults, which the grid contains (so its per-fold scores can be shown).
DEFAULT_CONFIG = Settings().fusion_config
GRID = _grid(DEFAULT_CONFIG)
# A setting is picked by the mean MRR@10 of the sets (each set counts alike, however many
# queries it has) or of all queries together (the big sets dominate); both are reported.
OBJECTIVES = ("sets", "queries")


@dataclass
class Case:
    query: Query
    signals: Signals
    ids: dict[int, str]  # candidate row -> passage id, as the evaluation counts it


def collect(
    name: str, data: Path, cache: Path, scratch: Path, *, depth: int = max(DEPTHS)
) -> list[Case]:
    """Ingest set ``name``'s corpus through the real path and take every query's signals
    (``depth`` candidates a side: the grid's deepest unless told)."""
    chosen = load_set(name, data, scratch)
    queries = load_queries(chosen.queries)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), cache_dir=cache, max_upload_bytes=10**9)
        kb = KnowledgeBase(settings, embedder=stored_queries(settings))
        try:
            if chosen.vocabulary is not None:
                save_vocabulary(kb, chosen.vocabulary)
            if isinstance(chosen.corpus, Path):
                meta = DocumentMeta(doc_type="faq")
                items = [IngestItem(chosen.corpus.name, chosen.corpus.read_bytes(), meta)]
            else:
                items = chosen.corpus
            ingest_items(kb, items, collection=EVAL_COLLECTION)
            searcher = kb.searchers.get(EVAL_COLLECTION)
            assert searcher is not None
            chunks = searcher.generation.chunks
            cases = []
            for q in queries:
                signals = searcher.signals(normalize(q.text), depth)
                ids = {row: passage_id(chunks[row], q.passages) for row in signals.cosine}
                cases.append(Case(q, signals, ids))
        finally:
            kb.close()
    return cases


def score_case(case: Case, config: FusionConfig) -> dict[str, float]:
    ranked: dict[str, None] = {}
    for row, _ in fuse(case.signals, config):
        ranked.setdefault(case.ids[row], None)
        if len(ranked) >= 10:
            break
    return score_ranking(list(ranked), case.query.relevant)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/bench/data"))
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--cache", type=Path, default=Path("data/bench-cache"))
    parser.add_argument("--sets", nargs="*", default=DEFAULT, choices=NAMES)
    args = parser.parse_args()
    # per set: per config: per query (mrr@10, recall@10)
    table: dict[str, list[list[tuple[float, float]]]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name in args.sets:
            cases = collect(name, args.data, args.cache, Path(scratch))
            table[name] = []
            for config in GRID:
                scores = [score_case(case, config) for case in cases]
                table[name].append([(s["mrr@10"], s["recall@10"]) for s in scores])
            print(name, len(cases), "queries", flush=True)
    result = {
        "machine": machine_info(),
        "grid": [config.as_dict() for config in GRID],
        "sets": {name: [_mean(rows) for rows in per_config] for name, per_config in table.items()},
        "cross_validation": {goal: cross_validate(table, goal) for goal in OBJECTIVES},
        "default": {
            "config": DEFAULT_CONFIG.as_dict(),
            "folds": fold_scores(table, GRID.index(DEFAULT_CONFIG)),
        },
    }
    (args.out / "fusion_grid.json").write_text(
        json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    for name, rows in result["sets"].items():
        best = max(range(len(GRID)), key=lambda i: rows[i]["mrr@10"])
        print(name, "best", GRID[best].as_dict(), rows[best])
    for goal, run in result["cross_validation"].items():
        print(goal, json.dumps(run["chosen_counts"]), json.dumps(run["summary"]))
    print("default", json.dumps(result["default"]["folds"]["summary"]))


Table = dict[str, list[list[tuple[float, float]]]]  # set -> config -> query -> (MRR, R@10)


def _folds(table: Table) -> dict[str, list[int]]:
    """Each set's queries dealt into FOLDS folds, in a seeded order of their own."""
    folds: dict[str, list[int]] = {}
    for name, per_config in table.items():
        order = list(range(len(per_config[0])))
        random.Random(f"folds:{name}").shuffle(order)
        folds[name] = [0] * len(order)
        for position, query in enumerate(order):
            folds[name][query] = position % FOLDS
    return folds


def _fold_mrr(
    table: Table, folds: dict[str, list[int]], config: int, fold: int, held: bool
) -> dict[str, tuple[float, int]]:
    """Per set: (sum of MRR@10, queries) over the held fold, or over the other folds."""
    return {
        name: (
            sum(m for q, (m, _) in enumerate(per[config]) if (folds[name][q] == fold) == held),
            sum(1 for q in range(len(per[config])) if (folds[name][q] == fold) == held),
        )
        for name, per in table.items()
    }


def _objective(parts: dict[str, tuple[float, int]], goal: str) -> float:
    if goal == "sets":
        return statistics.fmean(total / count for total, count in parts.values())
    return sum(t for t, _ in parts.values()) / sum(c for _, c in parts.values())


def cross_validate(table: Table, goal: str) -> dict[str, Any]:
    """Pick on k-1 folds by ``goal``, score on the held fold; spread over folds."""
    folds = _folds(table)
    runs = []
    for fold in range(FOLDS):
        best = max(
            range(len(GRID)),
            key=lambda c: _objective(_fold_mrr(table, folds, c, fold, False), goal),
        )
        held = _fold_mrr(table, folds, best, fold, True)
        runs.append(
            {
                "fold": fold,
                "chosen": GRID[best].as_dict(),
                "held_mrr@10": {n: t / c for n, (t, c) in held.items()},
            }
        )
    chosen = [json.dumps(r["chosen"], sort_keys=True) for r in runs]
    return {
        "folds": FOLDS,
        "runs": runs,
        "chosen_counts": _counts(chosen),
        "summary": _spread(runs),
    }


def fold_scores(table: Table, config: int) -> dict[str, Any]:
    """One fixed setting's MRR@10 on each fold, with the same spread summary as the picks."""
    folds = _folds(table)
    runs = []
    for fold in range(FOLDS):
        held = _fold_mrr(table, folds, config, fold, True)
        runs.append({"fold": fold, "held_mrr@10": {n: t / c for n, (t, c) in held.items()}})
    return {"runs": runs, "summary": _spread(runs)}


def _spread(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    names = runs[0]["held_mrr@10"]
    return {
        name: {
            "mean": round(statistics.fmean(r["held_mrr@10"][name] for r in runs), 4),
            "min": round(min(r["held_mrr@10"][name] for r in runs), 4),
            "max": round(max(r["held_mrr@10"][name] for r in runs), 4),
            "stdev": round(statistics.stdev(r["held_mrr@10"][name] for r in runs), 4),
        }
        for name in names
    }


def _counts(values: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


def _mean(rows: list[tuple[float, float]]) -> dict[str, float]:
    return {
        "mrr@10": round(statistics.fmean(m for m, _ in rows), 4),
        "recall@10": round(statistics.fmean(r for _, r in rows), 4),
    }


if __name__ == "__main__":
    main()
