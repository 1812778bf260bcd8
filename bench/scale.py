"""Speed, memory and start-up at 1k to 100k chunks, on the knowledge bases of build_large.py.

For each size, in one run: E, one query embedding (the real e5-small, one query at a time,
p50) and the embedder's own throughput with 8 threads; in-process latency by stage (tokenise,
BM25, FAISS, the rest of a search), FAISS on one OpenMP thread against every core; the exact
versus HNSW trade (recall@10 of HNSW against the exact answer, latency of each); loading the
vector index whole or by memory map; then a real `kb serve`: time from start to its first
answer, resident memory after warm-up, and warm HTTP latency of search and suggest with 1, 8 and 32
clients, each as a ratio to E. At the largest size a py-spy flame graph of the server under
one client's searches. Writes bench/results/scale.json (or scale_<label>.json).

The vectors are partly stand-ins (see build_large.py): ANN recall here is HNSW against exact
search over the same vectors, with real query vectors; no relevance recall is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import faiss
import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.build_large import COLLECTION, CORPORA, real_identity
from bench.latency import _wait_ready
from bench.machine import machine_info
from kb.accounts.keys import create_key
from kb.context import KnowledgeBase
from kb.retrieval.evaluation import load_queries
from kb.settings import Settings
from search.bm25 import top_positive
from search.cache import EmbeddingCache
from search.embedders.base import Embedder
from search.embedders.factory import make_embedder
from search.index import VECTORS_FILE
from search.normalize import normalize
from search.vectorstore import BUILD_THREADS, FaissVectorStore


def percentiles(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    at = lambda q: ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]  # noqa: E731
    return {"p50_ms": round(statistics.median(ordered), 3), "p95_ms": round(at(0.95), 3),
            "p99_ms": round(at(0.99), 3)}  # fmt: skip


def timed(call: Any) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


def embedding_cost(embedder: Embedder, queries: list[str]) -> dict[str, float]:
    """E: one query embedding, one at a time (p50); and 8 threads embedding queries alone."""
    half = len(queries) // 2
    single = [timed(lambda q=q: embedder.embed_queries([q])) for q in queries[:half]]
    start = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda q: embedder.embed_queries([q]), queries[half:]))
    rps = (len(queries) - half) / (time.perf_counter() - start)
    return {**percentiles(single), "rps_8_threads": round(rps, 1)}


def stages(kb: KnowledgeBase, queries: list[str]) -> dict[str, Any]:
    """Each stage of an in-process search, timed alone on the live generation (p50/p95/p99)."""
    searcher = kb.searchers.get(COLLECTION)
    assert searcher is not None
    parts: dict[str, list[float]] = {}
    for query in queries:
        for stage, ms in _stage_times(kb, searcher, query).items():
            parts.setdefault(stage, []).append(ms)
    kind = searcher.generation.vectors.kind
    return {"vector_index": kind, **{k: percentiles(v) for k, v in parts.items()}}


def _stage_times(kb: KnowledgeBase, searcher: Any, query: str) -> dict[str, float]:
    gen, depth = searcher.generation, searcher.config.depth
    store: Any = gen.vectors
    text = normalize(query)
    times = {"embed": timed(lambda: kb.encoder.embed_queries([text]))}  # fills the memo
    vector = kb.encoder.embed_queries([text])
    terms = searcher.tokenizer.query_terms(text)
    times["tokenize"] = timed(lambda: searcher.tokenizer.query_terms(text))

    def bm25() -> None:
        scores = np.zeros(len(gen.chunks), dtype=np.float32)
        for group in terms:
            scores += gen.bm25.scores([group])
        top_positive(scores, depth, None)

    times["bm25"] = timed(bm25)
    times["vector_search"] = timed(lambda: store.search(vector, depth))  # the product's call
    # The bare FAISS search, on one OpenMP thread and on every core (what it did before).
    times["faiss_1_thread"] = timed(lambda: store._index.search(vector, depth))
    faiss.omp_set_num_threads(BUILD_THREADS)
    times["faiss_all_cores"] = timed(lambda: store._index.search(vector, depth))
    times["search_after_embed"] = timed(lambda: searcher.search(query, limit=10))
    return times


def ann_trade(store: Any, queries: np.ndarray, hnsw_build: bool) -> dict[str, Any]:
    """HNSW (the product's parameters) against exact search over the same vectors."""
    vectors = np.ascontiguousarray(store.vectors(np.arange(len(store))))
    flat = FaissVectorStore.build(vectors, dim=vectors.shape[1], hnsw_threshold=len(vectors) + 1)
    out: dict[str, Any] = {}
    if store.kind == "hnsw":
        hnsw = store
    elif hnsw_build:
        start = time.perf_counter()
        hnsw = FaissVectorStore.build(vectors, dim=vectors.shape[1], hnsw_threshold=1)
        out["hnsw_build_seconds"] = round(time.perf_counter() - start, 1)
    else:
        return out
    if len(vectors) <= 10_000:  # is a multi-threaded build worth it? (one thread, same build)
        one_thread = faiss.IndexHNSWFlat(vectors.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
        one_thread.hnsw.efConstruction = 200
        faiss.omp_set_num_threads(1)
        out["hnsw_build_seconds_1_thread"] = round(timed(lambda: one_thread.add(vectors)) / 1000, 1)
    exact = [[r for r, _ in hits] for hits in flat.search(queries, 10)]
    approx = [[r for r, _ in hits] for hits in hnsw.search(queries, 10)]
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact, strict=True)])
    one = lambda s: [timed(lambda q=q: s.search(q[np.newaxis], 100)) for q in queries]  # noqa: E731
    out.update(
        recall_at_10=round(float(recall), 4),
        flat=percentiles(one(flat)),
        hnsw=percentiles(one(hnsw)),
        queries=len(queries),
    )
    return out


