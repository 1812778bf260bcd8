"""Query vectors for gap clustering, kept on disk, and the reference direction they are centred on.

Gap clustering takes out of every query vector most of the mean query vector of the bundled
sample's FAQ questions (``kb.upkeep.clustering.center``). The on-disk embedding cache holds
passage vectors only, so every fresh process embedded those 66 questions again before its first
gap listing, and the gaps' own wordings too. Here query vectors go to the same cache under their
own namespace (``<embedder>@<version>|query``: e5 embeds a text differently as a query and as a
passage, so the two never mix), exactly as the embedder returned them (float32): a later
process reads them and the clusters come out the same.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np

from kb.context import KnowledgeBase, Slot
from kb.documents.samples import SAMPLE_DIR
from search.cache import embedder_key, text_hash


def reference_questions(root: Path = SAMPLE_DIR) -> list[str]:
    """The bundled sample's FAQ questions (Simplified, Traditional, English): ordinary customer
    questions on many subjects, whose mean query vector is the direction all of them share."""
    questions = []
    for path in sorted((root / "faq").iterdir()):
        if path.suffix == ".csv":
            rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
            questions += [row[0] for row in rows[1:] if row]
        elif path.suffix == ".jsonl":
            lines = path.read_text(encoding="utf-8").splitlines()
            questions += [json.loads(line)["question"] for line in lines if line.strip()]
    return questions


def query_vectors(kb: KnowledgeBase, texts: list[str]) -> np.ndarray:
    """The query vectors of ``texts`` (rows in order): read from the embedding cache where an
    earlier call stored them, the rest embedded by ``kb.encoder`` and stored."""
    encoder = kb.encoder
    namespace = f"{embedder_key(encoder)}|query"
    keys = [(namespace, text_hash(text)) for text in texts]
    cache = kb.embedding_cache
    found = {k: v for k, v in cache.get_many(keys).items() if v.shape == (encoder.dim,)}
    missing = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in found))
    if missing:
        fresh = encoder.embed_queries(missing)
        stored = {(namespace, text_hash(t)): fresh[i] for i, t in enumerate(missing)}
        cache.put_many(stored)
        found.update({k: np.asarray(v, dtype=np.float32) for k, v in stored.items()})
    if not texts:
        return np.zeros((0, encoder.dim), dtype=np.float32)
    return np.stack([found[k] for k in keys])


def _reference_mean(kb: KnowledgeBase) -> np.ndarray:
    vectors = query_vectors(kb, reference_questions())
    return np.asarray(vectors, dtype=np.float64).mean(axis=0)


# Made once per process from the cached vectors (so it follows KB_EMBEDDER).
_REFERENCE: Slot[np.ndarray] = Slot("upkeep.reference_mean", _reference_mean)


def reference_mean(kb: KnowledgeBase) -> np.ndarray:
    """The mean query vector of the reference questions, for ``kb``'s embedder."""
    return kb.state(_REFERENCE)
