"""The write that takes a collection's deltas past the merge policy: a synchronous rebuild before,
a delta plus a background merge now (kb/retrieval/merging.py).

Through the real path (``ingest_items``: parse, SQL, index) on real text, as bench/incremental.py:
a base of ``--size`` insuranceqa_zh passages as FAQ sheets of 50 rows, then small DRCD sheets
(``SMALL_ROWS`` rows each) uploaded one by one until the fifth crosses the policy (more than 4
deltas). Every vector is a STAND-IN (bench/incremental.py's hash-seeded unit vectors): this
measures indexing time, never relevance. Two data dirs built the same way:

- ``synchronous``: the policy's ceiling at 1 (what every release before background merges did):
  the crossing write rebuilds the collection before it returns;
- ``background``: the default policy: the crossing write publishes its delta and returns, a
  thread merges. While it merges, this process searches (bm25, through the searcher registry)
  and uploads one more sheet, timed: searches answer and the write lands as a delta.

Each mode runs ``--repeat`` times, the order alternating; the ratio is of the medians. Writes
bench/results/merge.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.incremental import ROWS_PER_SHEET, StandIn, _findable, _passages, _sheet
from bench.machine import machine_info
from kb.context import KnowledgeBase
from kb.documents.ingestion import IngestItem, ingest_items
from kb.retrieval.merging import background_merges
from kb.retrieval.searching import SearchRequest, search
from kb.settings import Settings
from search.embedders.factory import make_embedder
from search.segments import MergePolicy

SMALL_ROWS = 20
UPLOADS = 5  # the fifth makes five deltas: past MergePolicy().max_deltas


def _upload(kb: KnowledgeBase, name: str, rows: list[dict[str, str]]) -> tuple[float, str]:
    start = time.perf_counter()
    [result] = ingest_items(kb, [IngestItem(name, _sheet(rows))], collection="default")
    assert result.status == "ingested" and result.document_id, result.reason
    return time.perf_counter() - start, result.document_id


def _segments(kb: KnowledgeBase) -> int:
    searcher = kb.searchers.get("default")
    assert searcher is not None
    return searcher.generation.segments


def run(root: Path, standin: StandIn, size: int, mode: str) -> dict[str, Any]:
    kb = KnowledgeBase(Settings(data_dir=root / mode, cache_dir=root / "cache"), embedder=standin)
    if mode == "synchronous":
        kb.index_store.merge_policy = MergePolicy(ceiling=1.0)
    base, small = _passages("insuranceqa_zh"), _passages("drcd_zh_hant")
    try:
        width = ROWS_PER_SHEET
        sheets = [
            IngestItem(f"base-{i:04d}.csv", _sheet(base[i * width : (i + 1) * width]))
            for i in range(size // width)
        ]
        start = time.perf_counter()
        ingest_items(kb, sheets, collection="default")
        base_s = time.perf_counter() - start
        writes = []
        for n in range(UPLOADS):
            rows = small[n * SMALL_ROWS : (n + 1) * SMALL_ROWS]
            seconds, doc = _upload(kb, f"small-{n}.csv", rows)
            writes.append(round(seconds, 3))
            crossing_doc, probe = doc, rows[0]["text"][:40]
        assert _findable(kb, probe, crossing_doc)  # the crossing write's rows answer at once
        result: dict[str, Any] = {
            "base_chunks": size,
            "base_build_s": round(base_s, 2),
            "write_s": writes,
            "crossing_write_s": writes[-1],
            "segments_after_crossing_write": _segments(kb),
            "load_average": round(os.getloadavg()[0], 1),
        }
        if mode == "background":
            result |= _during_merge(kb, small)
        return result
    finally:
        background_merges(kb).wait()
        kb.close()


def _during_merge(kb: KnowledgeBase, small: list[dict[str, str]]) -> dict[str, Any]:
    """Search and write while the merge the crossing write started runs; then wait for it."""
    start = time.perf_counter()
    merges = background_merges(kb)
    running = merges.running("default")
    query = SearchRequest(small[0]["text"][:20], limit=10, mode="bm25")
    during = _search_times(kb, query)
    rows = small[UPLOADS * SMALL_ROWS : (UPLOADS + 1) * SMALL_ROWS]
    write_s, doc = _upload(kb, "during-merge.csv", rows)
    still = merges.running("default")
    merges.wait()
    merged_s = time.perf_counter() - start
    assert _findable(kb, rows[0]["text"][:40], doc)  # the write during the merge was kept
    return {
        "merge_running_at_first_search": running,
        "merge_running_after_write_during_it": still,
        "search_during_merge_ms_p50": round(statistics.median(during) * 1000, 2),
        "search_after_merge_ms_p50": round(statistics.median(_search_times(kb, query)) * 1000, 2),
        "write_during_merge_s": round(write_s, 3),
        "merge_done_after_crossing_write_s": round(merged_s, 2),
        "segments_after_merge": _segments(kb),
    }


def _search_times(kb: KnowledgeBase, query: SearchRequest) -> list[float]:
    times = []
    for _ in range(20):
        begun = time.perf_counter()
        assert search(kb, query)
        times.append(time.perf_counter() - begun)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("bench/results/merge.json"))
    args = parser.parse_args()
    standin = StandIn(make_embedder("e5-small"))
    standin.real.embed_queries(["load the model"])
    standin.on = True  # every passage a stand-in: this measures indexing, not relevance
    result: dict[str, Any] = {
        "machine": machine_info(),
        "vectors": "stand-in (hash-seeded random unit vectors): time only, no relevance",
        "merge_policy": MergePolicy().__dict__,
        "small_document_rows": SMALL_ROWS,
    }
    modes = ["synchronous", "background"]
    runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in modes}
    for repeat in range(args.repeat):
        # Each repeat in the other order: a change in the machine's load hits both alike.
        for mode in modes if repeat % 2 == 0 else modes[::-1]:
            with tempfile.TemporaryDirectory() as tmp:
                runs[mode].append(run(Path(tmp), standin, args.size, mode))
            print(json.dumps(runs[mode][-1], indent=2), flush=True)
    result |= runs
    crossing = {m: statistics.median(r["crossing_write_s"] for r in runs[m]) for m in modes}
    result["crossing_write_s_median"] = crossing
    result["crossing_write_ratio_synchronous_over_background"] = round(
        crossing["synchronous"] / max(crossing["background"], 1e-3), 1
    )
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
