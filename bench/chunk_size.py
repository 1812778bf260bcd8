"""Choose the chunk size by measurement on whole documents, not pre-cut passages.

The drcd_zh_hant paragraphs are regrouped into one Markdown document per Wikipedia article
(title as heading, paragraphs in corpus order), ingested through the real pipeline at each
`--sizes` value and searched through the real hybrid path. A retrieved chunk counts as
relevant when it shares at least half of the smaller one's character bigrams with the
query's answer paragraph (a chunk inside the paragraph, or the paragraph inside a chunk).
Small chunks rank precisely but cut answers apart; large ones keep answers whole but give
the agent more to read, so the mean chunk length is reported beside the metrics.
Writes bench/results/chunk_size.json.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import machine_info
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.documents.ingestion import IngestItem, ingest_items
from kb.retrieval.confidence import bigrams
from kb.retrieval.evaluation import load_queries, score_ranking
from kb.retrieval.indexing import live_chunks
from kb.retrieval.searching import SearchRequest, search
from kb.settings import Settings


def articles(
    corpus: Path, limit: int, seed: int
) -> tuple[dict[str, list[dict[str, str]]], dict[str, str]]:
    by_title: dict[str, list[dict[str, str]]] = defaultdict(list)
    for line in corpus.read_text("utf-8").splitlines():
        row = json.loads(line)
        by_title[row["title"]].append(row)
    titles = sorted(by_title)
    random.Random(seed).shuffle(titles)
    chosen = {t: by_title[t] for t in titles[:limit]}
    paragraphs = {p["id"]: p["text"] for rows in chosen.values() for p in rows}
    return chosen, paragraphs


def measure(settings: Settings, docs: dict[str, list[dict[str, str]]], queries: list[Any],
            paragraphs: dict[str, str], size: int) -> dict[str, Any]:  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        kb = KnowledgeBase(settings.model_copy(update={"data_dir": Path(tmp), "chunk_chars": size}))
        items = [
            IngestItem(
                f"{n:04d}.md", (f"# {title}\n\n" + "\n\n".join(p["text"] for p in rows)).encode()
            )
            for n, (title, rows) in enumerate(docs.items())
        ]
        results = ingest_items(kb, items, collection="default")
        chunks = sum(r.chunks for r in results)
        with session_scope(kb.engine) as session:
            lengths = [len(c.text) for c in live_chunks(session, "default")]
        totals: dict[str, float] = defaultdict(float)
        answer_grams = {pid: bigrams(text) for pid, text in paragraphs.items()}
        for q in queries:
            [pid] = q.relevant
            hits = search(kb, SearchRequest(q.text, limit=10))
            ranked: list[str] = []
            for h in hits:
                grams, answer = bigrams(h.chunk.text), answer_grams[pid]
                share = len(grams & answer) / max(1, min(len(grams), len(answer)))
                label = pid if share >= 0.5 else h.chunk.chunk_id
                if label not in ranked:  # one answer counted once, as kb eval does
                    ranked.append(label)
            for name, value in score_ranking(ranked, q.relevant).items():
                totals[name] += value
        kb.close()
    out = {name: round(v / len(queries), 4) for name, v in totals.items()}
    mean = round(sum(lengths) / len(lengths))
    return {"max_chars": size, "chunks": chunks, "mean_chunk_chars": mean, **out}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/bench/data"))
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--cache", type=Path, default=Path("data/bench-cache"))
    parser.add_argument("--articles", type=int, default=60)
    parser.add_argument("--sizes", type=int, nargs="*", default=[200, 350, 600, 1000])
    args = parser.parse_args()
    docs, paragraphs = articles(args.data / "drcd_zh_hant/corpus.jsonl", args.articles, seed=7)
    queries = [
        q for q in load_queries(args.data / "drcd_zh_hant/queries_dev.jsonl")
        if len(q.relevant) == 1 and next(iter(q.relevant)) in paragraphs
    ]  # fmt: skip
    settings = Settings(cache_dir=args.cache)
    rows = []
    for size in args.sizes:
        rows.append(measure(settings, docs, queries, paragraphs, size))
        print(json.dumps(rows[-1]), flush=True)
    result = {"machine": machine_info(), "articles": len(docs), "paragraphs": len(paragraphs),
              "queries": len(queries), "rows": rows}  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "chunk_size.json").write_text(json.dumps(result, indent=2) + "\n", "utf-8")


if __name__ == "__main__":
    main()
