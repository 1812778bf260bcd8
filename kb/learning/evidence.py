"""Evidence from the logs: for each (intent, answer), clicks over expected clicks.

Pure functions over plain rows, so every safeguard is a table of cases. An impression is an
answer shown at a rank in a logged suggestion; an outcome is what agents did with it in that
suggestion: a click (copied, inserted or helpful; several on one suggestion are one) or a
rejection (not helpful or dismissed, with no click). ``shown`` says nothing.

- **Position bias.** Agents read the first answers more: the click rate by rank, fitted from
  every impression of the collection (shrunk towards a 1/rank prior where ranks are rarely
  seen, never rising down the list), is what an answer shown there earns on average; an
  answer's expected clicks are the sum of those rates over its impressions.
- **Bayesian prior.** ``score = (clicks - rejections - expected) / (expected + PRIOR_CLICKS)``:
  ten expected clicks of pseudo-evidence, so a handful of events moves little.
- **Safeguards.** Nothing moves before MIN_AGENTS distinct agents acted on the pair; each
  agent counts for at most AGENT_CAP outcomes of it (one account neither pushes nor buries
  an answer); events and impressions decay with a HALF_LIFE_DAYS half-life; a reset drops
  what came before it.
- **The cap weighs both sides alike.** An agent's clicks, rejections *and* expected clicks (from
  the suggestions shown to that agent) are scaled by one factor, so that the larger of their
  outcomes and their expected clicks counts AGENT_CAP at most. Capping the clicks alone let
  the expectation outgrow them: in the replay's clean scenario an answer eight agents clicked
  every time at rank 1 had 16 capped clicks against 41 expected after 3,000 events, and was
  buried below the answer it had beaten (README "Learning from feedback, replayed"). Scaling
  the expectation too also keeps an account that only looks, never clicks, from burying one.
  Suggestions of no known actor form one uncapped pool of expectation.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

POSITIVE = frozenset({"copied", "inserted", "helpful"})
NEGATIVE = frozenset({"not_helpful", "dismissed"})
MIN_AGENTS = 3
AGENT_CAP = 2.0
PRIOR_CLICKS = 10.0
HALF_LIFE_DAYS = 30.0
# Impressions it takes for a rank's own click rate to weigh as much as the 1/rank prior.
RANK_PRIOR_IMPRESSIONS = 20.0
MAX_RANK = 10


@dataclass(frozen=True)
class Impression:
    suggestion_id: str
    intent_id: str
    item_id: str
    rank: int  # 1-based, as shown
    at: datetime
    actor: str | None = None  # whom the suggestion was shown to


@dataclass(frozen=True)
class Event:
    suggestion_id: str
    intent_id: str
    item_id: str
    rank: int
    action: str
    actor: str | None
    at: datetime


@dataclass(frozen=True)
class Reset:
    intent_id: str
    item_id: str | None  # None: every item of the intent
    at: datetime


@dataclass
class Evidence:
    """What the logs say about one answer for one intent (weights after decay and caps)."""

    intent_id: str
    item_id: str
    clicks: float = 0.0
    rejections: float = 0.0
    expected: float = 0.0
    impressions: float = 0.0
    agents: int = 0
    top_agent_share: float = 0.0  # of the counted outcomes, the most any one agent gave
    events: int = 0  # outcomes before caps and decay
    last_event_at: datetime | None = None
    score: float = 0.0  # clicks over expected, with the prior; 0 below MIN_AGENTS
    per_agent: dict[str, tuple[float, float]] = field(default_factory=dict, repr=False)
    # Expected clicks by whom the answer was shown to (None: no known actor).
    expected_by_agent: dict[str | None, float] = field(default_factory=dict, repr=False)

    @property
    def eligible(self) -> bool:
        return self.agents >= MIN_AGENTS


def decay(at: datetime, now: datetime) -> float:
    age_days = max(0.0, (now - at).total_seconds() / 86400)
    return 0.5 ** (age_days / HALF_LIFE_DAYS)


def click_rates(
    impressions: Iterable[Impression], outcomes: Mapping[tuple[str, str], int], now: datetime
) -> list[float]:
    """The click rate at ranks 1..MAX_RANK (index 0 is rank 1), never rising down the list.

    ``outcomes`` maps (suggestion, item) to +1 (a click), -1 (a rejection) or 0."""
    shown = [0.0] * MAX_RANK
    clicked = [0.0] * MAX_RANK
    for imp in impressions:
        if 1 <= imp.rank <= MAX_RANK:
            w = decay(imp.at, now)
            shown[imp.rank - 1] += w
            if outcomes.get((imp.suggestion_id, imp.item_id), 0) > 0:
                clicked[imp.rank - 1] += w
    total = sum(shown)
    if total <= 0:
        return [0.0] * MAX_RANK
    overall = sum(clicked) / total
    mean_inverse = sum(s / (r + 1) for r, s in enumerate(shown)) / total
    rates: list[float] = []
    for r in range(MAX_RANK):
        prior = overall * (1 / (r + 1)) / mean_inverse
        rate = (clicked[r] + RANK_PRIOR_IMPRESSIONS * prior) / (shown[r] + RANK_PRIOR_IMPRESSIONS)
        rates.append(min(rate, rates[-1]) if rates else rate)
    return rates


def propensities(rates: Sequence[float]) -> list[float]:
    """Examination propensity by rank: the click rate there over the first rank's."""
    return [r / rates[0] if rates and rates[0] > 0 else 0.0 for r in rates]


