"""Ingest throughput and where the time goes; re-ingest of the unchanged sample KB.

Cold run: a fresh data dir and an empty embedding cache, so every chunk is embedded.
The phases are timed on the real functions: parsing (ingest.pipeline.parse_file), embedding
(the embedder on every chunk's index text) and the rest (SQL writes + BM25/FAISS build).
Writes bench/results/ingest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import machine_info
from ingest.pipeline import parse_file
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.documents.ingestion import ingest_items
from kb.documents.samples import load_sample
from kb.library.store import import_sample
from kb.retrieval.indexing import live_chunks
from kb.settings import Settings
from search.normalize import normalize


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args()
    sample = load_sample()
    items = [i for batch in sample.collection_items.values() for i in batch]
    result: dict[str, Any] = {"machine": machine_info(), "files": len(items)}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        settings = Settings(data_dir=root / "data", cache_dir=root / "cache")
        start = time.perf_counter()
        parsed = [parse_file(i.filename, i.data) for i in items]
        parse_s = time.perf_counter() - start

        kb = KnowledgeBase(settings)
        kb.embedder.embed_queries(["load the model"])  # model load is not ingest time
        start = time.perf_counter()
        results = ingest_items(kb, items, collection="default")
        total_s = time.perf_counter() - start
        chunks = sum(r.chunks for r in results)
        with session_scope(kb.engine) as session:
            texts = [normalize(c.index_text) for c in live_chunks(session, "default")]
        start = time.perf_counter()
        kb.embedder.embed_passages(texts)
        embed_s = time.perf_counter() - start

        # As `kb ingest --sample` does next: replies, rules and the vocabulary (a re-index).
        start = time.perf_counter()
        import_sample(kb, sample)
        library_s = time.perf_counter() - start

        start = time.perf_counter()
        again = ingest_items(kb, items, collection="default")
        reingest_s = time.perf_counter() - start
        assert all(r.status == "unchanged" for r in again)
        kb.close()

        env = {**os.environ, "KB_CACHE_DIR": str(root / "cache")}
        cmd = [
            sys.executable,
            "-m",
            "kb.cli",
            "ingest",
            "--sample",
            "--data-dir",
            str(root / "data"),
        ]
        start = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        cli_s = time.perf_counter() - start

    result.update(
        {
            "chunks": chunks,
            "cold_ingest_s": round(total_s, 2),
            "chunks_per_s": round(chunks / total_s, 2),
            "phases_s": {
                "parse_clean_chunk": round(parse_s, 2),
                "embed": round(embed_s, 2),
                "sql_and_index_build": round(max(0.0, total_s - parse_s - embed_s), 2),
            },
            "parsed_chunks_check": sum(len(p.chunks) for p in parsed),
            "sample_replies_rules_vocabulary_s": round(library_s, 2),
            "reingest_unchanged_s": round(reingest_s, 3),
            "reingest_unchanged_cli_wall_s": round(cli_s, 2),
        }
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ingest.json").write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
