"""Warm latency of search and suggest, in-process and over HTTP, as ratios to one embedding.

Builds a data dir (the sample KB, and the tara_dingtalk corpus as collection `tara`). First,
in-process: E, the p50 of embedding one (new) query with the bare embedder, then the real
search and suggest services on the same queries (each a new text to this process). Then it
starts `kb serve` as a separate process on 127.0.0.1, warms it, and sends each dev query once
per client: 1 client, then 8 concurrent clients. Every p50 is also given as a ratio to E of the
same run (issue 17's targets are in E). Writes bench/results/latency.json (or --name).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import machine_info
from kb.accounts.keys import create_key
from kb.assist.conversation import Turn
from kb.assist.suggest import SuggestInput, suggest
from kb.context import KnowledgeBase
from kb.documents.ingestion import IngestItem, ingest_items
from kb.documents.samples import SAMPLE_DIR, load_sample
from kb.library.store import import_sample
from kb.retrieval.evaluation import load_queries
from kb.retrieval.searching import SearchRequest, search_result
from kb.settings import Settings
from search.embedders.factory import make_embedder


def prepare(data_dir: Path, cache: Path, tara: Path) -> str:
    """Build the data dir; returns the CRM's API key (every API route needs one)."""
    kb = KnowledgeBase(Settings(data_dir=data_dir, cache_dir=cache, max_upload_bytes=10**9))
    sample = load_sample()
    for collection, items in sample.collection_items.items():
        ingest_items(kb, items, collection=collection)
    import_sample(kb, sample)
    ingest_items(kb, [IngestItem(tara.name, tara.read_bytes())], collection="tara")
    key = create_key(kb, name="bench", scopes=("search", "suggest"), actor="bench").key
    kb.close()
    return key


def sample_questions() -> list[str]:
    """Customer questions about the sample KB: the FAQ sheets' own questions (all three)."""
    root = SAMPLE_DIR / "faq"
    questions = [
        r["问题"]
        for r in csv.DictReader(io.StringIO((root / "policy-faq-zh.csv").read_text("utf-8")))
    ]
    questions += [
        json.loads(line)["question"]
        for line in (root / "policy-faq-zh-hant.jsonl").read_text("utf-8").splitlines()
        if line.strip()
    ]
    questions += [
        r["question"]
        for r in csv.DictReader(io.StringIO((root / "policy-faq-en.csv").read_text("utf-8")))
    ]
    return questions


def run_load(url: str, bodies: list[dict[str, Any]], clients: int, key: str) -> dict[str, float]:
    """Each body is sent once, split across ``clients`` concurrent connections: no request
    repeats a question, so no cache answers for the server."""

    refused: list[str] = []

    def worker(chunk: list[dict[str, Any]]) -> list[float]:
        times = []
        with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {key}"}) as http:
            for body in chunk:
                start = time.perf_counter()
                response = http.post(url, json=body)
                times.append((time.perf_counter() - start) * 1000)
                if response.status_code >= 500:
                    response.raise_for_status()
                if response.status_code != 200:  # counted and reported, not hidden
                    refused.append(f"{response.status_code} {response.text[:200]}")
        return times

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        parts = list(pool.map(worker, [bodies[i::clients] for i in range(clients)]))
    wall = time.perf_counter() - start
    times = sorted(t for part in parts for t in part)
    return {
        "requests": len(times),
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
        "p99_ms": round(times[int(0.99 * (len(times) - 1))], 1),
        "throughput_rps": round(len(times) / wall, 1),
        "refused": len(refused),
        **({"refusals": refused} if refused else {}),
    }


def _summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "requests": len(ordered),
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
    }


