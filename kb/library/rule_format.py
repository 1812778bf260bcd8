"""Escalation rules' YAML format: read all or nothing, errors at their line; written back."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from typing import Any

from kb.library.escalation import (
    DEFAULT_MIN_SIMILARITY,
    HANDLING,
    LEVELS,
    SENTIMENTS,
    Action,
    Conditions,
    Rule,
    compile_pattern,
)
from kb.library.replies import InvalidReply, parse_template
from kb.library.rulefile import Fields, Node, dump, read_items, suggest

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
    rules: list[Rule] = []
    for fields, rule_id in read_items(text, source, "rules", "rule", RULE_KEYS):
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
