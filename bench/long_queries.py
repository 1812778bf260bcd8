"""Quality of long messages read whole against read within a budget (search/query_budget.py).

A long-query view of the dev sets, built here deterministically and never stored: each sampled
dev query wrapped in what a long customer message holds besides its question — a greeting,
sentences taken from OTHER passages of the same corpus (the story around the question, on
neighbouring topics), a closing — to about 1,900 characters. Two of three put the question
last, one of three first. Every budget is run through the real search path on one ingested
corpus, next to reading the whole message; the dev queries themselves are checked to be read
byte for byte as before (same embedded text, same BM25 terms). Writes
bench/results/long_queries.json.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import search.query_budget as query_budget
from bench.eval_sets import load_set
from bench.machine import machine_info
from bench.query_vectors import stored_queries
from kb.context import KnowledgeBase
from kb.documents.ingestion import DocumentMeta, IngestItem, ingest_items
from kb.retrieval.evaluation import EVAL_COLLECTION, Query, load_queries, passage_id, run_queries
from kb.settings import Settings
from search.embedders.base import Embedder
from search.hybrid import HybridSearcher
from search.normalize import normalize
from search.query_budget import QueryBudget, bound

SETS = ["tara_dingtalk", "drcd_zh_hant", "crosslang_en_zh", "manuals_sample_kb"]
FULL = QueryBudget(whole_words=10**6, embed_words=10**6, bm25_terms=10**6)
BUDGETS = [(32, 32), (48, 32), (64, 16), (64, 32), (64, 64), (96, 32)]
TARGET_CHARS = 1900
GREETINGS = {
    "zh": ["你好，在吗？", "您好，客服。", "你好，我想咨询一个问题。", "在吗，打扰一下。"],
    "en": ["Hi there.", "Hello, I hope you can help me.", "Good morning.", "Hi, quick question."],
}
CLOSINGS = {
    "zh": ["谢谢，麻烦尽快回复！", "辛苦了，等你回复。", "多谢！", "麻烦帮我看一下，谢谢。"],
    "en": ["Thanks a lot!", "Please let me know asap, thank you.", "Thanks.", "Cheers."],
}
_SENTENCE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;]?|[^.]+\.(?:\s|$)")
_CJK = re.compile(r"[\u3400-\u9fff]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/bench/data"))
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--cache", type=Path, default=Path("data/bench-cache"))
    parser.add_argument("--sets", nargs="*", default=SETS, choices=SETS)
    parser.add_argument("--sample", type=int, default=150, help="queries per set (seeded)")
    args = parser.parse_args()
    settings = Settings(cache_dir=args.cache)
    embedder = stored_queries(settings)
    report: dict[str, Any] = {"machine": machine_info(), "target_chars": TARGET_CHARS, "sets": {}}
    with tempfile.TemporaryDirectory(prefix="kb-long-") as scratch:
        for name in args.sets:
            report["sets"][name] = run_set(name, args, settings, embedder, Path(scratch))
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / "long_queries.json").write_text(
                json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
            )
    report["budget"] = asdict(query_budget.DEFAULT_BUDGET)
    (args.out / "long_queries.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )


def run_set(
    name: str, args: argparse.Namespace, settings: Settings, embedder: Embedder, scratch: Path
) -> dict[str, Any]:
    (scratch / name).mkdir(parents=True, exist_ok=True)
    chosen = load_set(name, args.data, scratch / name)
    queries = load_queries(chosen.queries)
    if isinstance(chosen.corpus, Path):
        items = [
            IngestItem(chosen.corpus.name, chosen.corpus.read_bytes(), DocumentMeta(doc_type="faq"))
        ]
    else:
        items = list(chosen.corpus)
    with tempfile.TemporaryDirectory(prefix="kb-long-data-") as tmp:
        kb = KnowledgeBase(
            settings.model_copy(
                update={
                    "data_dir": Path(tmp),
                    "database_url": None,
                    "cache_dir": settings.embedding_cache_path.parent,
                    "max_upload_bytes": 10**9,
                }
            ),
            embedder=embedder,
        )
        try:
            ingest_items(kb, items, collection=EVAL_COLLECTION)
            searcher = kb.searchers.get(EVAL_COLLECTION)
            assert searcher is not None
            out: dict[str, Any] = {
                "dev_queries": len(queries),
                "dev_read_as_before": untouched(searcher, queries),
            }
            sample = sorted(random.Random(name).sample(queries, min(args.sample, len(queries))),
                            key=lambda q: q.id)  # fmt: skip
            long = long_view(searcher, sample, random.Random(f"{name}-long"))
            out["long_queries"] = len(long)
            out["long_chars_mean"] = round(sum(len(q.text) for q in long) / len(long))
            last = [q for q in long if q.id.endswith("#last")]
            first = [q for q in long if q.id.endswith("#first")]
            runs: dict[str, Any] = {}
            for label, budget in [("full", FULL)] + [
                (f"{w}w/{t}t", QueryBudget(whole_words=128, embed_words=w, bm25_terms=t))
                for w, t in BUDGETS
            ]:
                query_budget.DEFAULT_BUDGET = budget
                start = time.perf_counter()
                row: dict[str, Any] = {
                    part: _metrics(run_queries(kb, chosen_queries, "hybrid"))
                    for part, chosen_queries in (("all", long), ("last", last), ("first", first))
                }
                row["short"] = _metrics(run_queries(kb, sample, "hybrid"))
                row["wall_s"] = round(time.perf_counter() - start, 1)
                runs[label] = row
                print(name, label, json.dumps(row), flush=True)
            query_budget.DEFAULT_BUDGET = DEFAULT
            out["runs"] = runs
        finally:
            kb.close()
    return out


def untouched(searcher: HybridSearcher, queries: list[Query]) -> dict[str, int]:
    """How many dev queries the default budget leaves exactly as they were (text and terms)."""
    same = 0
    for q in queries:
        text = normalize(q.text)
        terms = searcher.tokenizer.query_terms(text)
        got = bound(text, searcher.generation.bm25.idf, searcher.tokenizer.query_terms)
        same += got.embed == text and got.terms == terms
    return {"same": same, "changed": len(queries) - same}


def long_view(searcher: HybridSearcher, sample: list[Query], rng: random.Random) -> list[Query]:
    """Each query inside a ~1,900-character message padded from other passages (module doc)."""
    chunks = searcher.generation.chunks
    out = []
    for n, q in enumerate(sample):
        lang = "zh" if _CJK.search(q.text) else "en"
        pool = [
            c.text
            for c in (chunks[i] for i in rng.sample(range(len(chunks)), min(200, len(chunks))))
            if passage_id(c, q.passages) not in q.relevant
            and bool(_CJK.search(c.text)) == (lang == "zh")
        ]
        sentences = [s.strip() for text in pool for s in _SENTENCE.findall(text) if s.strip()]
        sentences = [s for s in sentences if 8 <= len(s) <= 200]
        question = q.text.strip()
        if question[-1:] not in "。！？!?.":
            question += "。" if lang == "zh" else "."
        greeting, closing = rng.choice(GREETINGS[lang]), rng.choice(CLOSINGS[lang])
        room = TARGET_CHARS - len(greeting) - len(closing) - len(question)
        story: list[str] = []
        for s in sentences:
            if sum(len(x) + 1 for x in story) + len(s) > room:
                break
            story.append(s if s[-1:] in "。！？!?；;." else s + ("。" if lang == "zh" else "."))
        sep = "" if lang == "zh" else " "
        where = "first" if n % 3 == 2 else "last"
        parts = [greeting, *story, question] if where == "last" else [greeting, question, *story]
        text = sep.join([*parts, closing])
        out.append(replace(q, id=f"{q.id}#{where}", text=text))
    return out


def _metrics(result: dict[str, Any]) -> dict[str, Any]:
    keys = ("queries", "mrr@10", "recall@1", "recall@10", "p50_ms", "p95_ms")
    return {k: result[k] for k in keys if k in result}


DEFAULT = query_budget.DEFAULT_BUDGET

if __name__ == "__main__":
    main()
