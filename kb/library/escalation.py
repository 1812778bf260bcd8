"""Escalation rules as data and a pure matcher from conversation to decision (YAML: rule_format)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from kb.errors import N_, Message, parsed
from kb.types import Confidence
from search.normalize import normalize, to_simplified

LEVELS = ("tier1", "tier2", "tier3", "supervisor", "legal")
HANDLING = ("agent", "expert")
SENTIMENTS = ("negative", "neutral", "positive")
# With the default embedder, paraphrases of an example scored 0.93–0.97 and unrelated customer
# questions up to 0.89, so 0.91 separates them; bench/calibrate.py re-measures cue similarity.
DEFAULT_MIN_SIMILARITY = 0.91

Similarity = Callable[[str, Sequence[str]], float]
"""Best cosine similarity between an utterance and any of some example utterances."""

# Readable reasons for the risk categories that kb.assist.sentiment reports;
# others read "sentiment cue: x".
_CATEGORY_REASONS = {
    "legal": N_("legal threat"),
    "regulator": N_("regulator complaint"),
    "safety": N_("safety hazard"),
    "complaint": N_("complaint"),
    "anger": N_("angry customer"),
    "insult": N_("insulting language"),
    "churn": N_("threat to leave"),
    "urgency": N_("urgent"),
}


# Every way ``_check`` words a reason, so the UI can show it in its reader's language (the API
# keeps the English text). Literal forms first: "VIP customer" is not "{tier} customer".
REASON_FORMS: tuple[Message, ...] = (
    *(N_(text) for text in _CATEGORY_REASONS.values()),
    N_("VIP customer"),
    N_("negative sentiment"),
    N_("neutral sentiment"),
    N_("positive sentiment"),
    N_("confident answer found"),
    N_("no confident answer"),
    N_("keyword: {value}"),
    N_("pattern: {value}"),
    N_("similar to: '{value}'"),
    N_("sentiment score {score}"),
    N_("sentiment cue: {value}"),
    N_("{ordinal} contact about this issue"),
    N_("{tier} customer"),
)


def reason_message(reason: str) -> Message:
    """A reason ``evaluate`` gave, as a translatable Message (unknown text stays as it is)."""
    found = parsed(reason, REASON_FORMS)
    if "ordinal" in found.params:  # "2nd": the number, for languages that say it otherwise
        count = re.match(r"\d+", found.params["ordinal"])
        return Message(found.template, **found.params, count=count.group(0) if count else "?")
    return found


def _keyword_regex(keyword: str) -> re.Pattern[str]:
    # Latin keywords match whole words (plus plain inflections), so "sue" never fires on "issue".
    if not keyword:
        return re.compile(r"(?!)")  # a keyword that normalises to nothing matches nothing
    body = re.escape(keyword)
    if keyword[0].isascii() and keyword[0].isalnum():
        body = r"(?<![a-z0-9])" + body
    if keyword[-1].isascii() and keyword[-1].isalnum():
        body += r"(?:s|es|d|ed|ing)?(?![a-z0-9])"
    return re.compile(body)


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """A rule pattern as matched: written in either script, run on normalised (Simplified) text."""
    return re.compile(to_simplified(pattern), re.IGNORECASE)


@dataclass(frozen=True)
class Conditions:
    """All listed conditions must hold; ``any`` holds when at least one of its groups does."""

    keywords: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    sentiment: str | None = None
    max_sentiment_score: float | None = None  # holds when the score (-1 … 1) is at most this
    sentiment_categories: tuple[str, ...] = ()
    customer_tier: tuple[str, ...] = ()
    min_contacts: int | None = None
    no_confident_answer: bool | None = None
    any: tuple[Conditions, ...] = ()
    _keyword_res: tuple[re.Pattern[str], ...] = field(default=(), compare=False, repr=False)
    _pattern_res: tuple[re.Pattern[str], ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        keywords = tuple(_keyword_regex(normalize(k)) for k in self.keywords)
        object.__setattr__(self, "_keyword_res", keywords)
        object.__setattr__(self, "_pattern_res", tuple(compile_pattern(p) for p in self.patterns))


@dataclass(frozen=True)
class Action:
    level: str
    steps: tuple[str, ...]
    team: str | None = None
    reply: str | None = None  # suggested reply text (may use {variables})
    reply_id: str | None = None  # or the id of a scripted reply
    handling: str | None = None  # agent | expert


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    when: Conditions
    then: Action
    priority: int = 0
    enabled: bool = True
    min_similarity: float = DEFAULT_MIN_SIMILARITY
    description: str | None = None


@dataclass(frozen=True)
class EscalationContext:
    """What the matcher knows about one conversation; ``text`` is all customer turns."""

    text: str
    latest: str = ""
    sentiment_label: str | None = None
    sentiment_score: float | None = None
    sentiment_categories: frozenset[str] = frozenset()
    customer_tier: str | None = None
    contact_count: int = 1
    best_confidence: Confidence | None = None
    similarity: Similarity | None = None


@dataclass(frozen=True)
class RuleMatch:
    rule_id: str
    name: str
    priority: int
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class EscalationDecision:
    recommended: bool
    level: str | None = None
    team: str | None = None
    steps: tuple[str, ...] = ()
    reply: str | None = None
    reply_id: str | None = None
    reasons: tuple[str, ...] = ()
    matched_rule_ids: tuple[str, ...] = ()
    handling: str | None = None
    matches: tuple[RuleMatch, ...] = ()


# ---- matching -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _View:
    ctx: EscalationContext
    text: str  # normalised customer text
    latest: str  # latest turn as written (the embedder does its own normalisation)


def examples_of(conditions: Conditions) -> list[str]:
    """Every example utterance in ``conditions``, its ``any`` groups included."""
    found = list(conditions.examples)
    for group in conditions.any:
        found += examples_of(group)
    return found


def evaluate(rules: Sequence[Rule], ctx: EscalationContext) -> EscalationDecision:
    """Match enabled rules; the highest priority (then first in file) decides the action."""
    haystack = ctx.text if ctx.latest in ctx.text else f"{ctx.text}\n{ctx.latest}"
    view = _View(ctx, normalize(haystack), ctx.latest.strip() or ctx.text.strip())
    found: list[tuple[Rule, list[str]]] = []
    for rule in rules:
        if rule.enabled and (reasons := _check(rule.when, view, rule.min_similarity)) is not None:
            found.append((rule, reasons))
    if not found:
        return EscalationDecision(recommended=False)
    found.sort(key=lambda pair: -pair[0].priority)  # stable: equal priorities keep file order
    top = found[0][0].then
    handlings = {rule.then.handling for rule, _ in found}
    # the most demanding handling any matching rule asks for: never talk an expert case down
    handling = next((h for h in reversed(HANDLING) if h in handlings), None)
    return EscalationDecision(
        recommended=True,
        level=top.level,
        team=top.team,
        steps=top.steps,
        reply=top.reply,
        reply_id=top.reply_id,
        reasons=tuple(dict.fromkeys(r for _, reasons in found for r in reasons)),
        matched_rule_ids=tuple(rule.id for rule, _ in found),
        handling=handling,
        matches=tuple(RuleMatch(r.id, r.name, r.priority, tuple(rs)) for r, rs in found),
    )


def _check(cond: Conditions, view: _View, threshold: float) -> list[str] | None:
    """The reasons when every condition holds, else None."""
    ctx = view.ctx
    reasons: list[str] = []
    if cond.keywords:
        hits = [
            k
            for k, rx in zip(cond.keywords, cond._keyword_res, strict=True)
            if rx.search(view.text)
        ]
        if not hits:
            return None
        reasons += [f"keyword: {k}" for k in hits]
    if cond.patterns:
        match = next((m for rx in cond._pattern_res if (m := rx.search(view.text))), None)
        if match is None:
            return None
        reasons.append(f"pattern: {match.group(0)}")
    if cond.examples:
        similar = _similar_example(cond.examples, view, threshold)
        if similar is None:
            return None
        reasons.append(f"similar to: '{similar}'")
    if cond.sentiment:
        if ctx.sentiment_label != cond.sentiment:
            return None
        reasons.append(f"{cond.sentiment} sentiment")
    if cond.max_sentiment_score is not None:
        score = ctx.sentiment_score
        if score is None or score > cond.max_sentiment_score:
            return None
        reasons.append(f"sentiment score {score:+.2f}")
    if cond.sentiment_categories:
        cues = [c for c in cond.sentiment_categories if c in ctx.sentiment_categories]
        if not cues:
            return None
        reasons += [_CATEGORY_REASONS.get(c, f"sentiment cue: {c}") for c in cues]
    if cond.customer_tier:
        tier = (ctx.customer_tier or "").strip().casefold()
        if tier not in cond.customer_tier:
            return None
        reasons.append("VIP customer" if tier == "vip" else f"{tier} customer")
    if cond.min_contacts is not None:
        if ctx.contact_count < cond.min_contacts:
            return None
        reasons.append(f"{ordinal(ctx.contact_count)} contact about this issue")
    if cond.no_confident_answer is not None:
        confident = ctx.best_confidence in ("high", "medium")
        if confident == cond.no_confident_answer:
            return None
        reasons.append("confident answer found" if confident else "no confident answer")
    if cond.any:
        groups = [r for group in cond.any if (r := _check(group, view, threshold)) is not None]
        if not groups:
            return None
        reasons += [reason for group_reasons in groups for reason in group_reasons]
    return reasons


def _similar_example(examples: Sequence[str], view: _View, threshold: float) -> str | None:
    similarity = view.ctx.similarity
    if similarity is None or not view.latest or similarity(view.latest, examples) < threshold:
        return None
    if len(examples) == 1:
        return examples[0]
    return max(examples, key=lambda example: similarity(view.latest, [example]))


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 22nd …"""
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