def run_load(url: str, bodies: list[dict[str, Any]], clients: int, key: str) -> dict[str, float]:
    """Each body sent once, split over ``clients`` connections (no question repeats)."""

    def worker(part: list[dict[str, Any]]) -> list[float]:
        times = []
        with httpx.Client(timeout=60, headers={"Authorization": f"Bearer {key}"}) as http:
            for body in part:
                start = time.perf_counter()
                http.post(url, json=body).raise_for_status()
                times.append((time.perf_counter() - start) * 1000)
        return times

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        parts = list(pool.map(worker, [bodies[i::clients] for i in range(clients)]))
    wall = time.perf_counter() - start
    times = [t for part in parts for t in part]
    return {"requests": len(times), **percentiles(times), "rps": round(len(times) / wall, 1)}


def load_probe(path: Path, mmap: bool) -> None:
    """(Run in a fresh process.) Print the cost of loading ``path`` whole or mapped."""
    before = _status(os.getpid())
    start = time.perf_counter()
    store = FaissVectorStore.load(path, mmap=mmap)
    seconds = time.perf_counter() - start
    loaded = _status(os.getpid())
    rng = np.random.default_rng(1)
    for _ in range(20):
        query = rng.standard_normal(store.dim).astype(np.float32)
        store.search(query / np.linalg.norm(query), 100)
    searched = _status(os.getpid())
    delta = lambda s: {k: s[k] - before[k] for k in s}  # noqa: E731
    print(json.dumps({"load_seconds": round(seconds, 4), "after_load_mib": delta(loaded),
                      "after_20_searches_mib": delta(searched)}))  # fmt: skip


