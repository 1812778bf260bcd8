"""Learning from feedback, replayed offline (issue 19): MRR@10 on held-apart paraphrases against
the number of agent events, per scenario (clean, noisy, one attacker, colluders).

A tara_dingtalk knowledge base is ingested once through the real path (its passages are in the
warm embedding cache given as --cache). Simulated agents (bench/replay_agents.py) work through
the training queries of a seeded sample of intents: each event is one suggestion from
``kb.assist.suggest.suggest`` (what the API calls) and the clicks the agent makes on it, recorded
through ``kb.insight.feedback.record_feedback`` under the agent's account. At 0 and at each
checkpoint the data dir is copied and the copy measured, so measuring never feeds the learning:
the paraphrases of the clicked intents (never asked during training), the training queries, and
every query of intents nobody clicked (which must not change at all).

    python bench/replay_learning.py --data ../shared/bench/data --cache data/replay-cache
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import machine_info
from bench.query_vectors import stored_queries
from bench.replay_agents import (
    SCENARIOS,
    Agents,
    AgentTurn,
    Intent,
    Scenario,
    build_intents,
    split_intents,
    turns,
)
from kb.assist.conversation import Turn
from kb.assist.suggest import SuggestInput, suggest
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.documents.ingestion import DocumentMeta, IngestItem, ingest_items
from kb.errors import Invalid
from kb.insight.feedback import record_feedback
from kb.learning import refresh
from kb.retrieval.indexing import live_chunks
from kb.settings import Settings
from search.embedders.base import Embedder

COLLECTION = "replay"
DEPTH = 10
CHECKPOINTS = (10, 100, 1_000, 3_000, 10_000)
MEASURER = "user:measure@replay.test"
# The product recomputes what it learned once a minute (kb.learning.adjustments.REFRESH_SECONDS);
# agents working a busy queue take ~100 turns a minute, so the replay recomputes every 100 turns
# (by count, not by the clock: a run repeats itself whatever the machine's speed).
REFRESH_EVERY = 100


@dataclass
class Replay:
    """One ingested knowledge base (``base``, never written after ingesting) and its agents."""

    settings: Settings
    embedder: Embedder
    base: Path
    scratch: Path
    passages: dict[str, str]  # chunk id -> passage id (the corpus's "id")
    seen: list[Intent]
    unseen: list[Intent]
    seed: int

    def open(self, data_dir: Path, *, learning: bool = True) -> KnowledgeBase:
        update = {"data_dir": data_dir, "learning": learning}
        return KnowledgeBase(self.settings.model_copy(update=update), embedder=self.embedder)

    def ranked(self, kb: KnowledgeBase, query: str, actor: str) -> tuple[str, list[str], list[str]]:
        """One suggestion: its id, the answers' item ids and their passage ids, in rank order."""
        body = suggest(
            kb,
            SuggestInput(
                conversation=[Turn(role="customer", text=query)],
                collection=COLLECTION,
                limit=DEPTH,
                actor=actor,
            ),
        )
        items = [answer.id for answer in body.answers]
        return body.suggestion_id, items, [self.passages.get(item, item) for item in items]

    def measure(self, data_dir: Path, *, learning: bool = True) -> dict[str, Any]:
        """Score a copy of ``data_dir``: the measuring suggestions are logged in the copy only."""
        snapshot = Path(tempfile.mkdtemp(prefix="measure-", dir=self.scratch))
        shutil.copytree(data_dir, snapshot, dirs_exist_ok=True)
        kb = self.open(snapshot, learning=learning)
        try:
            said = [
                (p.kind, p.text, self._rank_of(kb, p.text, i))
                for i in self.seen
                for p in i.paraphrases
            ]
            paraphrases = [(kind, rank) for kind, _, rank in said]
            asked = [(q, self._rank_of(kb, q, i)) for i in self.seen for q in i.training]
            training = [rank for _, rank in asked]
            unseen = {
                q: self.ranked(kb, q, MEASURER)[2] for i in self.unseen for q in queries_of(i)
            }
        finally:
            kb.close()
            shutil.rmtree(snapshot, ignore_errors=True)
        kinds = sorted({kind for kind, _ in paraphrases})
        return {
            "paraphrases": scores(rank for _, rank in paraphrases),
            "paraphrases_by_kind": {
                kind: scores(rank for k, rank in paraphrases if k == kind) for kind in kinds
            },
            "training": scores(training),
            "unseen": scores(
                first_relevant(ranked, i.relevant) for i, ranked in _each(self, unseen)
            ),
            "unseen_rankings": unseen,
            # Each query's first relevant rank (None: not in the top 10), so a change in MRR
            # can be traced to the queries that moved.
            "ranks": {
                "paraphrases": {text: rank for _, text, rank in said},
                "training": dict(asked),
            },
        }

    def _rank_of(self, kb: KnowledgeBase, query: str, intent: Intent) -> int | None:
        return first_relevant(self.ranked(kb, query, MEASURER)[2], intent.relevant)


