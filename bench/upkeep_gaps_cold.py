"""The first gap listing (kb/upkeep/gaps.py ``find_gaps``) in a fresh process, and the second.

A data dir gets a small gap log (hand-written questions, not evaluation data: three intents
and some noise, each asked by its own agent and marked not helpful). Then each run is a new
Python process that opens the knowledge base and times ``find_gaps`` twice, in two modes:

- ``cold``: nothing loaded before (the embedder loads inside the first call);
- ``served``: the query embedder and tokenizer warmed first, as ``kb serve`` does at start-up,
  so the first call pays only what gap listing itself needs.

The clusters (each gap's wordings) are printed by every run, so two source trees can be shown
to give the same gaps. ``--code`` runs another tree (e.g. an exported older commit) on the same
data dir; runs of the trees are interleaved.

    python -m bench.upkeep_gaps_cold --data-dir /tmp/gaps-kb --code /tmp/before --code . \
        --runs 5 --out bench/results/upkeep_gaps_cold.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

QUERIES = [
    # a trade-in intent, worded by many agents
    "旧扫地机能折价换新吗", "以旧换新活动还有吗", "旧机器可以抵多少钱", "怎么参加以旧换新",
    "旧的净化器能换新款吗", "以旧换新要寄回旧机吗",
    # gift wrapping
    "可以帮忙包装成礼物吗", "能不能送礼品包装", "下单时可以选礼盒包装吗",
    # company invoices for a team
    "公司批量采购怎么开票", "团购能开增值税专票吗",
    # noise
    "机器人能听懂方言吗",
]  # fmt: skip

RUN = r"""
import json, sys, time
start = time.perf_counter()
from kb.context import KnowledgeBase
from kb.settings import Settings
from kb.upkeep.gaps import find_gaps
from pathlib import Path
data = Path(sys.argv[1])
kb = KnowledgeBase(Settings(data_dir=data, cache_dir=data / "cache"))
opened = time.perf_counter()
if sys.argv[2] == "served":
    kb.embedder.embed_queries(["warm up"])
    kb.tokenizer.tokenize("预热")
warmed = time.perf_counter()
gaps = find_gaps(kb)
first = time.perf_counter()
again = find_gaps(kb)
second = time.perf_counter()
assert [g.wordings for g in gaps] == [g.wordings for g in again]
print(json.dumps({
    "open_s": opened - start, "warm_s": warmed - opened, "first_s": first - warmed,
    "second_s": second - first, "gaps": [list(g.wordings) for g in gaps],
}, ensure_ascii=False))
kb.close()
"""


def prepare(data_dir: Path) -> None:
    from kb.context import KnowledgeBase
    from kb.db import session_scope
    from kb.insight.feedback import record_feedback
    from kb.models import SuggestionLog
    from kb.settings import Settings

    kb = KnowledgeBase(Settings(data_dir=data_dir, cache_dir=data_dir / "cache"))
    for n, query in enumerate(QUERIES):
        actor = f"user:agent{n}@assistkb.test"
        row = SuggestionLog(collection="default", query=query, answers=[{"id": "a1"}],
                            handling="agent", best_confidence="low", actor=actor)  # fmt: skip
        with session_scope(kb.engine) as session:
            session.add(row)
            session.flush()
            sid = row.id
        record_feedback(kb, suggestion_id=sid, item_id="a1", action="not_helpful", actor=actor)
    kb.close()


def one_run(code: Path, data_dir: Path, mode: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(code.resolve())}
    done = subprocess.run(
        [sys.executable, "-c", RUN, str(data_dir), mode],
        cwd=code, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--code", type=Path, action="append", default=[])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("bench/results/upkeep_gaps_cold.json"))
    args = parser.parse_args()
    codes = args.code or [Path(".")]
    ready = args.data_dir / "gap-log-ready"
    if not ready.exists():
        args.data_dir.mkdir(parents=True, exist_ok=True)
        prepare(args.data_dir)
        ready.touch()
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {
        str(c): {"cold": [], "served": []} for c in codes
    }
    for _ in range(args.runs):
        for mode in ("cold", "served"):
            for code in codes:
                runs[str(code)][mode].append(one_run(code, args.data_dir, mode))
    report: dict[str, Any] = {"queries": len(QUERIES), "runs": args.runs, "trees": {}}
    for code, modes in runs.items():
        summary: dict[str, Any] = {}
        for mode, results in modes.items():
            summary[mode] = {
                key: {
                    "first_run": round(results[0][key], 3),
                    "median": round(statistics.median(r[key] for r in results), 3),
                }
                for key in ("open_s", "warm_s", "first_s", "second_s")
            }
        summary["gaps"] = runs[code]["cold"][0]["gaps"]
        summary["same_gaps_every_run"] = all(
            r["gaps"] == summary["gaps"] for m in modes.values() for r in m
        )
        report["trees"][code] = summary
    report["same_gaps_in_every_tree"] = (
        len({json.dumps(t["gaps"]) for t in report["trees"].values()}) == 1
    )
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(report, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
