"""What learning from feedback costs one suggestion: learning on against off, in one run.

The bundled sample knowledge base is ingested into a scratch data dir; agents' feedback on a few
questions gives the learned state something to hold; then each query of a list the learned
state has never seen (customer questions and the half-typed drafts an agent's panel sends) is
suggested with learning on and with it off, alternately, on the same data. Every query is
embedded before the clock starts, so both sides read its vector from the QueryEncoder's memo and
the difference is learning's own work (intent lookup, adjustments, any write).

    python bench/replay_cost.py --cache data/sample-cache
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import machine_info
from kb.assist.conversation import Turn
from kb.assist.suggest import SuggestInput, suggest
from kb.context import KnowledgeBase
from kb.documents.ingestion import ingest_items
from kb.documents.samples import load_sample
from kb.insight.feedback import record_feedback
from kb.learning import refresh
from kb.settings import Settings
from search.normalize import normalize

# Questions agents gave feedback on (three agents each: the minimum before anything moves).
TAUGHT = (
    "退货的运费是我出还是你们出？",
    "退款多久到账？",
    "Who pays the shipping cost of a return?",
)
AGENTS = [f"user:agent{n}@cost.test" for n in range(3)]
# Never seen by the learned state: whole questions and the drafts typed on the way to them.
QUESTIONS = (
    "扫地机器人买回来不想要了能退吗",
    "拆开用过还能七天无理由吗",
    "七天从哪天开始算",
    "换货要多久",
    "保修期是多久",
    "电池充不进电怎么办",
    "滤网多久换一次",
    "地图丢失了怎么重新建图",
    "How long is the warranty?",
    "Can I exchange a faulty unit?",
    "发票可以开公司抬头吗",
    "运费险怎么用",
)


def drafts(question: str) -> list[str]:
    """The texts a panel sends while the agent types ``question``: every third prefix."""
    return [question[:n] for n in range(3, len(question), 3)] + [question]


def timed(kb: KnowledgeBase, text: str) -> float:
    turn = Turn(role="customer", text=text)
    start = time.perf_counter()
    suggest(kb, SuggestInput(conversation=[turn], limit=5))
    return (time.perf_counter() - start) * 1000


def run(cache: Path, scratch: Path, rounds: int) -> dict[str, Any]:
    settings = Settings(data_dir=scratch / "data", cache_dir=cache, database_url=None)
    on = KnowledgeBase(settings)
    sample = load_sample()
    for collection, items in sample.collection_items.items():
        ingest_items(on, items, collection=collection)
    off = KnowledgeBase(settings.model_copy(update={"learning": False}), embedder=on.embedder)
    try:
        for question in TAUGHT:
            for agent in AGENTS:
                turn = Turn(role="customer", text=question)
                made = suggest(on, SuggestInput(conversation=[turn], limit=5, actor=agent))
                record_feedback(
                    on,
                    suggestion_id=made.suggestion_id,
                    item_id=made.answers[1].id,
                    action="inserted",
                    actor=agent,
                )
        refresh(on, settings.default_collection)
        texts = list(dict.fromkeys(t for q in QUESTIONS for t in drafts(q)))
        on.encoder.embed_queries([normalize(t) for t in texts])
        off.encoder.embed_queries([normalize(t) for t in texts])
        timed(on, texts[0]), timed(off, texts[0])  # warm both paths once
        times: dict[str, list[float]] = {"on": [], "off": []}
        for n in range(rounds):
            for text in texts:
                # Alternate which goes first, so neither always finds the caches warmer.
                order = (("on", on), ("off", off)) if n % 2 == 0 else (("off", off), ("on", on))
                for name, kb in order:
                    times[name].append(timed(kb, text))
    finally:
        off.close()
        on.close()
    median = {name: statistics.median(values) for name, values in times.items()}
    return {
        "suggestions_each": len(times["on"]),
        "distinct_queries": len(texts),
        "rounds": rounds,
        "median_ms": {name: round(value, 2) for name, value in median.items()},
        "ratio_on_over_off": round(median["on"] / median["off"], 3),
        "machine": machine_info(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cache", type=Path, default=Path("data/sample-cache"))
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="kb-learning-cost-"))
    try:
        shutil.copytree(args.cache, scratch / "cache")  # a copy: runs never write the shared one
        result = run(scratch / "cache", scratch, args.rounds)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