def _each(replay: Replay, rankings: dict[str, list[str]]) -> Iterable[tuple[Intent, list[str]]]:
    for intent in replay.unseen:
        for query in queries_of(intent):
            yield intent, rankings[query]


def queries_of(intent: Intent) -> list[str]:
    return list(dict.fromkeys([*intent.training, *(p.text for p in intent.paraphrases)]))


def first_relevant(ranked: Sequence[str], relevant: frozenset[str]) -> int | None:
    return next((n for n, pid in enumerate(ranked[:DEPTH], 1) if pid in relevant), None)


def scores(ranks: Iterable[int | None]) -> dict[str, float | int]:
    """MRR@10 and hit@1 over first-relevant ranks (None: not in the top 10)."""
    ranks = list(ranks)
    if not ranks:
        return {"queries": 0, "mrr@10": 0.0, "hit@1": 0.0}
    return {
        "queries": len(ranks),
        "mrr@10": round(sum(1 / r for r in ranks if r) / len(ranks), 4),
        "hit@1": round(sum(r == 1 for r in ranks) / len(ranks), 4),
    }


def point(
    events: int, feedback: int, measured: dict[str, Any], baseline: dict[str, Any]
) -> dict[str, Any]:
    """A checkpoint's row: the scores, and how many unseen-intent rankings moved."""
    before = baseline["unseen_rankings"]
    changed = sum(before[q] != ranked for q, ranked in measured["unseen_rankings"].items())
    row = {key: value for key, value in measured.items() if key != "unseen_rankings"}
    return {"events": events, "feedback": feedback, **row, "unseen_rankings_changed": changed}


def run_scenario(
    replay: Replay,
    scenario: Scenario,
    checkpoints: Sequence[int],
    baseline: dict[str, Any],
    budget_s: float,
) -> dict[str, Any]:
    """Agents through the training queries up to the last checkpoint that fits ``budget_s``."""
    work = Path(tempfile.mkdtemp(prefix=f"{scenario.name}-", dir=replay.scratch))
    shutil.copytree(replay.base, work, dirs_exist_ok=True)
    agents = Agents(scenario, replay.seed)
    stream = turns(scenario, replay.seen, replay.seed)
    points = [point(0, 0, baseline, baseline)]
    cut: list[int] = []
    done = feedback = 0
    start = time.perf_counter()
    agent_s = measure_s = 0.0
    for goal in checkpoints:
        rate = agent_s / done if done else 0.02
        ahead = (goal - done) * rate + measure_s  # the turns, then measuring the checkpoint
        if time.perf_counter() - start + ahead > budget_s:
            cut.append(goal)
            continue
        kb = replay.open(work)
        began = time.perf_counter()
        try:
            done, clicks = work_through(replay, kb, stream, agents, goal)
            feedback += clicks
        finally:
            kb.close()
        agent_s += time.perf_counter() - began
        began = time.perf_counter()
        points.append(point(done, feedback, replay.measure(work), baseline))
        measure_s = time.perf_counter() - began
        print(f"  {scenario.name} {_summary(points[-1])}", flush=True)
    result: dict[str, Any] = {
        "agents": {"honest": scenario.honest, "attackers": scenario.adversaries},
        "miss": scenario.miss,
        "noise": scenario.noise,
        "examination": f"rank ** -{scenario.eta}",
        "points": points,
        "cut_for_time": cut,
        "agent_s_per_event": round(agent_s / done, 4) if done else None,
    }
    if done:
        off = replay.measure(work, learning=False)
        result["learning_off_at_end"] = point(done, feedback, off, baseline)
    shutil.rmtree(work, ignore_errors=True)
    return result


def work_through(
    replay: Replay, kb: KnowledgeBase, stream: Iterator[AgentTurn], agents: Agents, goal: int
) -> tuple[int, int]:
    """Agents take turns from ``stream`` until turn ``goal``: each asks for a suggestion and
    records its clicks through the feedback path. Returns (turns done, feedback recorded)."""
    feedback = number = 0
    while number < goal:
        turn = next(stream)
        suggestion, items, passages = replay.ranked(kb, turn.query, turn.agent)
        for click in agents.clicks(turn, list(zip(items, passages, strict=True))):
            record_feedback(
                kb,
                suggestion_id=suggestion,
                item_id=click.item_id,
                action=click.action,
                actor=turn.agent,
            )
            feedback += 1
        number = turn.number
        if number % REFRESH_EVERY == 0:
            refresh(kb, COLLECTION)
    return number, feedback


