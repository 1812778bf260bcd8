"""Choose when a search may skip its query embedding (README "Speed", issue 17 point 5).

Each dev set's corpus is ingested once through the real path and every query's signals are
taken once from the real searcher (both sides, at the settings' depth), with the keyword side's
evidence (``search.decisive``: the top hit's idf coverage, the top-1/top-2 margin, the matched
idf). For every rule of a coarse grid, a query the rule calls decisive is scored on its BM25
ranking (what a skipped search serves), the others on the fused ranking. The bar is MAX_COST
MRR@10 lost on any set; a rule is chosen among those costing at most half of it on every set
(one query of the 32- to 114-query sets moves their MRR@10 by .01 to .03: a rule right at the
bar on these queries would cross it on the next ones), the one skipping the most (mean share
over the sets, each set counting alike; ties to the stricter rule). The same choice is also made
on four fifths of every set's queries and scored on the held fifth (five folds), to show how
far a rule picked this way holds on queries it was not picked on. Writes
bench/results/skip_embedding.json; the choice goes into kb/settings.py by hand.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.eval_sets import CONVERSATIONS, DEFAULT, NAMES
from bench.machine import machine_info
from bench.tune_fusion import collect
from kb.retrieval.evaluation import score_ranking
from kb.settings import Settings
from search.decisive import KeywordEvidence, SkipRule, is_decisive
from search.fusion import fuse

MAX_COST = 0.005  # MRR@10 a set may lose (issue 17)
CHOICE_COST = MAX_COST / 2  # what the chosen rule may cost on the dev sets
FOLDS = 5
COVERAGES = (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
MARGINS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)
MATCHED_IDFS = (0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0)
GRID = [
    SkipRule(min_coverage=c, min_margin=m, min_matched_idf=i)
    for c, m, i in itertools.product(COVERAGES, MARGINS, MATCHED_IDFS)
]


@dataclass
class Scored:
    evidence: KeywordEvidence
    hybrid: float  # MRR@10 of the fused ranking
    keyword: float  # MRR@10 of the BM25 ranking (what a skipped search serves)


def _top10(rows: list[int], ids: dict[int, str]) -> list[str]:
    ranked: dict[str, None] = {}
    for row in rows:
        ranked.setdefault(ids[row], None)
        if len(ranked) >= 10:
            break
    return list(ranked)


def score_set(name: str, data: Path, cache: Path, scratch: Path) -> list[Scored]:
    """Every query of set ``name``: its keyword evidence and both rankings' MRR@10."""
    config = Settings().fusion_config
    out = []
    for case in collect(name, data, cache, scratch, depth=config.depth):
        assert case.signals.evidence is not None
        fused = [row for row, _ in fuse(case.signals, config)]
        keyword = [row for row, _ in case.signals.keyword]
        relevant = case.query.relevant
        out.append(
            Scored(
                case.signals.evidence,
                score_ranking(_top10(fused, case.ids), relevant)["mrr@10"],
                score_ranking(_top10(keyword, case.ids), relevant)["mrr@10"],
            )
        )
    return out


def outcome(scored: list[Scored], rule: SkipRule) -> dict[str, float]:
    """One set under ``rule``: the share skipped and the MRR@10 lost against always fusing."""
    skipped = [is_decisive(s.evidence, rule) for s in scored]
    mixed = [s.keyword if skip else s.hybrid for s, skip in zip(scored, skipped, strict=True)]
    hybrid = statistics.fmean(s.hybrid for s in scored)
    return {
        "skipped_share": round(sum(skipped) / len(scored), 4),
        "mrr@10": round(statistics.fmean(mixed), 4),
        "cost": round(hybrid - statistics.fmean(mixed), 4),
    }


def choose(sets: dict[str, list[Scored]]) -> dict[str, Any]:
    """The admissible rule skipping the most, with every rule's outcome on ``sets``."""
    grid = []
    for rule in GRID:
        per_set = {name: outcome(scored, rule) for name, scored in sets.items()}
        grid.append(
            {
                "rule": rule.as_dict(),
                "sets": per_set,
                "worst_cost": max(row["cost"] for row in per_set.values()),
                "mean_skipped_share": round(
                    statistics.fmean(row["skipped_share"] for row in per_set.values()), 4
                ),
            }
        )
    admissible = [row for row in grid if row["worst_cost"] <= CHOICE_COST]
    chosen = max(
        admissible,
        key=lambda row: (row["mean_skipped_share"], -row["worst_cost"], *row["rule"].values()),
    )
    return {"chosen": chosen, "grid": grid}


def cross_validate(sets: dict[str, list[Scored]]) -> list[dict[str, Any]]:
    """Pick on four folds of every set, score the pick on the held fold."""
    folds = {}
    for name, scored in sets.items():
        order = list(range(len(scored)))
        random.Random(f"skip:{name}").shuffle(order)
        folds[name] = {q: position % FOLDS for position, q in enumerate(order)}
    runs = []
    for fold in range(FOLDS):

        def part(held: bool, fold: int = fold) -> dict[str, list[Scored]]:
            return {
                name: [s for q, s in enumerate(scored) if (folds[name][q] == fold) == held]
                for name, scored in sets.items()
            }

        rule = SkipRule(**choose(part(False))["chosen"]["rule"])
        held = {name: outcome(scored, rule) for name, scored in part(True).items() if scored}
        runs.append({"fold": fold, "rule": rule.as_dict(), "held": held})
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/bench/data"))
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--cache", type=Path, default=Path("data/bench-cache"))
    # Conversation sets go through suggest, which embeds its texts anyway (replies, rules).
    plain = [n for n in DEFAULT if n not in CONVERSATIONS]
    parser.add_argument("--sets", nargs="*", default=plain, choices=NAMES)
    args = parser.parse_args()
    sets: dict[str, list[Scored]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name in args.sets:
            sets[name] = score_set(name, args.data, args.cache, Path(scratch))
            print(name, len(sets[name]), "queries", flush=True)
    picked = choose(sets)
    folds = cross_validate(sets)
    hybrid = {name: round(statistics.fmean(s.hybrid for s in sc), 4) for name, sc in sets.items()}
    result: dict[str, Any] = {
        "machine": machine_info(),
        "fusion": Settings().fusion_config.as_dict(),
        "max_cost": MAX_COST,
        "choice_cost": CHOICE_COST,
        "hybrid_mrr@10": hybrid,
        "chosen": picked["chosen"],
        "held_out_folds": folds,
        "grid": picked["grid"],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "skip_embedding.json").write_text(
        json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    print("chosen", json.dumps(picked["chosen"], ensure_ascii=False))
    for run in folds:
        print("fold", json.dumps(run, ensure_ascii=False))


if __name__ == "__main__":
    main()
