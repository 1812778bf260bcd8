"""Start-up to first answer, split by stage, on a knowledge base of build_large.py.

What `kb serve` does before it answers (web/app.py ``_warm_up``), in-process and timed step by
step: open the knowledge base, check the live generation against the database (``ensure_fresh``),
load the generation (of which: its chunks: ``chunks.json`` read whole in format 1, the mapped
table opened in format 2), build the searcher (filter arrays, the chunks' CJK share), load the
query embedder, answer one hybrid search, and the process's resident memory then (anonymous and
file-backed apart: mapped files are shared and reclaimable); then, apart, a real `kb serve` from
its start to its first answer over HTTP (imports and the web app included) and its memory then.
Each run is a fresh process (nothing cached in memory), repeated ``--runs`` times; the JSON
gives each stage's median seconds and its share of the total, so runs of two versions of the
code on the same data dir compare as ratios (the trees' runs interleaved). ``--code`` names a
source tree to run (default: this one), e.g. an exported older commit: before and after are
measured on the same data in one sitting. ``--paired`` gives each tree its own data dir
(``--code A --data-dir X --code B --data-dir Y``): the same knowledge base with its index
written by each tree's format (``kb index rebuild``), since an older tree cannot read a newer
format.

The vectors are stand-ins where build_large.py says so: this measures time, never relevance.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

STAGES = ("open", "freshness", "chunks_read", "load_rest", "searcher", "embedder", "first_answer")
COLLECTION = "large"
QUERY = "保单可以退保吗"


def one_run(data_dir: Path) -> dict[str, float]:
    """Time each stage once, in this process (run it in a fresh one)."""
    import time

    from kb.context import KnowledgeBase
    from kb.retrieval.indexing import ensure_fresh
    from kb.settings import Settings
    from search.hybrid import HybridSearcher

    times: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        times[stage] = now - clock
        clock = now

    kb = KnowledgeBase(Settings(data_dir=data_dir, cache_dir=data_dir / "cache"))
    kb.index_store  # noqa: B018 - opening includes the store and its tokenizer
    lap("open")
    if ensure_fresh(kb, COLLECTION):
        raise SystemExit("the index was stale: rebuilt it, which is not a start-up to measure")
    lap("freshness")
    name = kb.index_store.current_generation(COLLECTION)
    assert name is not None
    main = kb.index_store.collection_dir(COLLECTION) / name
    _read_chunks(main)  # what loading the generation spends on its chunks
    lap("chunks_read")
    generation = kb.index_store.load(COLLECTION)
    lap("load_rest")
    times["load_rest"] = max(0.0, times["load_rest"] - times["chunks_read"])
    cache = kb.searchers
    searcher = HybridSearcher(
        generation, kb.index_store.embedder, generation.tokenizer, cache.config, cache.skip
    )
    lap("searcher")
    kb.embedder.embed_queries(["warm up"])
    lap("embedder")
    hits = searcher.search(QUERY, limit=10, mode="hybrid")
    lap("first_answer")
    times.update(resident_mib(os.getpid()))
    kb.close()
    times["chunks"] = float(len(generation.chunks))
    times["hits"] = float(len(hits))
    return times


def _read_chunks(generation_dir: Path) -> object:
    try:  # format 2 (search/chunktable.py) and 1 alike
        from search.chunktable import load_chunks
    except ImportError:  # a tree before format 2: chunks.json only
        from search.segments import read_chunks

        return read_chunks(generation_dir / "chunks.json")
    return load_chunks(generation_dir)


def resident_mib(pid: int) -> dict[str, float]:
    """The resident memory of process ``pid`` in MiB: all, anonymous (private) and file-backed."""
    fields = {"VmRSS": "rss_mib", "RssAnon": "rss_anon_mib", "RssFile": "rss_file_mib"}
    found: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in fields:
            found[fields[key]] = round(int(value.split()[0]) / 1024, 1)
    return found


def serve_once(data_dir: Path, code: Path) -> dict[str, float]:
    """Seconds from starting `kb serve` (``code``'s) to its first search answer over HTTP, and
    the server's resident memory then."""
    import socket
    import time

    import httpx

    from bench.latency import _wait_ready
    from kb.accounts.keys import create_key
    from kb.context import KnowledgeBase
    from kb.settings import Settings

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    kb = KnowledgeBase(Settings(data_dir=data_dir, cache_dir=data_dir / "cache"))
    key = create_key(kb, name=f"startup-{time.time_ns()}", scopes=("search",), actor="bench").key
    kb.close()
    env = {**os.environ, "PYTHONPATH": str(code), "KB_CACHE_DIR": str(data_dir / "cache")}
    base = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "kb.cli", "serve", "--data-dir", str(data_dir), "--port", str(port)],
        env=env, cwd=code, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_ready(base)
        body = {"query": QUERY, "collection": COLLECTION, "limit": 10}
        headers = {"Authorization": f"Bearer {key}"}
        httpx.post(
            f"{base}/api/v1/search", json=body, headers=headers, timeout=120
        ).raise_for_status()
        seconds = time.perf_counter() - started
        return {"serve": seconds, **{f"serve_{k}": v for k, v in resident_mib(server.pid).items()}}
    finally:
        server.terminate()
        server.wait(timeout=60)