def _summary(row: dict[str, Any]) -> str:
    return (
        f"events {row['events']:>6}: paraphrase MRR@10 {row['paraphrases']['mrr@10']:.3f} "
        f"training {row['training']['mrr@10']:.3f} unseen {row['unseen']['mrr@10']:.3f} "
        f"(changed {row['unseen_rankings_changed']})"
    )


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def ingest_base(settings: Settings, embedder: Embedder, corpus: Path, base: Path) -> dict[str, str]:
    """The corpus as one FAQ document in ``base``; chunk id -> passage id."""
    kb = KnowledgeBase(settings.model_copy(update={"data_dir": base}), embedder=embedder)
    try:
        item = IngestItem(corpus.name, corpus.read_bytes(), DocumentMeta(doc_type="faq"))
        (outcome,) = ingest_items(kb, [item], collection=COLLECTION)
        if outcome.status == "failed":
            raise Invalid(f"{corpus}: {outcome.reason}", field="corpus")
        with session_scope(kb.engine) as session:
            chunks = live_chunks(session, COLLECTION)
        return {c.chunk_id: c.external_id or c.chunk_id for c in chunks}
    finally:
        kb.close()


def replay(args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    """The whole run: intents, the knowledge base, the baseline and every scenario."""
    tara = args.data / "tara_dingtalk"
    queries = load_jsonl(tara / "queries_dev.jsonl")
    twins = {
        str(row["id"]): str(row["query"]) for row in load_jsonl(tara / "queries_dev_hant.jsonl")
    }
    intents = build_intents(queries, twins, args.seed)
    seen, unseen = split_intents(intents, args.intents[0], args.intents[1], args.seed)
    settings = Settings(cache_dir=args.cache, database_url=None, max_upload_bytes=64 * 1024 * 1024)
    embedder = stored_queries(settings)
    base = scratch / "base"
    passages = ingest_base(settings, embedder, tara / "corpus.jsonl", base)
    run = Replay(settings, embedder, base, scratch, passages, seen, unseen, args.seed)
    start = time.perf_counter()
    baseline = run.measure(base)
    print(f"  baseline {_summary(point(0, 0, baseline, baseline))}", flush=True)
    budget = args.budget_minutes * 60 / len(args.scenarios)
    scenarios = {
        name: run_scenario(run, SCENARIOS[name], args.events, baseline, budget)
        for name in args.scenarios
    }
    return {
        "set": "tara_dingtalk",
        "seed": args.seed,
        "learning": "on",
        "intents": {
            "seen": len(seen),
            "unseen": len(unseen),
            "training_queries": sum(len(i.training) for i in seen),
            "paraphrases": sum(len(i.paraphrases) for i in seen),
            "unseen_queries": sum(len(queries_of(i)) for i in unseen),
        },
        "chunks": len(passages),
        "depth": DEPTH,
        "checkpoints": list(args.events),
        "budget_minutes_per_scenario": round(args.budget_minutes / len(args.scenarios), 1),
        "scenarios": scenarios,
        "wall_s": round(time.perf_counter() - start, 1),
        "machine": machine_info(),
    }


def merge(parts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One result from runs of different scenarios with the same set, seed, intents and
    checkpoints (``make bench-learning`` runs the scenarios side by side)."""
    same = ("set", "seed", "learning", "intents", "chunks", "depth", "checkpoints")
    first = parts[0]
    for part in parts[1:]:
        differ = [key for key in same if part.get(key) != first.get(key)]
        if differ:
            raise ValueError(f"cannot merge runs that differ in {', '.join(differ)}")
    scenarios = {name: run for part in parts for name, run in part["scenarios"].items()}
    order = [name for name in SCENARIOS if name in scenarios]
    return {
        **first,
        "scenarios": {name: scenarios[name] for name in order},
        "wall_s": max(part["wall_s"] for part in parts),
        "runs_side_by_side": len(parts),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/bench/data"))
    parser.add_argument("--cache", type=Path, default=Path("data/replay-cache"))
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--plot", type=Path, default=Path("docs/learning_replay.svg"))
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument(
        "--intents", type=int, nargs=2, default=(50, 50), metavar=("SEEN", "UNSEEN")
    )
    parser.add_argument("--events", type=int, nargs="+", default=list(CHECKPOINTS))
    parser.add_argument("--scenarios", nargs="+", default=list(SCENARIOS), choices=list(SCENARIOS))
    parser.add_argument("--budget-minutes", type=float, default=30.0)
    parser.add_argument(
        "--merge",
        type=Path,
        nargs="+",
        help="combine the results of runs of other scenarios (run side by side) instead",
    )
    args = parser.parse_args()
    args.events = sorted(set(args.events))
    if args.merge:
        result = merge([json.loads(path.read_text("utf-8")) for path in args.merge])
    else:
        with tempfile.TemporaryDirectory(prefix="kb-replay-") as scratch:
            result = replay(args, Path(scratch))
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / "learning_replay.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    from bench.replay_plot import write_plot

    write_plot(result, args.plot)
    print(f"wrote {out} and {args.plot}")


if __name__ == "__main__":
    main()
