"""A flame graph of in-process search and suggest on a knowledge base of bench/build_large.py.

Opens the data dir (default: the 10k one), warms it (model, index, jieba, first-use paths),
then profiles itself with py-spy (the product's dev dependency, not a run-time one) while it
answers real dev queries, each asked once: every query as a search and then as a one-turn
suggestion. Start-up is not in the graph; only the queries are. Writes an SVG and a small JSON
of the run (machine, vectors real or stand-in, latencies) beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.build_large import COLLECTION, STANDIN_NOTE
from bench.machine import machine_info
from bench.scale import dev_queries
from kb.assist.conversation import Turn
from kb.assist.suggest import SuggestInput, suggest
from kb.context import KnowledgeBase
from kb.retrieval.searching import SearchRequest, search_result
from kb.settings import Settings
from search.embedders.factory import make_embedder


def ask(kb: KnowledgeBase, query: str) -> tuple[float, float]:
    start = time.perf_counter()
    search_result(kb, SearchRequest(query, COLLECTION, limit=10))
    searched = time.perf_counter()
    suggest(kb, SuggestInput([Turn("customer", query)], collection=COLLECTION))
    return (searched - start) * 1000, (time.perf_counter() - searched) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/bench/data"))
    parser.add_argument("--data-dir", type=Path, default=Path("data/bench-large/kb-10000"))
    parser.add_argument("--queries", type=int, default=150)
    parser.add_argument("--out", type=Path, default=Path("bench/results/flame_10k.svg"))
    args = parser.parse_args()
    queries = dev_queries(args.data)[-(args.queries + 10) :]  # a slice scale.py never asks
    settings = Settings(data_dir=args.data_dir, cache_dir=args.data_dir / "cache")
    kb = KnowledgeBase(settings, embedder=make_embedder(settings.embedder))
    try:
        for query in queries[:10]:
            ask(kb, query)
        spy = subprocess.Popen(
            [str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(os.getpid()),
             "--rate", "250", "--nonblocking", "--format", "flamegraph", "-o", str(args.out)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(2)  # py-spy attached
        times = [ask(kb, query) for query in queries[10:]]
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=120)
        chunks = len(kb.searchers.get(COLLECTION).generation.chunks)  # type: ignore[union-attr]
    finally:
        kb.close()
    built = json.loads((args.data_dir / STANDIN_NOTE).read_text("utf-8"))
    run = {
        "machine": machine_info(),
        "chunks": chunks,
        "vectors": f"{built['real_vectors']} real e5-small, {built['standin_vectors']} stand-ins",
        "queries": len(times),
        "search_p50_ms": round(statistics.median(t[0] for t in times), 2),
        "suggest_p50_ms": round(statistics.median(t[1] for t in times), 2),
        "profile": args.out.name,
        "note": "py-spy 250 Hz, nonblocking, of this process only (in-process search then "
        "suggest per query); shared 2-core machine",
    }
    args.out.with_suffix(".json").write_text(json.dumps(run, indent=2) + "\n", "utf-8")
    print(json.dumps(run), flush=True)


if __name__ == "__main__":
    main()