def outcomes_of(events: Iterable[Event]) -> dict[tuple[str, str], int]:
    """Per (suggestion, item): +1 when any agent clicked it, -1 when only rejected it."""
    out: dict[tuple[str, str], int] = {}
    for e in events:
        key = (e.suggestion_id, e.item_id)
        if e.action in POSITIVE:
            out[key] = 1
        elif e.action in NEGATIVE and out.get(key, 0) == 0:
            out[key] = -1
    return out


def gather(
    impressions: Sequence[Impression],
    events: Sequence[Event],
    resets: Sequence[Reset],
    now: datetime,
) -> tuple[dict[tuple[str, str], Evidence], list[float]]:
    """Every (intent, item) the agents acted on, with its evidence; and the click rates."""
    cut = _reset_times(resets)

    def counts(intent_id: str, item_id: str, at: datetime) -> bool:
        since = max(cut.get((intent_id, item_id), _EPOCH), cut.get((intent_id, None), _EPOCH))
        return at >= since

    events = [e for e in events if counts(e.intent_id, e.item_id, e.at)]
    outcomes = outcomes_of(events)
    rates = click_rates(impressions, outcomes, now)
    found: dict[tuple[str, str], Evidence] = {}
    by_outcome: dict[tuple[str, str], Event] = {}
    raw: dict[tuple[str, str], int] = defaultdict(int)
    for e in events:  # one outcome per suggestion and item: its latest event names the agent
        if e.action in POSITIVE or e.action in NEGATIVE:
            by_outcome[(e.suggestion_id, e.item_id)] = e
            raw[(e.intent_id, e.item_id)] += 1
    for (sid, item), e in by_outcome.items():
        ev = found.setdefault((e.intent_id, item), Evidence(e.intent_id, item))
        agent = e.actor or "anonymous"
        clicks, rejections = ev.per_agent.get(agent, (0.0, 0.0))
        w = decay(e.at, now)
        if outcomes[(sid, item)] > 0:
            clicks += w
        else:
            rejections += w
        ev.per_agent[agent] = (clicks, rejections)
        if ev.last_event_at is None or e.at > ev.last_event_at:
            ev.last_event_at = e.at
    for imp in impressions:
        seen = found.get((imp.intent_id, imp.item_id))
        if seen is not None and counts(imp.intent_id, imp.item_id, imp.at):
            w = decay(imp.at, now)
            seen.impressions += w
            expected = w * rates[min(imp.rank, MAX_RANK) - 1]
            seen.expected_by_agent[imp.actor] = (
                seen.expected_by_agent.get(imp.actor, 0.0) + expected
            )
    for key, ev in found.items():
        ev.events = raw[key]
        _score(ev)
    return found, rates


def _score(ev: Evidence) -> None:
    capped: dict[str, tuple[float, float]] = {}
    ev.expected = ev.expected_by_agent.get(None, 0.0)
    for agent in ev.per_agent.keys() | {a for a in ev.expected_by_agent if a is not None}:
        c, r = ev.per_agent.get(agent, (0.0, 0.0))
        e = ev.expected_by_agent.get(agent, 0.0)
        f = _share(max(c + r, e))
        capped[agent] = (c * f, r * f)
        ev.expected += e * f
    ev.clicks = sum(c for c, _ in capped.values())
    ev.rejections = sum(r for _, r in capped.values())
    ev.agents = sum(1 for c, r in capped.values() if c + r > 0)
    total = ev.clicks + ev.rejections
    ev.top_agent_share = max((c + r) / total for c, r in capped.values()) if total else 0.0
    if not ev.eligible:
        ev.score = 0.0
        return
    ev.score = (ev.clicks - ev.rejections - ev.expected) / (ev.expected + PRIOR_CLICKS)


def _share(weight: float) -> float:
    """The factor that brings an agent's evidence of ``weight`` down to AGENT_CAP at most."""
    return min(1.0, AGENT_CAP / weight) if weight > 0 else 1.0


def adjustment(score: float, cap: float) -> float:
    """The fused-score adjustment of an evidence score: smooth, and never beyond ±cap."""
    return cap * math.tanh(score)


def _reset_times(resets: Sequence[Reset]) -> dict[tuple[str, str | None], datetime]:
    out: dict[tuple[str, str | None], datetime] = {}
    for r in resets:
        key = (r.intent_id, r.item_id)
        if key not in out or r.at > out[key]:
            out[key] = r.at
    return out


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
