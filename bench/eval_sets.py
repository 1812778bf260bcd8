"""The evaluation sets: the shared public ones and ours built on them (bench/data/README.md)."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from kb.documents.ingestion import IngestItem
from kb.documents.samples import load_sample
from kb.retrieval.vocabulary import Vocabulary

OURS = Path(__file__).resolve().parent / "data"

# Shared sets: (corpus, queries) under --data.
SHARED = {
    "tara_dingtalk": ("tara_dingtalk/corpus.jsonl", "tara_dingtalk/queries_dev.jsonl"),
    "tara_dingtalk_hant": ("tara_dingtalk/corpus.jsonl", "tara_dingtalk/queries_dev_hant.jsonl"),
    "drcd_zh_hant": ("drcd_zh_hant/corpus.jsonl", "drcd_zh_hant/queries_dev.jsonl"),
    "insuranceqa_zh": ("insuranceqa_zh/corpus.jsonl", "insuranceqa_zh/queries_dev.jsonl"),
    "insuranceqa_en": ("insuranceqa_en/corpus.jsonl", "insuranceqa_en/queries_dev.jsonl"),
}
# Ours: queries under bench/data; the corpus is built at run time.
CROSSLANG = {"crosslang_en_zh": "queries_en_zh.jsonl", "crosslang_zh_en": "queries_zh_en.jsonl"}
MANUALS = "manuals_sample_kb"
# Conversations (bench/data/conversations): scored through the suggest path, not plain search.
CONVERSATIONS = {
    "conversations_sample_kb": "sample_kb.jsonl",
    "conversations_tara": "tara.jsonl",
}
NAMES = [*SHARED, *CROSSLANG, MANUALS, *CONVERSATIONS]
DEFAULT = [
    "tara_dingtalk", "tara_dingtalk_hant", "drcd_zh_hant", *CROSSLANG, MANUALS, *CONVERSATIONS
]  # fmt: skip


@dataclass(frozen=True)
class EvalSet:
    name: str
    corpus: Path | list[IngestItem]
    queries: Path
    corpus_key: str  # sets with the same key share one ingested corpus
    vocabulary: Vocabulary | None = None
    conversations: bool = False  # scored through suggest (bench/conversations.py)


def load_set(name: str, data: Path, scratch: Path) -> EvalSet:
    """Set ``name``; a built corpus is written under ``scratch`` (once per key)."""
    if name in SHARED:
        corpus, queries = SHARED[name]
        return EvalSet(name, data / corpus, data / queries, corpus)
    if name in CROSSLANG:
        corpus = crosslang_corpus(data, scratch)
        return EvalSet(name, corpus, OURS / "crosslang" / CROSSLANG[name], "crosslang")
    if name == MANUALS:
        items, vocabulary = sample_corpus()
        manuals = OURS / "manuals" / "queries_dev.jsonl"
        return EvalSet(name, items, manuals, "sample_kb", vocabulary)
    if name in CONVERSATIONS:
        turns = OURS / "conversations" / CONVERSATIONS[name]
        if name == "conversations_tara":
            tara = SHARED["tara_dingtalk"][0]
            return EvalSet(name, data / tara, turns, tara, conversations=True)
        items, vocabulary = sample_corpus()
        return EvalSet(name, items, turns, "sample_kb", vocabulary, conversations=True)
    raise ValueError(f"unknown evaluation set {name!r}: expected one of {NAMES}")


def sample_corpus() -> tuple[list[IngestItem], Vocabulary]:
    """The bundled sample knowledge base's documents with its manifest metadata and vocabulary."""
    sample = load_sample()
    items = [item for batch in sample.collection_items.values() for item in batch]
    words = sample.user_dict.read_text("utf-8") if sample.user_dict else ""
    synonyms = sample.synonyms.read_text("utf-8") if sample.synonyms else ""
    return items, Vocabulary(words, synonyms)


def crosslang_corpus(data: Path, scratch: Path) -> Path:
    """tara's Chinese corpus plus a seeded sample of English insurance FAQ passages.

    insuranceqa is research-only, so only the seed and the ids live in this repository.
    """
    out = scratch / "crosslang_corpus.jsonl"
    if out.exists():
        return out
    spec = json.loads((OURS / "crosslang" / "corpus.json").read_text("utf-8"))
    base = (data / spec["base"]).read_text("utf-8").splitlines()
    extra = [line for line in (data / spec["extra"]).read_text("utf-8").splitlines() if line]
    ids = [json.loads(line)["id"] for line in extra]
    chosen = set(random.Random(spec["seed"]).sample(sorted(ids), spec["sample"]))
    chosen |= set(spec["always"])
    picked = [line for line, pid in zip(extra, ids, strict=True) if pid in chosen]
    out.write_text("\n".join([*base, *picked]) + "\n", encoding="utf-8")
    return out