def load_cost(path: Path) -> dict[str, Any]:
    out = {}
    for mmap in (False, True):
        probe = subprocess.run(
            [sys.executable, __file__, "--load-probe", str(path), "--mmap", str(int(mmap))],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        out["mapped" if mmap else "whole"] = json.loads(probe.stdout.strip().splitlines()[-1])
    return out


def _status(pid: int) -> dict[str, float]:
    """Resident memory of ``pid`` in MiB: total, anonymous (private) and file-backed (shared)."""
    fields = {"VmRSS": "rss", "RssAnon": "anon", "RssFile": "file", "VmHWM": "peak"}
    found: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in fields:
            found[fields[key]] = round(int(value.split()[0]) / 1024, 1)
    return found


def serve(
    data_dir: Path,
    queries: list[str],
    code: Path,
    quick: bool,
    profile: Path | None,
    clients: tuple[int, ...] = (1, 8, 32),
) -> dict[str, Any]:
    """Start `kb serve` on ``data_dir`` and measure it (see the module's docstring)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(code), "KB_CACHE_DIR": str(data_dir / "cache"),
           "KB_RATE_LIMIT_KEY_PER_MINUTE": str(10**9)}  # fmt: skip
    kb = KnowledgeBase(Settings(data_dir=data_dir, cache_dir=data_dir / "cache"))
    key = create_key(kb, name=f"bench-{time.time_ns()}", scopes=("search", "suggest"),
                     actor="bench").key  # fmt: skip
    kb.close()
    search = lambda qs: [{"query": q, "collection": COLLECTION, "limit": 10} for q in qs]  # noqa: E731
    suggest = lambda qs: [  # noqa: E731
        {"conversation": [{"role": "customer", "text": q}], "collection": COLLECTION} for q in qs
    ]
    url = f"{base}/api/v1/search"
    started = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "kb.cli", "serve", "--data-dir", str(data_dir), "--port", str(port)],
        env=env, cwd=code, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    out: dict[str, Any] = {}
    try:
        _wait_ready(base)
        out["healthz_seconds"] = round(time.perf_counter() - started, 2)
        run_load(url, search(queries[:1]), 1, key)
        out["first_answer_seconds"] = round(time.perf_counter() - started, 2)
        out["rss_after_first_answer_mib"] = _status(server.pid)
        run_load(url, search(queries[1:20]), 1, key)
        run_load(f"{base}/api/v1/suggest", suggest(queries[20:40]), 1, key)
        out["rss_after_warmup_mib"] = _status(server.pid)
        n = 60 if quick else 100
        answer = f"{base}/api/v1/suggest"
        phases = [("search", 1, url, search)]
        if not quick:
            phases += [("search", c, url, search) for c in clients if c > 1]
            phases += [("suggest", c, answer, suggest) for c in clients]
        at = 40
        for name, count_clients, target, body in phases:
            # Each client sends several requests even at 32 clients (12 or 13 each).
            count = n * {1: 1, 8: 2}.get(count_clients, 4)
            out[f"{name}_{count_clients}"] = run_load(
                target, body(queries[at : at + count]), count_clients, key
            )
            at += count
        out["rss_after_load_mib"] = _status(server.pid)
        if profile is not None:
            spy = subprocess.Popen(
                [str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(server.pid),
                 "--rate", "200", "--nonblocking", "--format", "flamegraph", "-o", str(profile)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            time.sleep(2)
            out["profiled"] = run_load(url, search(queries[at : at + 200]), 1, key)
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=120)
    finally:
        server.terminate()
        server.wait(timeout=60)
    return out


def dev_queries(data: Path) -> list[str]:
    """Every dev query of the four corpora, shuffled once: each phase asks new questions."""
    texts = [q.text for name in CORPORA for q in load_queries(data / name / "queries_dev.jsonl")]
    random.Random(8).shuffle(texts)
    return texts


def real_query_vectors(cache_path: Path, limit: int) -> np.ndarray:
    name, version, _ = real_identity(cache_path)
    cache = EmbeddingCache(cache_path)
    try:
        rows = cache._db.execute(
            "SELECT vector FROM embeddings WHERE embedder = ? ORDER BY text_hash LIMIT ?",
            (f"{name}@{version}#query", limit),
        )
        return np.stack([np.frombuffer(blob, dtype=np.float32) for (blob,) in rows])
    finally:
        cache.close()


def ratios(result: dict[str, Any], e_ms: float) -> None:
    for name, value in list(result.items()):
        if isinstance(value, dict) and "p50_ms" in value and name.startswith(("search", "sugg")):
            value["p50_E"] = round(value["p50_ms"] / e_ms, 2)
            value["p99_E"] = round(value["p99_ms"] / e_ms, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/bench/data"))
    parser.add_argument("--root", type=Path, default=Path("data/bench-large"))
    parser.add_argument("--sizes", default="1000,10000,30000,100000")
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--label", default="", help="suffix of the result file")
    parser.add_argument("--server-code", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--quick", action="store_true", help="start-up, memory, 1-client search")
    parser.add_argument("--update", action="store_true", help="keep other sizes of the file")
    parser.add_argument("--clients", default="1,8,32", help="concurrent HTTP clients per phase")
    parser.add_argument("--load-probe", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--mmap", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load_probe:
        return load_probe(args.load_probe, bool(args.mmap))
    sizes = [int(s) for s in args.sizes.split(",")]
    queries = dev_queries(args.data)
    embedder = make_embedder("e5-small")
    name = f"scale_{args.label}.json" if args.label else "scale.json"
    results: dict[str, Any] = {"machine": machine_info(), "server_code": str(args.server_code)}
    results["sizes"] = {}
    if args.update and (args.out / name).exists():  # sizes measured by an earlier run stay
        results["sizes"] = json.loads((args.out / name).read_text("utf-8"))["sizes"]
    for size in sizes:
        data_dir = args.root / f"kb-{size}"
        entry: dict[str, Any] = {
            "built": json.loads((data_dir / "STANDIN-VECTORS.json").read_text("utf-8"))
        }
        offset = sizes.index(size) * 40
        entry["E"] = embedding_cost(embedder, queries[offset : offset + 40])
        e_ms = entry["E"]["p50_ms"]
        if not args.quick:
            kb = KnowledgeBase(
                Settings(data_dir=data_dir, cache_dir=data_dir / "cache"), embedder=embedder
            )
            try:
                entry["stages"] = stages(kb, queries[1000 + offset : 1040 + offset])
                store = kb.searchers.get(COLLECTION)
                assert store is not None
                probe = real_query_vectors(data_dir / "cache" / "embeddings.sqlite3", 200)
                entry["ann"] = ann_trade(store.generation.vectors, probe, size in (10_000, 30_000))
                generation = kb.index_store.current_generation(COLLECTION)
                vectors_file = kb.index_store.collection_dir(COLLECTION) / str(generation)
                entry["vector_load"] = load_cost(vectors_file / VECTORS_FILE)
            finally:
                kb.close()
        profile = (
            args.out / "profile_search_100k.svg" if size == 100_000 and not args.quick else None
        )
        clients = tuple(int(c) for c in args.clients.split(","))
        entry["serve"] = serve(
            data_dir, queries[2000:], args.server_code, args.quick, profile, clients
        )
        ratios(entry["serve"], e_ms)
        results["sizes"][str(size)] = entry
        print(size, json.dumps(entry), flush=True)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / name).write_text(json.dumps(results, indent=2) + "\n", "utf-8")


if __name__ == "__main__":
    main()
