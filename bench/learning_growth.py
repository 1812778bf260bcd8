"""Suggest latency as learning intents accumulate: KB_LEARNING on against off, in-process.

Two data dirs built alike (bench/latency.py's prepare: sample KB + tara), one knowledge base
with learning on and one with it off, in one process; every distinct tara dev question is
suggested once to each, alternating which goes first, so load on a shared machine hits both
alike. Each new question creates an intent with learning on. Reports p50 per window of 100
questions and a cProfile of the last 100 with learning on. Writes
bench/results/learning_growth.json (or --out).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.latency import prepare
from bench.machine import machine_info
from kb.assist.conversation import Turn
from kb.assist.suggest import SuggestInput, suggest
from kb.context import KnowledgeBase
from kb.retrieval.evaluation import load_queries
from kb.settings import Settings
from search.embedders.factory import make_embedder

WINDOW = 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/bench/data"))
    parser.add_argument("--cache", type=Path, required=True, help="a warm embedding cache (copied)")
    parser.add_argument("--out", type=Path, default=Path("bench/results/learning_growth.json"))
    args = parser.parse_args()
    corpus = args.data / "tara_dingtalk/corpus.jsonl"
    questions = list(
        dict.fromkeys(q.text for q in load_queries(args.data / "tara_dingtalk/queries_dev.jsonl"))
    )
    times: dict[bool, list[float]] = {True: [], False: []}
    profile = cProfile.Profile()
    with tempfile.TemporaryDirectory() as tmp:
        kbs = {}
        for learning in (True, False):
            root = Path(tmp) / str(learning)
            shutil.copytree(args.cache, root / "cache")
            prepare(root / "data", root / "cache", corpus)
            settings = Settings(data_dir=root / "data", cache_dir=root / "cache", learning=learning)
            kbs[learning] = KnowledgeBase(settings, embedder=make_embedder(settings.embedder))
        try:
            for i, question in enumerate(questions):
                for learning in (True, False) if i % 2 else (False, True):
                    profiled = learning and i >= len(questions) - WINDOW
                    start = time.perf_counter()
                    if profiled:
                        profile.enable()
                    suggest(
                        kbs[learning], SuggestInput([Turn("customer", question)], collection="tara")
                    )
                    if profiled:
                        profile.disable()
                    times[learning].append((time.perf_counter() - start) * 1000)
        finally:
            for kb in kbs.values():
                kb.close()
    windows = []
    for w in range(0, len(questions), WINDOW):
        on = statistics.median(times[True][w : w + WINDOW])
        off = statistics.median(times[False][w : w + WINDOW])
        windows.append(
            {
                "questions": f"{w}-{min(w + WINDOW, len(questions))}",
                "learning_on_p50_ms": round(on, 1),
                "learning_off_p50_ms": round(off, 1),
                "on_over_off": round(on / off, 2),
            }
        )
        print(json.dumps(windows[-1]), flush=True)
    text = io.StringIO()
    pstats.Stats(profile, stream=text).sort_stats("cumulative").print_stats(20)
    result = {
        "machine": machine_info(),
        "windows": windows,
        "profile_last_window_on": text.getvalue().splitlines(),
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n", "utf-8")


if __name__ == "__main__":
    main()
