"""Interleaved before/after runs of bench/latency.py: is anything slower on one machine?

Runs bench/latency.py from two source trees (before: a detached checkout of an older commit;
after: this tree, with KB_LEARNING on and off) in the order A, B-on, B-off, A, B-on, B-off, ...
Each run starts from its own copy of one warm embedding cache, so no run profits from queries an
earlier run embedded. A busy machine moves every absolute figure; the verdict compares each
figure's ratio to E (one bare query embedding, same run) and the medians per arm. Writes
bench/results/latency_ab.json after every run (a stopped series keeps what it measured).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FIGURES = (
    ("in_process", "E_embed_one_query"),
    ("in_process", "search_tara"),
    ("in_process", "suggest_tara"),
    ("search_tara", "1_client"),
    ("search_tara", "8_clients"),
    ("suggest_sample", "1_client"),
    ("suggest_sample", "8_clients"),
    ("suggest_tara", "1_client"),
    ("suggest_tara", "8_clients"),
)


def _commit(tree: Path) -> str:
    return subprocess.run(
        ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def one_run(tree: Path, env_extra: dict[str, str], cache: Path, args: argparse.Namespace) -> dict:
    """One bench/latency.py run from ``tree``; returns its p50s and ratios to E."""
    with tempfile.TemporaryDirectory() as tmp:
        run_cache = Path(tmp) / "cache"
        shutil.copytree(cache, run_cache)
        env = {**os.environ, **env_extra, "PYTHONPATH": str(tree)}
        start, load_before = time.monotonic(), _load()
        subprocess.run(
            [sys.executable, str(tree / "bench/latency.py"), "--data", str(args.data),
             "--out", tmp, "--name", "run.json", "--cache", str(run_cache),
             "--queries", str(args.queries)],
            cwd=tree, env=env, check=True,
        )  # fmt: skip
        result = json.loads((Path(tmp) / "run.json").read_text("utf-8"))
    p50 = {f"{a}.{b}": _p50(result, a, b) for a, b in FIGURES}
    e = p50["in_process.E_embed_one_query"]
    return {
        "seconds": round(time.monotonic() - start, 1),
        "load_avg_1_5_15_before": load_before,
        "load_avg_1_5_15_after": _load(),
        "p50_ms": p50,
        "over_E": {
            k: round(v / e, 2) for k, v in p50.items() if not k.endswith("E_embed_one_query")
        },
        "raw": result,
    }


def _p50(result: dict[str, Any], a: str, b: str) -> float:
    return float(result[a][b]["p50_ms"])


def summarise(runs: list[dict[str, Any]], arms: list[str]) -> dict[str, Any]:
    """Per arm, the median over its runs of each figure's ratio to E; B arms against A."""
    medians: dict[str, dict[str, float]] = {}
    for arm in arms:
        mine = [r for r in runs if r["arm"] == arm]
        if not mine:
            continue
        keys = mine[0]["over_E"].keys()
        medians[arm] = {k: round(statistics.median(r["over_E"][k] for r in mine), 2) for k in keys}
        medians[arm]["E_ms"] = round(
            statistics.median(r["p50_ms"]["in_process.E_embed_one_query"] for r in mine), 2
        )
    out: dict[str, Any] = {"median_over_E": medians}
    base = arms[0]
    if base in medians:
        out["after_over_before"] = {
            arm: {k: round(v / medians[base][k], 3) for k, v in m.items() if medians[base][k]}
            for arm, m in medians.items()
            if arm != base
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", type=Path, required=True, help="source tree of the old commit")
    parser.add_argument("--after", type=Path, default=ROOT)
    parser.add_argument("--data", type=Path, default=(ROOT / "../shared/bench/data").resolve())
    parser.add_argument("--cache", type=Path, required=True, help="a warm embedding cache (copied)")
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/latency_ab.json")
    args = parser.parse_args()
    arms = {
        "before": (args.before.resolve(), {}),
        "after_learning_on": (args.after.resolve(), {"KB_LEARNING": "true"}),
        "after_learning_off": (args.after.resolve(), {"KB_LEARNING": "false"}),
    }
    report: dict[str, Any] = {
        "commits": {arm: _commit(tree) for arm, (tree, _) in arms.items()},
        "queries": args.queries,
        "order": "interleaved: before, after_learning_on, after_learning_off, repeated",
        "cores": os.cpu_count(),
        "runs": [],
    }
    for round_no in range(args.rounds):
        for arm, (tree, env) in arms.items():
            run = one_run(tree, env, args.cache, args)
            report["runs"].append({"arm": arm, "round": round_no, **run})
            report["summary"] = summarise(report["runs"], list(arms))
            print(arm, round_no, json.dumps(run["over_E"]), run["seconds"], flush=True)
            args.out.write_text(json.dumps(report, indent=2) + "\n", "utf-8")


if __name__ == "__main__":
    main()
