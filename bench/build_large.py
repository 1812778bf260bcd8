"""Large knowledge bases (1k to 100k chunks) from the real bench corpora, for `make bench-100k`.

Each size is a data dir of its own (``<root>/kb-<size>``) with one collection, ``large``, built
by the product's own ingestion (parse, clean, chunk, SQL, BM25, FAISS): only the passage vectors
are not all real. Embedding 100k passages takes hours on these two cores, so a chunk whose text
the copied embedding cache holds gets its real e5-small vector, and every other chunk gets a
**stand-in**: a deterministic mixture of two real passage vectors plus noise, seeded by the
text's hash, so the vector index has the clustered shape of real data. Stand-ins serve latency,
memory and ANN-versus-exact measurements only; no relevance recall is ever reported from them.

The texts: the four corpora of ``--data`` (tara_dingtalk, drcd_zh_hant, insuranceqa_zh,
insuranceqa_en, 58,549 records), their script-converted twins (OpenCC: Simplified corpora to
Traditional, drcd to Simplified) and the English corpus again as an archived copy, 117,098
records in all. The pool is shuffled once (seed 17) and a size takes its first ``size``
records, so the sizes nest and each has the same mix. The product folds Traditional to
Simplified before it indexes or embeds, so a Chinese twin is, to search, a second copy of its
original (as the archive copy is): the sizes are real text at real volume, not 117k distinct
passages.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kb.context import KnowledgeBase
from kb.documents.ingestion import IngestItem, ingest_items
from kb.settings import Settings
from search.cache import EmbeddingCache
from search.normalize import converter

SIZES = (1_000, 10_000, 30_000, 100_000)
COLLECTION = "large"
CORPORA = ("tara_dingtalk", "drcd_zh_hant", "insuranceqa_zh", "insuranceqa_en")
TWINS = {"tara_dingtalk": "s2twp", "insuranceqa_zh": "s2twp", "drcd_zh_hant": "tw2sp"}
STANDIN_NOTE = "STANDIN-VECTORS.json"

log = logging.getLogger("bench.build_large")


class StandInPassages:
    """Looks like the real e5-small embedder (name, version, dim), but every passage it is asked
    for (only cache misses reach it) gets a stand-in vector; it refuses to embed queries."""

    def __init__(self, name: str, version: str, real: np.ndarray) -> None:
        self.name, self.version, self.dim = name, version, int(real.shape[1])
        self._real = real

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        raise RuntimeError("stand-in embedder: queries must be embedded by the real model")

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        rows = [self._standin(t) for t in texts]
        return np.stack(rows) if rows else np.zeros((0, self.dim), dtype=np.float32)

    def _standin(self, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")
        rng = np.random.default_rng(seed)
        a, b = rng.integers(0, len(self._real), size=2)
        mix = 0.7 * self._real[a] + 0.3 * self._real[b]
        mix = mix + rng.normal(0.0, 0.25 / np.sqrt(self.dim), self.dim)
        return (mix / np.linalg.norm(mix)).astype(np.float32)


def real_identity(cache_path: Path) -> tuple[str, str, np.ndarray]:
    """The passage namespace of the warm cache and all its passage vectors (no model load)."""
    cache = EmbeddingCache(cache_path)
    try:
        spaces = [
            name
            for (name,) in cache._db.execute("SELECT DISTINCT embedder FROM embeddings")
            if not name.endswith("#query")
        ]
        if len(spaces) != 1:
            raise SystemExit(f"expected one passage embedder in {cache_path}, found {spaces}")
        blobs = cache._db.execute("SELECT vector FROM embeddings WHERE embedder = ?", spaces)
        real = np.stack([np.frombuffer(blob, dtype=np.float32) for (blob,) in blobs])
    finally:
        cache.close()
    name, version = spaces[0].split("@", 1)
    return name, version, real


def record_pool(data: Path) -> list[tuple[str, dict[str, Any]]]:
    """(document name, record) for every text the sizes draw from, shuffled once."""
    pool: list[tuple[str, dict[str, Any]]] = []
    originals = {
        name: [
            json.loads(line)
            for line in (data / name / "corpus.jsonl").read_text("utf-8").splitlines()
            if line.strip()
        ]
        for name in CORPORA
    }
    for name, records in originals.items():
        pool += [(name, r) for r in records]
    for name, config in TWINS.items():
        twin = converter(config)
        pool += [
            (f"{name}-{config}", {**r, "id": f"{r['id']}-{config}", **_converted(r, twin)})
            for r in originals[name]
        ]
    pool += [
        ("insuranceqa_en-archive", {**r, "id": f"{r['id']}-archive"})
        for r in originals["insuranceqa_en"]
    ]
    random.Random(17).shuffle(pool)
    return pool


def _converted(record: dict[str, Any], twin: Any) -> dict[str, str]:
    return {"title": twin.convert(record.get("title", "")), "text": twin.convert(record["text"])}


def build(
    root: Path, size: int, pool: list[tuple[str, dict[str, Any]]], warm: Path
) -> dict[str, Any]:
    """Build ``root/kb-<size>`` (replacing it) and describe it."""
    target = root / f"kb-{size}"
    if target.exists():
        shutil.rmtree(target)
    (target / "cache").mkdir(parents=True)
    # A copy, never the shared file: stand-ins are written into this copy (so that a server
    # start-up that rebuilds the index finds them) and must never reach a real cache.
    shutil.copyfile(warm, target / "cache" / "embeddings.sqlite3")
    name, version, real = real_identity(warm)
    embedder = StandInPassages(name, version, real)
    settings = Settings(
        data_dir=target,
        cache_dir=target / "cache",
        max_upload_bytes=10**9,
        max_chunks_per_document=10**6,
        parse_memory_mb=8192,
        parse_seconds=3600,
    )
    documents: dict[str, list[str]] = {}
    for doc, record in pool[:size]:
        documents.setdefault(doc, []).append(json.dumps(record, ensure_ascii=False))
    items = [
        IngestItem(f"{doc}.jsonl", "\n".join(lines).encode()) for doc, lines in documents.items()
    ]
    started = time.perf_counter()
    kb = KnowledgeBase(settings, embedder=embedder)
    try:
        results = ingest_items(kb, items, collection=COLLECTION)
        failed = [r for r in results if r.status == "failed"]
        if failed:
            raise SystemExit(f"ingest failed at {size}: {failed}")
        meta = kb.index_store.current_meta(COLLECTION)
        assert meta is not None
        stored = kb.index_store.load(COLLECTION).vectors.vectors(np.arange(meta.chunk_count))
    finally:
        kb.close()
    # A chunk's vector is real when it is one of the warm cache's (duplicate texts share one).
    known = {row.tobytes() for row in real}
    real_rows = sum(row.tobytes() in known for row in stored)
    described = {
        "size": size,
        "records": size,
        "chunks": meta.chunk_count,
        "vector_index": meta.vector_index,
        "real_vectors": real_rows,
        "standin_vectors": meta.chunk_count - real_rows,
        "documents": {doc: len(lines) for doc, lines in documents.items()},
        "build_seconds": round(time.perf_counter() - started, 1),
        "embedder": f"{name}@{version}",
        "note": "stand-in vectors (mixtures of real ones) for every chunk the copied cache lacks;"
        " latency and memory only, never relevance recall",
    }
    (target / STANDIN_NOTE).write_text(json.dumps(described, indent=2) + "\n", "utf-8")
    return described


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/bench/data"))
    parser.add_argument("--root", type=Path, default=Path("data/bench-large"))
    parser.add_argument("--cache", type=Path, required=True, help="warm embedding cache dir")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    warm = args.cache / "embeddings.sqlite3"
    pool = record_pool(args.data)
    for size in (int(s) for s in args.sizes.split(",")):
        if size > len(pool):
            raise SystemExit(f"size {size} is larger than the pool ({len(pool)} records)")
        described = build(args.root, size, pool, warm)
        print(json.dumps(described), flush=True)


if __name__ == "__main__":
    main()
