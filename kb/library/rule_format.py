"""Escalation rules' YAML format: read all or nothing, errors at their line; written back."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from typing import Any

from kb.errors import Message
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
            fields.get("min_similarity"),
            Message("{what}: 'min_similarity' must be in (0, 1]", what=fields.what),
        )
    when, then = fields.get("when"), fields.get("then")
    if when is None:
        raise fields.error(None, Message("{what} has no 'when' conditions", what=fields.what))
    if then is None:
        raise fields.error(None, Message("{what} has no 'then' action", what=fields.what))
    return Rule(
        id=rule_id,
        name=fields.text("name") or rule_id,
        description=fields.text("description"),
        priority=fields.integer("priority", 0),
        enabled=fields.flag("enabled", True),
        min_similarity=threshold,
        when=_conditions(when, fields.source, Message("{what} 'when'", what=fields.what)),
        then=_action(then, fields.source, fields.what, reply_ids),
    )


def _conditions(node: Node, source: str, what: Message) -> Conditions:
    f = Fields(node, source, what, CONDITION_KEYS)
    present = [key for key in CONDITION_KEYS if f.get(key) is not None]
    if not present:
        raise f.error(None, Message("{what} has no conditions", what=what))
    lists = {}
    for key in ("keywords", "patterns", "examples", "sentiment_categories", "customer_tier"):
        lists[key] = f.texts(key, allow_single=key == "customer_tier")
        if key in present and not lists[key]:
            raise f.error(
                f.get(key), Message("{what}: '{key}' is an empty list", what=what, key=key)
            )
    patterns_node = f.get("patterns")
    for pattern, item in zip(
        lists["patterns"], patterns_node.elements() if patterns_node else [], strict=False
    ):
        try:
            compile_pattern(pattern)
        except re.error as exc:
            invalid = Message(
                "{what}: invalid pattern '{pattern}': {detail}",
                what=what,
                pattern=pattern,
                detail=exc.msg,
            )
            raise f.error(item, invalid) from exc
    sentiment = f.text("sentiment")
    if sentiment is not None and sentiment not in SENTIMENTS:
        raise f.error(
            f.get("sentiment"),
            Message(
                "{what}: unknown sentiment '{value}'{hint}",
                what=what,
                value=sentiment,
                hint=suggest(sentiment, SENTIMENTS),
            ),
        )
    max_score = f.number("max_sentiment_score", 0.0) if "max_sentiment_score" in present else None
    if max_score is not None and not -1 <= max_score <= 1:
        raise f.error(
            f.get("max_sentiment_score"),
            Message("{what}: 'max_sentiment_score' must be in [-1, 1]", what=what),
        )
    min_contacts = f.integer("min_contacts", 0) if "min_contacts" in present else None
    if min_contacts is not None and min_contacts < 1:
        at_least = Message("{what}: 'min_contacts' must be 1 or more", what=what)
        raise f.error(f.get("min_contacts"), at_least)
    groups: list[Conditions] = []
    if "any" in present:
        any_node = f.get("any")
        assert any_node is not None
        if not any_node.is_list or not any_node.elements():
            not_groups = Message(
                "{what}: 'any' must be a non-empty list of condition groups", what=what
            )
            raise f.error(any_node, not_groups)
        for number, group in enumerate(any_node.elements(), start=1):
            group_what = Message("{what} 'any' group {number}", what=what, number=number)
            groups.append(_conditions(group, source, group_what))
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
    what = Message("{what} 'then'", what=rule)
    f = Fields(node, source, what, ACTION_KEYS)
    level = f.text("level")
    if level is None:
        no_level = Message(
            "{what} has no level (one of: {levels})", what=rule, levels=", ".join(LEVELS)
        )
        raise f.error(None, no_level)
    if level not in LEVELS:
        unknown = Message(
            "{what}: unknown level '{value}'{hint}",
            what=what,
            value=level,
            hint=suggest(level, LEVELS),
        )
        raise f.error(f.get("level"), unknown)
    steps = f.texts("steps")
    if not steps:
        if f.get("steps") is None:
            raise f.error(None, Message("{what} has no steps", what=rule))
        raise f.error(f.get("steps"), Message("{what} has an empty 'steps' list", what=rule))
    steps_node = f.get("steps")
    for step, item in zip(steps, steps_node.elements() if steps_node else [], strict=False):
        if _PLACEHOLDER.search(step):
            raise f.error(
                item,
                Message(
                    "{what}: steps are shown as written, so '{step}' cannot use "
                    "{{variables}}; put them in the reply",
                    what=what,
                    step=step,
                ),
            )
    reply, reply_id = f.text("reply"), f.text("reply_id")
    if reply is not None and reply_id is not None:
        both = Message("{what}: give 'reply' or 'reply_id', not both", what=what)
        raise f.error(f.get("reply_id"), both)
    if reply is not None:
        try:
            parse_template(reply)
        except InvalidReply as exc:
            bad = Message("{what}: reply {problem}", what=what, problem=exc.message)
            raise f.error(f.get("reply"), bad) from exc
    if reply_id is not None and reply_ids is not None and reply_id not in reply_ids:
        hint = suggest(reply_id, reply_ids) if reply_ids else ""
        unknown_id = Message(
            "{what}: no scripted reply has id '{id}'{hint}", what=what, id=reply_id, hint=hint
        )
        raise f.error(f.get("reply_id"), unknown_id)
    handling = f.text("handling")
    if handling is not None and handling not in HANDLING:
        raise f.error(
            f.get("handling"),
            Message(
                "{what}: unknown handling '{value}'{hint}",
                what=what,
                value=handling,
                hint=suggest(handling, HANDLING),
            ),
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
