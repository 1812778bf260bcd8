"""Escalation rules as data: their YAML format and a pure matcher from conversation to decision."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import opencc

from kb.library.replies import InvalidReply, parse_template
from kb.library.rulefile import (
    Fields,
    Node,
    RuleFileError,
    check_version,
    dump,
    kind_of,
    load,
    suggest,
)
from kb.types import Confidence

LEVELS = ("tier1", "tier2", "tier3", "supervisor", "legal")
HANDLING = ("agent", "expert")
SENTIMENTS = ("negative", "neutral", "positive")
# Measured with the default embedder (bench/example_similarity.py): paraphrases of an example
# score 0.93–0.97, unrelated customer questions up to 0.89, so 0.91 separates them.
DEFAULT_MIN_SIMILARITY = 0.91

Similarity = Callable[[str, Sequence[str]], float]
"""Best cosine similarity between an utterance and any of some example utterances."""

# Readable reasons for the risk categories that kb.assist.sentiment reports;
# others read "sentiment cue: x".
_CATEGORY_REASONS = {
    "legal": "legal threat",
    "regulator": "regulator complaint",
    "safety": "safety hazard",
    "complaint": "complaint",
    "anger": "angry customer",
    "insult": "insulting language",
    "churn": "threat to leave",
    "urgency": "urgent",
}


@functools.cache
def _converter() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def normalise(text: str) -> str:
    """Matching form of a text: NFKC, case-folded, Traditional → Simplified, spaces collapsed."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"\s+", " ", str(_converter().convert(folded))).strip()


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
    return re.compile(str(_converter().convert(pattern)), re.IGNORECASE)


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
        keywords = tuple(_keyword_regex(normalise(k)) for k in self.keywords)
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
    view = _View(ctx, normalise(haystack), ctx.latest.strip() or ctx.text.strip())
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


# ---- YAML ---------------------------------------------------------------------------------

_ID = re.compile(r"[a-z0-9][a-z0-9_.-]*")
_PLACEHOLDER = re.compile(r"\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}")
RULE_KEYS = ("id", "name", "description", "priority", "enabled", "min_similarity", "when", "then")
CONDITION_KEYS = (
    "keywords", "patterns", "examples", "sentiment", "max_sentiment_score",
    "sentiment_categories", "customer_tier",
    "min_contacts", "no_confident_answer", "any",
)  # fmt: skip
ACTION_KEYS = ("level", "team", "steps", "reply", "reply_id", "handling")


def parse_rules_yaml(
    text: str, source: str, *, reply_ids: Collection[str] | None = None
) -> list[Rule]:
    """Read a whole rule file or raise RuleFileError at the first problem (all or nothing).

    With ``reply_ids``, a ``reply_id`` naming no known reply is an error too.
    """
    root = load(text, source)
    if root is None:
        raise RuleFileError(source, 1, "file is empty: expected 'version: 1' and a 'rules:' list")
    top = Fields(root, source, "the file", ("version", "rules"))
    check_version(top)
    items = top.get("rules")
    if items is None or not items.is_list:
        found = "nothing" if items is None else kind_of(items)
        raise top.error(items, f"'rules' must be a list of rules, not {found}")
    rules: list[Rule] = []
    first_line: dict[str, int] = {}
    for number, item in enumerate(items.elements(), start=1):
        fields = Fields(item, source, f"rule {number}", RULE_KEYS)
        rule_id = fields.text("id", required=True) or ""
        if not _ID.fullmatch(rule_id):
            raise fields.error(
                fields.get("id"),
                f"rule id '{rule_id}' must be lower-case letters, digits, '-', '_' or '.'",
            )
        if rule_id in first_line:
            raise fields.error(
                item, f"rule id '{rule_id}' is used twice (first at line {first_line[rule_id]})"
            )
        first_line[rule_id] = item.line
        fields.what = f"rule '{rule_id}'"
        rules.append(_rule(fields, rule_id, reply_ids))
    return rules


def _rule(fields: Fields, rule_id: str, reply_ids: Collection[str] | None) -> Rule:
    threshold = fields.number("min_similarity", DEFAULT_MIN_SIMILARITY)
    if not 0 < threshold <= 1:
        raise fields.error(
            fields.get("min_similarity"), f"{fields.what}: 'min_similarity' must be in (0, 1]"
        )
    when, then = fields.get("when"), fields.get("then")
    if when is None:
        raise fields.error(None, f"{fields.what} has no 'when' conditions")
    if then is None:
        raise fields.error(None, f"{fields.what} has no 'then' action")
    return Rule(
        id=rule_id,
        name=fields.text("name") or rule_id,
        description=fields.text("description"),
        priority=fields.integer("priority", 0),
        enabled=fields.flag("enabled", True),
        min_similarity=threshold,
        when=_conditions(when, fields.source, f"{fields.what} 'when'"),
        then=_action(then, fields.source, fields.what, reply_ids),
    )


