"""Adding one ~300-chunk document to a collection of 1k, 10k and 30k chunks: a delta vs a rebuild.

Through the real path (``ingest_items``: parse, SQL, index, then ``search``) on real text: the
base is insuranceqa_zh passages (then insuranceqa_en's) as FAQ sheets of 50 rows (one chunk a
row), the new document 300 DRCD passages as one sheet (300 chunks). Base vectors are STAND-INS
(hash-seeded random unit vectors in the e5-small space's name, in a scratch cache): embedding
10k chunks for real takes hours here, and no quality is measured from them. The new document is
embedded for real with e5-small once (``new_document_embed_s``); the timed runs take its
vectors from the cache, so the ratios compare indexing work, which is what changed.

For each size: the document added with a full rebuild (what every change did before deltas),
deleted again with one, then added as a delta and deleted as a delta. ``findable_s`` is from
the start of the upload to the first keyword search (bm25, through the searcher registry) that
returns one of its chunks; ``meaning_findable_s`` to the first vector-only search that does.
Writes bench/results/incremental.json.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import machine_info
from kb.context import KnowledgeBase
from kb.documents.catalog import delete_document
from kb.documents.ingestion import IngestItem, ingest_items
from kb.retrieval.searching import Mode, SearchRequest, search
from kb.settings import Settings
from search.embedders.base import Embedder
from search.embedders.factory import make_embedder
from search.segments import MergePolicy

DATA = Path("/work/shared/bench/data")
ROWS_PER_SHEET = 50
NEW_ROWS = 300
ALWAYS_MERGE = MergePolicy(max_deltas=-1)


class StandIn:
    """The real embedder's name, version and dim; passages get stand-in vectors while ``on``."""

    def __init__(self, real: Embedder) -> None:
        self.real = real
        self.name, self.version, self.dim = real.name, real.version, real.dim
        self.on = False

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self.real.embed_queries(texts)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not self.on:
            return self.real.embed_passages(texts)
        rows = []
        for text in texts:
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
            row = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
            rows.append(row / np.linalg.norm(row))
        return np.asarray(rows, dtype=np.float32).reshape(-1, self.dim)


