"""How well the intent rule (kb/learning/intents.py ``same_intent``) tells queries that mean the
same from those that do not, with the keyword overlap on raw character bigrams and with the
chat framing taken out first (search/framing.py).

Pairs come from the dev questions of tara_dingtalk and insuranceqa_zh (a pair shares an intent
when the two share a relevant answer):

- ``same``: two dev questions of one answer, and a question against itself in a chat framing;
- ``other``: two questions of different answers that the embedder puts close (cosine at least
  KEYWORD_COSINE), as they are and both in the same framing (the case that merged two intents in
  the learning replay).

The framings here are not the replay's (bench/replay_agents.py REWRITES), and several are not in
search/framing.py at all, so the figures are not a reading of the list against itself.

    python bench/intent_rule.py --data ../shared/bench/data --out bench/results/intent_rule.json
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import machine_info
from kb.learning.intents import KEYWORD_COSINE, keyword_overlap, same_intent
from kb.learning.intents import bigrams as content_bigrams
from kb.retrieval.evaluation import load_queries
from search.embedders.factory import make_embedder
from search.normalize import normalize

SETS = ("tara_dingtalk", "insuranceqa_zh")
FRAMINGS = (
    "在吗？{q}", "{q}，多谢了", "哈喽，想了解一下{q}", "我想知道{q}", "打扰了，{q}？",
    "{q}呀？在线等", "您好！请问{q}", "亲，{q}？",
)  # fmt: skip
NEGATIVE_SAMPLE = 400


def raw_bigrams(text: str) -> frozenset[str]:
    """The rule's keyword side before framing was taken out."""
    folded = "".join(normalize(text).split())
    return frozenset(folded[i : i + 2] for i in range(len(folded) - 1)) or frozenset([folded])


def framed(text: str, framing: str) -> str:
    return framing.format(q=text.rstrip("？?。！!．. "))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/bench/data"))
    parser.add_argument("--out", type=Path, default=Path("bench/results/intent_rule.json"))
    parser.add_argument("--seed", type=int, default=19)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    embedder = make_embedder()

    texts: list[str] = []
    answers: list[frozenset[str]] = []
    for name in SETS:
        for q in load_queries(args.data / name / "queries_dev.jsonl"):
            texts.append(q.text)
            answers.append(q.relevant)
    plain = _unit(embedder.embed_queries([normalize(t) for t in texts]))

    by_answer: dict[str, list[int]] = defaultdict(list)
    for i, rel in enumerate(answers):
        for a in rel:
            by_answer[a].append(i)
    same_pairs = sorted({(g[i], g[j]) for g in by_answer.values() for i in range(len(g))
                         for j in range(i + 1, len(g))})  # fmt: skip
    cos = plain @ plain.T
    close = np.argwhere(np.triu(cos >= KEYWORD_COSINE, k=1))
    hard = [(int(i), int(j)) for i, j in close if not answers[i] & answers[j]]
    hard = rng.sample(hard, min(NEGATIVE_SAMPLE, len(hard)))

    self_framed = [framed(texts[i], rng.choice(FRAMINGS)) for i in range(len(texts))]
    self_vectors = _unit(embedder.embed_queries([normalize(t) for t in self_framed]))
    pair_framings = [rng.choice(FRAMINGS) for _ in hard]
    left = [framed(texts[i], f) for (i, _), f in zip(hard, pair_framings, strict=True)]
    right = [framed(texts[j], f) for (_, j), f in zip(hard, pair_framings, strict=True)]
    vl = _unit(embedder.embed_queries([normalize(t) for t in left]))
    vr = _unit(embedder.embed_queries([normalize(t) for t in right]))

    cases: dict[str, list[tuple[str, str, float]]] = {
        "same: two questions of one answer": [
            (texts[i], texts[j], float(cos[i, j])) for i, j in same_pairs
        ],
        "same: a question and itself, framed": [
            (texts[i], self_framed[i], float(plain[i] @ self_vectors[i])) for i in range(len(texts))
        ],
        "other: close questions of different answers": [
            (texts[i], texts[j], float(cos[i, j])) for i, j in hard
        ],
        "other: the same, both in one framing": [
            (a, b, float(x @ y)) for a, b, x, y in zip(left, right, vl, vr, strict=True)
        ],
    }
    rules: dict[str, Callable[[str], frozenset[str]]] = {
        "raw bigrams": raw_bigrams,
        "framing taken out": content_bigrams,
    }
    results = {
        case: {"pairs": len(pairs)}
        | {rule: _share_same(pairs, grams) for rule, grams in rules.items()}
        for case, pairs in cases.items()
    }
    out = {
        "machine": machine_info(),
        "sets": list(SETS),
        "framings": list(FRAMINGS),
        "what": "share of pairs the rule calls one intent (same: higher is better; other: lower)",
        "results": results,
    }
    args.out.write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    for case, row in results.items():
        print(f"{case:48} {row}")


def _share_same(
    pairs: Sequence[tuple[str, str, float]], grams: Callable[[str], frozenset[str]]
) -> float:
    if not pairs:
        return 0.0
    hits = sum(same_intent(c, keyword_overlap(grams(a), grams(b))) for a, b, c in pairs)
    return round(hits / len(pairs), 4)


def _unit(vectors: np.ndarray) -> np.ndarray:
    v = np.asarray(vectors, dtype=np.float32)
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


if __name__ == "__main__":
    main()