def sample(data_dir: Path, code: Path) -> dict[str, float]:
    """One in-process run of ``code`` in a fresh process, and one `kb serve` to first answer."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    out = subprocess.run(
        [sys.executable, "-P", str(Path(__file__).resolve()), "--one", str(data_dir)],
        env=env, cwd=code, capture_output=True, text=True, check=True,
    )  # fmt: skip
    times: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    times.update(serve_once(data_dir, code))
    return times


MEMORY = ("rss_mib", "rss_anon_mib", "rss_file_mib")


def summary(samples: list[dict[str, float]]) -> dict[str, Any]:
    median = {s: statistics.median(run[s] for run in samples) for s in STAGES}
    total = sum(median.values())
    memory = {
        f"{where}{m}": statistics.median(r[f"{where}{m}"] for r in samples)
        for where in ("", "serve_")
        for m in MEMORY
        if all(f"{where}{m}" in r for r in samples)
    }
    return {
        "chunks": int(samples[0]["chunks"]),
        "runs": len(samples),
        "kb_serve_to_first_answer_seconds": round(
            statistics.median(r["serve"] for r in samples), 2
        ),
        "resident_after_first_answer_mib": memory,
        "in_process_total_seconds": round(total, 3),
        "seconds": {s: round(v, 3) for s, v in median.items()},
        "share": {s: round(v / total, 3) for s, v in median.items()},
    }


def measure(pairs: list[tuple[Path, Path]], runs: int) -> dict[str, Any]:
    """Every (tree, data dir) ``runs`` times, interleaved, so a change in the machine's load hits
    all alike."""
    samples: dict[tuple[Path, Path], list[dict[str, float]]] = {pair: [] for pair in pairs}
    load = [os.getloadavg()[0]]
    for _ in range(runs):
        for code, data_dir in pairs:
            samples[(code, data_dir)].append(sample(data_dir, code))
    load.append(os.getloadavg()[0])
    measured = {
        f"{code} on {data_dir.name}": summary(runs_of)
        for (code, data_dir), runs_of in samples.items()
    }
    dirs = sorted({str(d) for _, d in pairs})
    return {"data_dir": dirs[0] if len(dirs) == 1 else dirs, "load_average": load, "code": measured}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, action="append", default=[],
                        help="kb-<size> dir(s) of build_large.py")  # fmt: skip
    parser.add_argument("--code", type=Path, action="append", default=[],
                        help="source tree(s) to measure, in order (default: this one)")  # fmt: skip
    parser.add_argument("--paired", action="store_true",
                        help="the i-th --code runs on the i-th --data-dir (one size)")  # fmt: skip
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(one_run(args.one)))
        return
    if not args.data_dir:
        parser.error("--data-dir is required")
    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root))
    codes = args.code or [root]
    from bench.machine import machine_info

    result: dict[str, Any] = {"machine": machine_info(), "sizes": {}}
    if args.paired and len(codes) != len(args.data_dir):
        parser.error("--paired needs one --data-dir per --code")
    groups = (
        [list(zip(codes, args.data_dir, strict=True))]
        if args.paired
        else [[(code, data_dir) for code in codes] for data_dir in args.data_dir]
    )
    for pairs in groups:
        measured = measure(pairs, args.runs)
        chunks = next(iter(measured["code"].values()))["chunks"]
        result["sizes"][str(chunks)] = measured
    text = json.dumps(result, indent=2, ensure_ascii=False)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
