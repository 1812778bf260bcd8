"""How long saving a vocabulary takes: the console waits while every collection is re-indexed.

Ingests each corpus into a fresh data dir (embeddings from --cache, so only the first run
embeds), then saves the sample KB's vocabulary through ``kb.vocabulary.save_vocabulary`` and
times it; the re-index reuses every cached embedding, so this is tokenising and index writing.
Writes bench/results/vocabulary.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import machine_info
from kb.context import KnowledgeBase
from kb.documents.ingestion import DocumentMeta, IngestItem, ingest_items
from kb.documents.samples import load_sample
from kb.retrieval.vocabulary import Vocabulary, save_vocabulary
from kb.settings import Settings

CORPORA = {
    "tara_dingtalk": "tara_dingtalk/corpus.jsonl",
    "insuranceqa_zh": "insuranceqa_zh/corpus.jsonl",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/bench/data"))
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--cache", type=Path, default=Path("data/bench-cache"))
    # insuranceqa_zh (27k passages) is opt-in: with a cold cache it embeds for an hour.
    parser.add_argument("--sets", nargs="*", default=["tara_dingtalk"], choices=sorted(CORPORA))
    args = parser.parse_args()
    sample = load_sample()
    assert sample.user_dict and sample.synonyms
    vocabulary = Vocabulary(sample.user_dict.read_text("utf-8"), sample.synonyms.read_text("utf-8"))
    runs: list[dict[str, Any]] = []
    for name in args.sets:
        corpus = args.data / CORPORA[name]
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(
                data_dir=Path(tmp),
                cache_dir=args.cache,
                max_upload_bytes=corpus.stat().st_size + 1,
            )
            kb = KnowledgeBase(settings)
            item = IngestItem(corpus.name, corpus.read_bytes(), DocumentMeta(doc_type="faq"))
            start = time.perf_counter()
            [result] = ingest_items(kb, [item], collection="default")
            ingest_s = time.perf_counter() - start
            assert result.status == "ingested", result.reason
            start = time.perf_counter()
            done = save_vocabulary(kb, vocabulary)
            save_s = time.perf_counter() - start
            kb.close()
        run = {
            "set": name,
            "chunks": result.chunks,
            "ingest_with_cached_embeddings_s": round(ingest_s, 2),
            "save_and_reindex_s": round(save_s, 2),
            "collections": len(done.collections),
        }
        print(json.dumps(run), flush=True)
        runs.append(run)
    report = {
        "what": "saving the sample vocabulary re-indexes every collection (embeddings cached)",
        "machine": machine_info(),
        "runs": runs,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "vocabulary.json").write_text(json.dumps(report, indent=2) + "\n", "utf-8")


if __name__ == "__main__":
    main()
