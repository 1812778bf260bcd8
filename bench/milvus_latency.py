"""What a search costs on Milvus Lite against FAISS: the product's two ``VectorIndex`` backends on
the same stand-in vectors, asked the same questions in turn.

~10k **stand-in** unit vectors (random, dim 384 as e5-small's: a flat search's cost does not
depend on where the vectors point, and no recall is reported from them), every backend exact:
FAISS ``IndexFlatIP`` on one thread as the server runs it; Milvus ``FLAT`` through pymilvus on
Milvus Lite (pure Python, in this process) and, with ``--server URI``, on a Milvus server. Each
index is built, saved and loaded again as a generation's segment is (so Milvus reads it at the
consistency a server's searches use). Each query runs on every backend in turn, so the machine's
load weighs on all alike; what a hybrid search asks of the vector side is measured: the top
``--depth`` rows (the fusion depth), the same with a row filter (a product's documents: runs of
rows), and the stored vectors of ~150 candidates (exact cosines for BM25's candidates). E, one
query embedding by the default embedder, is measured in the same run for scale. Writes
bench/results/milvus_latency.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import machine_info
from search.embedders import make_embedder
from search.milvus_index import MilvusBackend, MilvusConfig
from search.vectorindex import VectorIndex
from search.vectorstore import FaissVectorStore

DIM = 384


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--vectors", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--depth", type=int, default=100)
    parser.add_argument("--server", help="a Milvus server's URI, e.g. http://127.0.0.1:19530")
    args = parser.parse_args()
    rng = np.random.default_rng(17)
    stored = _unit(rng.standard_normal((args.vectors, DIM)))
    queries = _unit(rng.standard_normal((args.queries, DIM)))
    # A filter as products make them: every fifth block of 50 consecutive rows (a document).
    allowed = (np.arange(args.vectors) // 50) % 5 == 0
    candidates = [np.sort(rng.choice(args.vectors, 150, replace=False)) for _ in queries]
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        faiss = FaissVectorStore.build(stored, dim=DIM, hnsw_threshold=args.vectors + 1)
        build = {"faiss": time.perf_counter() - started}
        indexes: dict[str, VectorIndex] = {"faiss": faiss}
        engines = {"milvus_lite": str(Path(scratch) / "bench.db")}
        if args.server:
            engines["milvus_server"] = args.server
        backends = []
        for name, uri in engines.items():
            backend = MilvusBackend(MilvusConfig(uri, prefix="bench"))
            backends.append(backend)
            backend.client  # noqa: B018  # Milvus Lite starts here, outside the build time
            backend.sweep("bench", set())  # what an earlier run left on a server
            started = time.perf_counter()
            built = backend.build(stored, dim=DIM, collection="bench", segment=name)
            built.save(Path(scratch) / f"{name}.faiss")
            build[name] = time.perf_counter() - started
            indexes[name] = backend.load(Path(scratch) / f"{name}.faiss")
        same = {n: _agreement(faiss, i, queries[:20], args.depth) for n, i in indexes.items()}
        timings = _measure(indexes, queries, allowed, candidates, args)
        for backend in backends:
            backend.sweep("bench", set())
            backend.close()
    embedder = make_embedder("e5-small")
    embedder.embed_queries(["预热"])
    e = [_timed(lambda i=i: embedder.embed_queries([f"订单{i}什么时候发货"])) for i in range(30)]
    result: dict[str, Any] = {
        "machine": machine_info(),
        "load_average": os.getloadavg()[0],
        "vectors": args.vectors,
        "dim": DIM,
        "stand_in_vectors": True,
        "queries": args.queries,
        "depth": args.depth,
        "allowed_share": float(allowed.mean()),
        "build_s": {name: round(seconds, 3) for name, seconds in build.items()},
        "top_depth_rows_identical_to_faiss": same,
        "E_ms": _summary(e),
        **timings,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "milvus_latency.json").write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    print(json.dumps(result, indent=2))


def _measure(
    indexes: dict[str, VectorIndex],
    queries: np.ndarray,
    allowed: np.ndarray,
    candidates: list[np.ndarray],
    args: argparse.Namespace,
) -> dict[str, Any]:
    calls: dict[str, Callable[[VectorIndex, int], object]] = {
        "search": lambda index, i: index.search(queries[i : i + 1], args.depth),
        "filtered_search": lambda index, i: index.search(queries[i : i + 1], args.depth, allowed),
        "vectors_150": lambda index, i: index.vectors(candidates[i]),
    }
    out: dict[str, Any] = {}
    for name, call in calls.items():
        for index in indexes.values():  # warm: first calls pay for connections and caches
            call(index, 0)
        samples: dict[str, list[float]] = {backend: [] for backend in indexes}
        for i in range(len(queries)):
            for backend, index in indexes.items():
                samples[backend].append(_timed(partial(call, index, i)))
        summary = {backend: _summary(times) for backend, times in samples.items()}
        faiss = summary["faiss"]["p50"]
        ratios = {f"{b}_over_faiss_p50": round(s["p50"] / faiss, 1) for b, s in summary.items()}
        ratios.pop("faiss_over_faiss_p50")
        out[name] = {**summary, **ratios}
    return out


def _agreement(faiss: VectorIndex, milvus: VectorIndex, queries: np.ndarray, depth: int) -> bool:
    mine = [[row for row, _ in hits] for hits in milvus.search(queries, depth)]
    theirs = [[row for row, _ in hits] for hits in faiss.search(queries, depth)]
    return mine == theirs


def _timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def _summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "p50": round(statistics.median(ordered), 3),
        "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 3),
        "p99": round(ordered[int(0.99 * (len(ordered) - 1))], 3),
    }


def _unit(matrix: np.ndarray) -> np.ndarray:
    matrix = matrix.astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


if __name__ == "__main__":
    main()