def _passages(name: str) -> list[dict[str, str]]:
    with open(DATA / name / "corpus.jsonl", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def _sheet(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["question", "answer"])
    for row in rows:
        writer.writerow([row["title"] or row["id"], row["text"]])
    return out.getvalue().encode()


def _findable(kb: KnowledgeBase, query: str, document_id: str, mode: Mode = "bm25") -> bool:
    hits = search(kb, SearchRequest(query, limit=10, mode=mode))
    return any(h.chunk.document_id == document_id for h in hits)


def _add(kb: KnowledgeBase, item: IngestItem, probe: str) -> tuple[str, dict[str, float]]:
    start = time.perf_counter()
    [result] = ingest_items(kb, [item], collection="default")
    ingested = time.perf_counter() - start
    assert result.status == "ingested" and result.document_id, result.reason
    assert _findable(kb, probe, result.document_id)
    findable = time.perf_counter() - start
    # By meaning: a vector-only search (its vectors are written with the chunks, so this is
    # the keyword time plus one query embedding, as long as the upload embeds synchronously).
    assert _findable(kb, probe, result.document_id, "vector")
    meaning = time.perf_counter() - start
    searcher = kb.searchers.get("default")
    assert searcher is not None
    return result.document_id, {
        "ingest_s": round(ingested, 3),
        "index_s": _index_seconds(kb),
        "findable_s": round(findable, 3),
        "meaning_findable_s": round(meaning, 3),
        "segments": searcher.generation.segments,
    }


def _index_seconds(kb: KnowledgeBase) -> float:
    """The index step of the last change alone (a generation's build time, from its meta)."""
    meta = kb.index_store.current_meta("default")
    assert meta is not None
    return meta.build_seconds


def _delete(kb: KnowledgeBase, document_id: str) -> dict[str, float]:
    start = time.perf_counter()
    delete_document(kb, document_id)
    return {"delete_s": round(time.perf_counter() - start, 3), "delete_index_s": _index_seconds(kb)}


def run_size(
    root: Path, cache: Path, standin: StandIn, base: list[dict[str, str]], size: int
) -> dict[str, Any]:
    settings = Settings(data_dir=root / f"data-{size}", cache_dir=cache)
    kb = KnowledgeBase(settings, embedder=standin)
    try:
        sheets = [
            IngestItem(
                f"base-{i:04d}.csv", _sheet(base[i * ROWS_PER_SHEET : (i + 1) * ROWS_PER_SHEET])
            )
            for i in range(size // ROWS_PER_SHEET)
        ]
        standin.on = True
        start = time.perf_counter()
        ingest_items(kb, sheets, collection="default")
        base_s = time.perf_counter() - start
        standin.on = False
        new = _passages("drcd_zh_hant")[:NEW_ROWS]
        item = IngestItem("new-document.csv", _sheet(new))
        probe = new[0]["text"][:40]
        start = time.perf_counter()
        ingest_items(kb, [item], collection="warm")  # its real vectors into the cache
        warm_s = time.perf_counter() - start
        policy = kb.index_store.merge_policy
        kb.index_store.merge_policy = ALWAYS_MERGE
        doc, full_add = _add(kb, item, probe)
        full_delete = _delete(kb, doc)
        kb.index_store.merge_policy = policy
        doc, delta_add = _add(kb, item, probe)
        delta_delete = _delete(kb, doc)
        meta = kb.index_store.current_meta("default")
        assert meta is not None
        return {
            "base_chunks": meta.chunk_count,
            "new_document_chunks": NEW_ROWS,
            "base_build_s_stand_in_vectors": round(base_s, 2),
            "new_document_first_ingest_s": round(warm_s, 2),
            "full_rebuild": {**full_add, **full_delete},
            "delta": {**delta_add, **delta_delete},
            "ratios_full_over_delta": {
                name: round(full[name] / max(delta[name], 1e-3), 2)
                for full, delta in [({**full_add, **full_delete}, {**delta_add, **delta_delete})]
                for name in ("ingest_s", "index_s", "findable_s", "delete_s", "delete_index_s")
            },
        }
    finally:
        kb.close()


def _until_findable(kb: KnowledgeBase, probe: str, mode: Mode, start: float) -> tuple[str, float]:
    """Seconds from ``start`` until a ``mode`` search for ``probe`` returns the new document."""
    while True:
        hits = search(kb, SearchRequest(probe, limit=10, mode=mode))
        found = [h.chunk.document_id for h in hits if probe in h.chunk.text]
        if found:
            return found[0], round(time.perf_counter() - start, 3)
        time.sleep(0.02)


def run_cold(root: Path, cache: Path, standin: StandIn, base: list[dict[str, str]], size: int,
             rows: int) -> dict[str, Any]:  # fmt: skip
    """A ``rows``-passage document never embedded before into a ``size``-chunk knowledge base:
    as an upload job (two phases: keyword-findable first) and, for comparison, through the
    one-phase path (``ingest_items`` as ``kb ingest`` runs it), each with passages of its own."""
    from kb.documents.jobs import shutdown_jobs, start_ingest_job, wait_for_job

    settings = Settings(data_dir=root / f"cold-{size}", cache_dir=cache, workers="inline")
    kb = KnowledgeBase(settings, embedder=standin)
    try:
        sheets = [
            IngestItem(
                f"base-{i:04d}.csv", _sheet(base[i * ROWS_PER_SHEET : (i + 1) * ROWS_PER_SHEET])
            )
            for i in range(size // ROWS_PER_SHEET)
        ]
        standin.on = True
        ingest_items(kb, sheets, collection="default")
        standin.on = False
        drcd = _passages("drcd_zh_hant")
        out: dict[str, Any] = {"base_chunks": size, "document_chunks": rows}
        for name, offset in (("two_phase_upload_job", 1000), ("one_phase_ingest", 1500)):
            new = drcd[offset : offset + rows]
            item = IngestItem("cold.csv", _sheet(new))
            probe = new[0]["text"][:40]
            start = time.perf_counter()
            if name == "two_phase_upload_job":
                job_id = start_ingest_job(kb, [item], "default")
                uploaded = time.perf_counter()  # the upload answered: the job is queued
                doc, keyword = _until_findable(kb, probe, "bm25", uploaded)
                meta = kb.index_store.current_meta("default")
                unembedded = meta.unembedded if meta else 0
                _, meaning = _until_findable(kb, probe, "vector", uploaded)
                job = wait_for_job(kb, job_id, timeout=1800)
                assert job.status == "done", job.error
                done = round(time.perf_counter() - uploaded, 3)
            else:
                ingest_items(kb, [item], collection="default")
                uploaded = start  # one call: the upload is the whole ingest
                doc, keyword = _until_findable(kb, probe, "bm25", uploaded)
                unembedded = 0
                _, meaning = _until_findable(kb, probe, "vector", uploaded)
                done = round(time.perf_counter() - uploaded, 3)
            out[name] = {
                "upload_to_keyword_findable_s": keyword,
                "upload_to_meaning_findable_s": meaning,
                "upload_to_done_s": done,
                "rows_without_vectors_at_keyword_findable": unembedded,
            }
            print(name, json.dumps(out[name]), flush=True)
            delete_document(kb, doc)
        shutdown_jobs(kb)
        return out
    finally:
        kb.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 30000])
    parser.add_argument(
        "--cache",
        type=Path,
        help="an embedding cache of this bench's own to reuse between runs (it holds stand-in "
        "vectors under e5-small's name: never point it at a real cache); default: a scratch one",
    )
    parser.add_argument(
        "--cold",
        type=int,
        metavar="ROWS",
        help="only the cold-cache case: a ROWS-passage document never embedded, uploaded into "
        "each size (writes incremental_cold.json)",
    )
    args = parser.parse_args()
    # 30k rows need both insuranceqa corpora (27,413 passages each); 1k and 10k take Chinese only.
    base = _passages("insuranceqa_zh") + _passages("insuranceqa_en")
    standin = StandIn(make_embedder("e5-small"))
    standin.real.embed_queries(["load the model"])  # model load is not ingest time
    result: dict[str, Any] = {
        "machine": machine_info(),
        "vectors": "base: stand-in (hash-seeded random unit vectors, no recall measured); "
        "new document: real e5-small, from the cache in the timed runs",
        "merge_policy": MergePolicy().__dict__,
        "sizes": {},
    }
    if args.cold:
        result["vectors"] = (
            "base: stand-in (hash-seeded random unit vectors); the new document: real e5-small, "
            "never embedded before (a fresh scratch cache), embedded in the timed run"
        )
        with tempfile.TemporaryDirectory() as tmp:
            for size in args.sizes:
                cache = Path(tmp) / f"cache-{size}"
                result["sizes"][str(size)] = run_cold(Path(tmp), cache, standin, base, size,
                                                      args.cold)  # fmt: skip
        args.out.mkdir(parents=True, exist_ok=True)
        text = json.dumps(result, indent=2) + "\n"
        (args.out / "incremental_cold.json").write_text(text, "utf-8")
        return
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            cache = args.cache or Path(tmp) / "cache"
            result["sizes"][str(size)] = run_size(Path(tmp), cache, standin, base, size)
            print(json.dumps(result["sizes"][str(size)], indent=2), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "incremental.json").write_text(json.dumps(result, indent=2) + "\n", "utf-8")


if __name__ == "__main__":
    main()
