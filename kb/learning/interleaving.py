"""Team-draft interleaving: the online check that learned rankings beat unlearned ones.

Radlinski, Kurup & Joachims, "How does clickthrough data reflect retrieval quality?" (CIKM
2008). Two rankings of one query, A (with what agents taught) and B (search's fused scores
alone), are merged the way captains pick teams: the team with fewer picks picks next (a coin
decides when they have as many), taking its best item not already picked. Each item shown is
credited to the team that picked it; the team whose items agents use more wins the suggestion.
Position bias is the same for both teams, so over many suggestions the wins say which ranking
agents prefer.

Pure functions over item keys: which suggestions take part (by their id, so a test or an
auditor can tell), the interleaving itself, who won one suggestion, and the sign test.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from fractions import Fraction
from math import comb
from typing import Literal, TypeVar

Team = Literal["A", "B"]
TEAMS: tuple[Team, ...] = ("A", "B")
Outcome = Literal["A", "B", "tie"]
# What an agent does with an answer that credits its team: used it, or said it helped.
CREDITED = frozenset({"copied", "inserted", "helpful"})
T = TypeVar("T")


def _unit(text: str) -> float:
    """A number in [0, 1) fixed by ``text``: the same on every process and every run."""
    digest = hashlib.sha256(text.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def takes_part(suggestion_id: str, share: float) -> bool:
    """Whether the suggestion ``suggestion_id`` is interleaved when ``share`` of them are."""
    return share > 0 and _unit(f"interleave:{suggestion_id}") < share


def team_draft(
    a: Sequence[T],
    b: Sequence[T],
    k: int,
    seed: str,
    *,
    keys: Callable[[T], Collection[Hashable]] = lambda item: (item,),
) -> list[tuple[T, Team]]:
    """At most ``k`` items of ``a`` and ``b`` interleaved team-draft, each with its team.

    ``keys``: what identifies an item (an answer and the twins it stands for): an item sharing
    a key with one picked already is not picked again. ``seed`` fixes the coin flips, so one
    suggestion is interleaved the same way every time. When one ranking runs out, the other
    fills the rest with its own picks.
    """
    flips = random.Random(_unit(f"draft:{seed}"))
    taken: set[Hashable] = set()
    out: list[tuple[T, Team]] = []
    picks = {"A": 0, "B": 0}
    cursor = {"A": 0, "B": 0}
    ranking: Mapping[Team, Sequence[T]] = {"A": a, "B": b}

    def next_of(team: Team) -> T | None:
        items = ranking[team]
        while cursor[team] < len(items):
            item = items[cursor[team]]
            if taken.isdisjoint(keys(item)):
                return item
            cursor[team] += 1
        return None

    while len(out) < k:
        heads = {team: next_of(team) for team in TEAMS}
        if heads["A"] is None and heads["B"] is None:
            break
        coin = flips.random() < 0.5  # flipped every round: the sequence depends on the seed only
        if heads["B"] is None:
            team: Team = "A"
        elif heads["A"] is None:
            team = "B"
        elif picks["A"] != picks["B"]:
            team = "A" if picks["A"] < picks["B"] else "B"
        else:
            team = "A" if coin else "B"
        item = heads[team]
        assert item is not None
        taken.update(keys(item))
        picks[team] += 1
        out.append((item, team))
    return out


def outcome(teams: Mapping[str, Team], used: Collection[str]) -> Outcome | None:
    """Who won one interleaved suggestion: the team more of whose items agents ``used``
    (distinct items); None when they used none of its items (no comparison)."""
    credit = {team: 0 for team in TEAMS}
    for item in set(used):
        team = teams.get(item)
        if team is not None:
            credit[team] += 1
    if not credit["A"] and not credit["B"]:
        return None
    if credit["A"] == credit["B"]:
        return "tie"
    return "A" if credit["A"] > credit["B"] else "B"


def preference(wins_a: int, wins_b: int, ties: int) -> float:
    """Δ = (wins A − wins B) / (wins A + wins B + ties): above 0, agents prefer A."""
    total = wins_a + wins_b + ties
    return (wins_a - wins_b) / total if total else 0.0


def sign_test(wins_a: int, wins_b: int) -> float:
    """Two-sided p of the binomial sign test on the wins (ties left out): how likely a split at
    least this uneven is when neither ranking is preferred. 1.0 without wins."""
    n = wins_a + wins_b
    if n == 0:
        return 1.0
    low = min(wins_a, wins_b)
    tail = Fraction(sum(comb(n, i) for i in range(low + 1)), 2**n)
    return float(min(Fraction(1), 2 * tail))
