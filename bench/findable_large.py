"""Keyword- and meaning-findable after an upload into one of `make bench-100k`'s knowledge bases.

`bench/incremental.py --cold` measures 10k and 30k chunks from its own corpora, which do not
reach 100k. This takes a knowledge base `bench/build_large.py` built (stand-in vectors for most
of the base, see its STANDIN-VECTORS.json), copies it to scratch, and uploads a document of
``--rows`` DRCD passages, each with a marker that makes it new, as an upload job (as the
console and the API do): seconds from the upload answering to the first keyword (BM25) search
that returns it, and to the first vector-only search that does (its real e5-small vectors
written). Each size is a fresh copy, so the base is unchanged. Writes
bench/results/findable_large.json.

    python bench/findable_large.py --root data/bench-large --sizes 100000
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.build_large import COLLECTION
from bench.incremental import _passages, _sheet
from bench.machine import machine_info
from kb.context import KnowledgeBase
from kb.documents.ingestion import IngestItem
from kb.documents.jobs import shutdown_jobs, start_ingest_job, wait_for_job
from kb.retrieval.searching import Mode, SearchRequest, search
from kb.settings import Settings

# The base holds every bench corpus, so the new passages are DRCD passages with a marker of
# their own: text no index or cache has seen (embedded for real), found by the marker.
MARKER = "资料编号Q{n:03d}："


def until_findable(kb: KnowledgeBase, probe: str, mode: Mode, start: float) -> float:
    while True:
        hits = search(kb, SearchRequest(probe, collection=COLLECTION, limit=10, mode=mode))
        if any(probe in h.chunk.text for h in hits):
            return round(time.perf_counter() - start, 3)
        time.sleep(0.02)


def one_size(source: Path, scratch: Path, rows: int) -> dict[str, Any]:
    copy = scratch / source.name
    shutil.copytree(source, copy)
    # The copy's own cache: it holds the base's vectors (stand-ins under e5-small's name) and
    # none of the new passages, which are embedded for real in the timed run.
    kb = KnowledgeBase(Settings(data_dir=copy, cache_dir=copy / "cache", workers="inline"))
    try:
        meta = kb.index_store.current_meta(COLLECTION)
        assert meta is not None, f"{source} holds no {COLLECTION!r} index"
        search(kb, SearchRequest("warm up", collection=COLLECTION, limit=1))  # model, jieba
        new = [
            {**p, "text": MARKER.format(n=n) + p["text"]}
            for n, p in enumerate(_passages("drcd_zh_hant")[:rows])
        ]
        probe = new[0]["text"][:40]
        job_id = start_ingest_job(kb, [IngestItem("cold.csv", _sheet(new))], COLLECTION)
        uploaded = time.perf_counter()
        keyword = until_findable(kb, probe, "bm25", uploaded)
        meaning = until_findable(kb, probe, "vector", uploaded)
        job = wait_for_job(kb, job_id, timeout=1800)
        assert job.status == "done", job.error
        return {
            "base_chunks": meta.chunk_count,
            "document_chunks": rows,
            "upload_to_keyword_findable_s": keyword,
            "upload_to_meaning_findable_s": meaning,
            "upload_to_done_s": round(time.perf_counter() - uploaded, 3),
        }
    finally:
        shutdown_jobs(kb)
        kb.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=Path, default=Path("data/bench-large"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--rows", type=int, default=30)
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args()
    result: dict[str, Any] = {
        "machine": machine_info(),
        "vectors": "base: bench/build_large.py's (real where its cache had them, stand-ins "
        "elsewhere); the new document: real e5-small, never embedded before",
        "sizes": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            row = one_size(args.root / f"kb-{size}", Path(tmp), args.rows)
            result["sizes"][str(size)] = row
            print(json.dumps(row), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=2) + "\n"
    (args.out / "findable_large.json").write_text(text, "utf-8")


if __name__ == "__main__":
    main()
