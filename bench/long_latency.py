"""Latency of long (~1,900-character) against short (tara dev, ~12-character) searches.

The tara corpus in a throw-away data dir; long queries are dev queries inside a long message
(bench/long_queries.py's view, built deterministically). Measured in-process through the real
search path (kb.retrieval.searching.search), with reading the whole message as before the
budget for comparison, then over HTTP against a real `kb serve` with one client. No query is
asked twice, so no memo answers. Writes bench/results/long_latency.json.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import search.query_budget as query_budget
from bench.latency import served
from bench.long_queries import FULL, long_view
from bench.machine import machine_info
from kb.accounts.keys import create_key
from kb.context import KnowledgeBase
from kb.documents.ingestion import DocumentMeta, IngestItem, ingest_items
from kb.retrieval.evaluation import load_queries
from kb.retrieval.searching import SearchRequest, search
from kb.settings import Settings


def percentiles(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)

    def at(pct: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(pct / 100 * len(ordered)))], 1)

    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": at(95),
        "p99_ms": at(99),
    }


def timed(run: Callable[[str], object], texts: list[str]) -> dict[str, float]:
    times = []
    for text in texts:
        start = time.perf_counter()
        run(text)
        times.append((time.perf_counter() - start) * 1000)
    return percentiles(times)


def interleaved(run: Callable[[str], object], short: list[str], long: list[str]) -> dict[str, Any]:
    """Short and long queries taken in turn, so a busy machine's drift weighs on both alike."""
    times: dict[str, list[float]] = {"short": [], "long": []}
    for pair in zip(short, long, strict=False):
        for kind, text in zip(("short", "long"), pair, strict=True):
            start = time.perf_counter()
            run(text)
            times[kind].append((time.perf_counter() - start) * 1000)
    out: dict[str, Any] = {kind: percentiles(values) for kind, values in times.items()}
    out["ratio_p50"] = round(out["long"]["p50_ms"] / out["short"]["p50_ms"], 2)
    out["ratio_p99"] = round(out["long"]["p99_ms"] / out["short"]["p99_ms"], 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/bench/data"))
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--cache", type=Path, default=Path("data/bench-cache"))
    parser.add_argument("--queries", type=int, default=100, help="queries per phase")
    parser.add_argument("--full", type=int, default=15, help="long queries read whole")
    args = parser.parse_args()
    corpus = args.data / "tara_dingtalk/corpus.jsonl"
    dev = load_queries(args.data / "tara_dingtalk/queries_dev.jsonl")
    random.Random("long-latency").shuffle(dev)
    n = args.queries
    results: dict[str, Any] = {"machine": machine_info(), "corpus": "tara_dingtalk"}
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        settings = Settings(data_dir=data_dir, cache_dir=args.cache, max_upload_bytes=10**9)
        kb = KnowledgeBase(settings)
        item = IngestItem(corpus.name, corpus.read_bytes(), DocumentMeta(doc_type="faq"))
        ingest_items(kb, [item], collection="tara")
        key = create_key(kb, name="bench", scopes=("search",), actor="bench").key
        searcher = kb.searchers.get("tara")
        assert searcher is not None
        # Disjoint slices: warm-up, in-process, HTTP; long ones built on their own queries.
        phases = [dev[i * n : (i + 1) * n] for i in range(6)]
        long_texts = [
            [q.text for q in long_view(searcher, part, random.Random(f"long-{i}"))]
            for i, part in enumerate(phases[3:])
        ]
        short_texts = [[q.text for q in part] for part in phases[:3]]
        results["chars"] = {
            "short_mean": round(statistics.mean(len(t) for t in short_texts[1])),
            "long_mean": round(statistics.mean(len(t) for t in long_texts[1])),
        }

        def run(text: str) -> object:
            return search(kb, SearchRequest(text, collection="tara", limit=10))

        timed(run, short_texts[0][:10] + long_texts[0][:10])  # first-use code paths
        inproc = interleaved(run, short_texts[1], long_texts[1])
        budget = query_budget.DEFAULT_BUDGET
        query_budget.DEFAULT_BUDGET = FULL
        inproc["long_read_whole"] = timed(run, long_texts[0][10 : 10 + args.full])
        query_budget.DEFAULT_BUDGET = budget
        inproc["ratio_p50_read_whole"] = round(
            inproc["long_read_whole"]["p50_ms"] / inproc["short"]["p50_ms"], 1
        )
        results["in_process"] = inproc
        results["budget"] = asdict(budget)
        print("in-process", json.dumps(inproc), flush=True)
        kb.close()

        with served(data_dir, args.cache) as base:
            url = f"{base}/api/v1/search"
            with httpx.Client(timeout=60, headers={"Authorization": f"Bearer {key}"}) as client:

                def post(text: str) -> object:
                    body = {"query": text, "collection": "tara", "limit": 10}
                    return client.post(url, json=body).raise_for_status()

                timed(post, short_texts[0][10:20] + long_texts[0][:10])  # first-use code paths
                http = interleaved(post, short_texts[2], long_texts[2])
            results["http_1_client"] = http
            print("http", json.dumps(http), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "long_latency.json").write_text(json.dumps(results, indent=2) + "\n", "utf-8")


if __name__ == "__main__":
    main()