def _conditions(node: Node, source: str, what: str) -> Conditions:
    f = Fields(node, source, what, CONDITION_KEYS)
    present = [key for key in CONDITION_KEYS if f.get(key) is not None]
    if not present:
        raise f.error(None, f"{what} has no conditions")
    lists = {}
    for key in ("keywords", "patterns", "examples", "sentiment_categories", "customer_tier"):
        lists[key] = f.texts(key, allow_single=key == "customer_tier")
        if key in present and not lists[key]:
            raise f.error(f.get(key), f"{what}: '{key}' is an empty list")
    patterns_node = f.get("patterns")
    for pattern, item in zip(
        lists["patterns"], patterns_node.elements() if patterns_node else [], strict=False
    ):
        try:
            compile_pattern(pattern)
        except re.error as exc:
            raise f.error(item, f"{what}: invalid pattern '{pattern}': {exc.msg}") from exc
    sentiment = f.text("sentiment")
    if sentiment is not None and sentiment not in SENTIMENTS:
        raise f.error(
            f.get("sentiment"),
            f"{what}: unknown sentiment '{sentiment}'{suggest(sentiment, SENTIMENTS)}",
        )
    max_score = f.number("max_sentiment_score", 0.0) if "max_sentiment_score" in present else None
    if max_score is not None and not -1 <= max_score <= 1:
        raise f.error(
            f.get("max_sentiment_score"), f"{what}: 'max_sentiment_score' must be in [-1, 1]"
        )
    min_contacts = f.integer("min_contacts", 0) if "min_contacts" in present else None
    if min_contacts is not None and min_contacts < 1:
        raise f.error(f.get("min_contacts"), f"{what}: 'min_contacts' must be 1 or more")
    groups: list[Conditions] = []
    if "any" in present:
        any_node = f.get("any")
        assert any_node is not None
        if not any_node.is_list or not any_node.elements():
            raise f.error(any_node, f"{what}: 'any' must be a non-empty list of condition groups")
        for number, group in enumerate(any_node.elements(), start=1):
            groups.append(_conditions(group, source, f"{what} 'any' group {number}"))
    return Conditions(
        keywords=lists["keywords"],
        patterns=lists["patterns"],
        examples=lists["examples"],
        sentiment=sentiment,
        max_sentiment_score=max_score,
        sentiment_categories=tuple(c.lower() for c in lists["sentiment_categories"]),
        customer_tier=tuple(t.casefold() for t in lists["customer_tier"]),
        min_contacts=min_contacts,
        no_confident_answer=f.flag("no_confident_answer", True)
        if "no_confident_answer" in present
        else None,
        any=tuple(groups),
    )


def _action(node: Node, source: str, rule: str, reply_ids: Collection[str] | None) -> Action:
    what = f"{rule} 'then'"
    f = Fields(node, source, what, ACTION_KEYS)
    level = f.text("level")
    if level is None:
        raise f.error(None, f"{rule} has no level (one of: {', '.join(LEVELS)})")
    if level not in LEVELS:
        raise f.error(f.get("level"), f"{what}: unknown level '{level}'{suggest(level, LEVELS)}")
    steps = f.texts("steps")
    if not steps:
        problem = "has no steps" if f.get("steps") is None else "has an empty 'steps' list"
        raise f.error(f.get("steps"), f"{rule} {problem}")
    steps_node = f.get("steps")
    for step, item in zip(steps, steps_node.elements() if steps_node else [], strict=False):
        if _PLACEHOLDER.search(step):
            raise f.error(
                item,
                f"{what}: steps are shown as written, so '{step}' cannot use "
                "{variables}; put them in the reply",
            )
    reply, reply_id = f.text("reply"), f.text("reply_id")
    if reply is not None and reply_id is not None:
        raise f.error(f.get("reply_id"), f"{what}: give 'reply' or 'reply_id', not both")
    if reply is not None:
        try:
            parse_template(reply)
        except InvalidReply as exc:
            raise f.error(f.get("reply"), f"{what}: reply {exc}") from exc
    if reply_id is not None and reply_ids is not None and reply_id not in reply_ids:
        hint = suggest(reply_id, reply_ids) if reply_ids else ""
        raise f.error(f.get("reply_id"), f"{what}: no scripted reply has id '{reply_id}'{hint}")
    handling = f.text("handling")
    if handling is not None and handling not in HANDLING:
        raise f.error(
            f.get("handling"), f"{what}: unknown handling '{handling}'{suggest(handling, HANDLING)}"
        )
    return Action(level, steps, f.text("team"), reply, reply_id, handling)


# ---- export -------------------------------------------------------------------------------


def dump_rules_yaml(rules: Sequence[Rule]) -> str:
    """Export rules in the import format; ``parse_rules_yaml`` reads back equal rules."""
    document = {"version": 1, "rules": [_rule_dict(rule) for rule in rules]}
    return dump(document)


def _rule_dict(rule: Rule) -> dict[str, Any]:
    out: dict[str, Any] = {"id": rule.id, "name": rule.name}
    if rule.description:
        out["description"] = rule.description
    out["priority"] = rule.priority
    if not rule.enabled:
        out["enabled"] = False
    if rule.min_similarity != DEFAULT_MIN_SIMILARITY:
        out["min_similarity"] = rule.min_similarity
    out["when"] = _conditions_dict(rule.when)
    action = {
        "level": rule.then.level,
        "team": rule.then.team,
        "steps": list(rule.then.steps),
        "reply": rule.then.reply,
        "reply_id": rule.then.reply_id,
        "handling": rule.then.handling,
    }
    out["then"] = {k: v for k, v in action.items() if v is not None}
    return out


def _conditions_dict(cond: Conditions) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in CONDITION_KEYS:
        value = getattr(cond, key)
        if key == "any":
            value = [_conditions_dict(group) for group in value]
        if value is None or (isinstance(value, tuple | list) and not value):
            continue
        out[key] = list(value) if isinstance(value, tuple | list) else value
    return out
