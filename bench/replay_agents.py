"""The simulated agents of the learning replay (bench/replay_learning.py): intents with training
queries and held-apart paraphrases, a position-biased click model with noise, and attackers.

Pure and seeded: the same seed gives the same intents, the same turns and the same clicks, so a
run can be repeated and two runs (learning on, learning off) see the same agents.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

ParaphraseKind = Literal["original", "script", "rewrite"]
# Light rewrites of a customer's question (README, "Learning from feedback, replayed"): the
# framings customers put around the same question in a chat. ``{q}`` is the question without its
# final punctuation. Training queries and paraphrases never get the same framing.
REWRITES: tuple[str, ...] = (
    "你好，{q}？",
    "请问一下，{q}？",
    "{q}，麻烦告诉我一下",
    "我想问问{q}",
    "{q}？谢谢",
    "您好，想咨询下：{q}？",
)
FINAL_PUNCTUATION = "？?。！!．. "


@dataclass(frozen=True)
class Paraphrase:
    text: str
    kind: ParaphraseKind  # another dev query of the same answer, the script twin, or a rewrite


@dataclass(frozen=True)
class Intent:
    """Queries that share the same relevant answer(s)."""

    key: str
    relevant: frozenset[str]
    training: tuple[str, ...]  # what the simulated agents are asked
    paraphrases: tuple[Paraphrase, ...]  # only measured, never asked during training


def rewrite(query: str, template: str) -> str:
    return template.format(q=query.rstrip(FINAL_PUNCTUATION))


def build_intents(
    queries: Sequence[Mapping[str, object]], twins: Mapping[str, str], seed: int
) -> list[Intent]:
    """Group dev queries (``{"id", "query", "relevant_ids"}``) by their relevant answers and split
    each group into training queries and held-apart paraphrases, deterministically from ``seed``.

    ``twins`` maps a query id to the same query in the other script (tara_dingtalk_hant). A
    group of several dev queries gives half of them (rounded down) to the paraphrases; every
    intent also gets the script twin of its first training query and a rewrite of it whose
    framing no training query has, and its training queries get one rewrite more."""
    groups: dict[tuple[str, ...], list[Mapping[str, object]]] = {}
    for row in queries:
        relevant = tuple(sorted(str(r) for r in row["relevant_ids"]))  # type: ignore[attr-defined]
        groups.setdefault(relevant, []).append(row)
    intents = []
    for relevant, rows in sorted(groups.items()):
        rng = random.Random(f"{seed}:{'|'.join(relevant)}")
        rows = sorted(rows, key=lambda row: str(row["id"]))
        rng.shuffle(rows)
        keep = len(rows) - len(rows) // 2
        first = str(rows[0]["query"])
        train_frame, para_frame = rng.sample(REWRITES, 2)
        training = [str(row["query"]) for row in rows[:keep]] + [rewrite(first, train_frame)]
        paraphrases = [Paraphrase(str(row["query"]), "original") for row in rows[keep:]]
        twin = twins.get(str(rows[0]["id"]))
        if twin:
            paraphrases.append(Paraphrase(twin, "script"))
        paraphrases.append(Paraphrase(rewrite(first, para_frame), "rewrite"))
        seen = set(training)
        paraphrases = [p for p in paraphrases if p.text not in seen]
        key = str(rows[0]["id"])
        intents.append(Intent(key, frozenset(relevant), tuple(training), tuple(paraphrases)))
    return intents


def split_intents(
    intents: Sequence[Intent], seen: int, unseen: int, seed: int
) -> tuple[list[Intent], list[Intent]]:
    """A seeded sample of ``seen`` intents the agents work on and ``unseen`` others nobody
    clicks (the control that must not move)."""
    order = sorted(intents, key=lambda intent: intent.key)
    random.Random(seed).shuffle(order)
    if seen + unseen > len(order):
        raise ValueError(
            f"{seen} seen + {unseen} unseen intents asked for, only {len(order)} exist"
        )
    return order[:seen], order[seen : seen + unseen]


@dataclass(frozen=True)
class Scenario:
    """Who the agents are and how they click."""

    name: str
    honest: int  # honest agent accounts
    adversaries: int = 0  # accounts that click a wrong answer every time, agreeing on which
    miss: float = 0.0  # an honest agent who examined the relevant answer does not click it
    noise: float = 0.0  # an honest agent clicks an examined wrong answer
    eta: float = 1.0  # examination probability at rank r: r ** -eta

    @property
    def agents(self) -> list[str]:
        honest = [f"user:agent{n:02d}@replay.test" for n in range(1, self.honest + 1)]
        bad = [f"user:attacker{n:02d}@replay.test" for n in range(1, self.adversaries + 1)]
        return honest + bad


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("clean", honest=8),
        Scenario("noisy", honest=8, miss=0.3, noise=0.1),
        Scenario("one_attacker", honest=8, adversaries=1, miss=0.3, noise=0.1),
        Scenario("colluders", honest=8, adversaries=3, miss=0.3, noise=0.1),
    )
}


@dataclass(frozen=True)
class AgentTurn:
    number: int  # 1-based: the event count once this turn is done
    intent: Intent
    query: str
    agent: str


def turns(scenario: Scenario, intents: Sequence[Intent], seed: int) -> Iterator[AgentTurn]:
    """An endless, seeded stream of agents meeting training queries (intents and agents drawn
    uniformly: each account does an equal share of the work)."""
    rng = random.Random(f"{seed}:turns:{scenario.name}")
    agents = scenario.agents
    number = 0
    while True:
        number += 1
        intent = rng.choice(intents)
        yield AgentTurn(number, intent, rng.choice(intent.training), rng.choice(agents))


@dataclass(frozen=True)
class Click:
    item_id: str
    action: str  # a FEEDBACK_ACTIONS value


@dataclass
class Agents:
    """The click model: honest agents examine rank r with probability r ** -eta (a position-based
    model), click the relevant answer when they examine it (unless they miss it) and, with the
    noise rate, an examined wrong one; attackers click and rate helpful one wrong answer per
    intent, the same for every attacker (colluders agree), whatever rank it is shown at."""

    scenario: Scenario
    seed: int
    _rng: random.Random = field(init=False)
    _targets: dict[str, str] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._rng = random.Random(f"{self.seed}:clicks:{self.scenario.name}")

    def is_attacker(self, agent: str) -> bool:
        return agent.startswith("user:attacker")

    def clicks(self, turn: AgentTurn, shown: Sequence[tuple[str, str]]) -> list[Click]:
        """What ``turn.agent`` does with the answers shown, as (item id, passage id) in rank
        order."""
        if self.is_attacker(turn.agent):
            target = self.target(turn.intent, shown)
            return [Click(target, "copied"), Click(target, "helpful")] if target else []
        s = self.scenario
        out = []
        for rank, (item, passage) in enumerate(shown, start=1):
            if self._rng.random() >= rank**-s.eta:
                continue  # not examined
            relevant = passage in turn.intent.relevant
            if self._rng.random() < ((1 - s.miss) if relevant else s.noise):
                out.append(Click(item, "copied"))
        return out

    def target(self, intent: Intent, shown: Sequence[tuple[str, str]]) -> str | None:
        """The wrong answer the attackers push for ``intent``: the lowest-ranked wrong one the
        first time they meet it, kept while it is shown (else the lowest-ranked wrong one)."""
        wrong = [(item, passage) for item, passage in shown if passage not in intent.relevant]
        if not wrong:
            return None
        passages = [passage for _, passage in wrong]
        chosen = self._targets.setdefault(intent.key, passages[-1])
        return wrong[passages.index(chosen) if chosen in passages else -1][0]