def in_process(data_dir: Path, cache: Path, queries: list[str]) -> dict[str, Any]:
    """E (one query embedding, bare embedder) and the search and suggest services, warm."""
    settings = Settings(data_dir=data_dir, cache_dir=cache)
    embedder = make_embedder(settings.embedder)
    kb = KnowledgeBase(settings, embedder=embedder)
    try:
        warm = queries[:5]
        embedder.embed_queries(warm)
        for q in warm:
            search_result(kb, SearchRequest(q, "tara", limit=10))
            suggest(kb, SuggestInput([Turn("customer", q)], collection="tara"))
        rest = queries[5:]
        half = len(rest) // 2
        embed_ms, search_ms, suggest_ms = [], [], []
        skipped = 0
        for q in rest:
            start = time.perf_counter()
            embedder.embed_queries([q])
            embed_ms.append((time.perf_counter() - start) * 1000)
        for q in rest[:half]:  # new texts to the knowledge base's own encoder
            start = time.perf_counter()
            result = search_result(kb, SearchRequest(q, "tara", limit=10))
            search_ms.append((time.perf_counter() - start) * 1000)
            skipped += result.embedding_skipped
        for q in rest[half:]:  # texts the searches above did not see
            start = time.perf_counter()
            suggest(kb, SuggestInput([Turn("customer", q)], collection="tara"))
            suggest_ms.append((time.perf_counter() - start) * 1000)
    finally:
        kb.close()
    e = statistics.median(embed_ms)
    out: dict[str, Any] = {
        "E_embed_one_query": _summary(embed_ms),
        "search_tara": _summary(search_ms),
        "suggest_tara": _summary(suggest_ms),
        "search_embedding_skipped_share": round(skipped / half, 3),
    }
    out["ratios_to_E"] = {
        name: round(out[name]["p50_ms"] / e, 2) for name in ("search_tara", "suggest_tara")
    }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/bench/data"))
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--cache", type=Path, default=Path("data/bench-cache"))
    parser.add_argument("--queries", type=int, default=200, help="tara dev queries per phase")
    parser.add_argument("--name", default="latency.json", help="file written under --out")
    args = parser.parse_args()
    tara_queries = [q.text for q in load_queries(args.data / "tara_dingtalk/queries_dev.jsonl")]
    n = args.queries
    # Disjoint slices: the warm-up, each phase and each plan ask questions never asked before.
    tara = [tara_queries[i * n : (i + 1) * n] for i in range(5)]
    faq = sample_questions()
    half = len(faq) // 2
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        key = prepare(data_dir, args.cache, args.data / "tara_dingtalk/corpus.jsonl")
        results: dict[str, Any] = {"machine": machine_info()}
        results["in_process"] = in_process(data_dir, args.cache, tara[0])
        print("in_process", json.dumps(results["in_process"]), flush=True)
        e = results["in_process"]["E_embed_one_query"]["p50_ms"]
        with served(data_dir, args.cache) as base:
            search = lambda qs, coll: [{"query": q, "collection": coll, "limit": 10} for q in qs]  # noqa: E731
            convo = lambda qs, coll: [  # noqa: E731
                {"conversation": [{"role": "customer", "text": q}], "collection": coll} for q in qs
            ]
            search_url, suggest_url = f"{base}/api/v1/search", f"{base}/api/v1/suggest"
            run_load(search_url, search(tara[4][:10], "tara"), 1, key)  # first-use code paths
            run_load(suggest_url, convo(tara[4][10:20], "tara"), 1, key)
            plans = {
                "search_tara": (search_url, search(tara[0], "tara"), search(tara[1], "tara")),
                "suggest_sample": (
                    suggest_url,
                    convo(faq[:half], "default"),
                    convo(faq[half:], "default"),
                ),
                "suggest_tara": (suggest_url, convo(tara[2], "tara"), convo(tara[3], "tara")),
            }
            for name, (url, one, eight) in plans.items():
                results[name] = {
                    "1_client": run_load(url, one, 1, key),
                    "8_clients": run_load(url, eight, 8, key),
                }
                results[name]["1_client_p50_over_E"] = round(
                    results[name]["1_client"]["p50_ms"] / e, 2
                )
                print(name, json.dumps(results[name]), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / args.name).write_text(json.dumps(results, indent=2) + "\n", "utf-8")


@contextmanager
def served(data_dir: Path, cache: Path) -> Iterator[str]:
    """A real ``kb serve`` of ``data_dir`` on a free port, ready; yields its base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # One key stands for a whole CRM here, and 8 clients may outrun the default per-key
    # limit: set it far out of reach, so the limiter still counts every request but
    # never refuses one (this measures speed, not the limit).
    env = {
        **os.environ,
        "KB_CACHE_DIR": str(cache.resolve()),
        "KB_RATE_LIMIT_KEY_PER_MINUTE": str(10**9),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "kb.cli", "serve", "--data-dir", str(data_dir),
         "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_ready(base: str) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError("server did not become ready")


if __name__ == "__main__":
    main()
