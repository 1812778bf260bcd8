"""Scripted replies and escalation rule sets: import, export, list — stored in SQL."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from sqlmodel import col, func, select

from kb.audit import SYSTEM_ACTOR, record
from kb.context import KnowledgeBase, Slot
from kb.db import session_scope
from kb.errors import Invalid
from kb.library.escalation import Rule
from kb.library.replies import ReplyTemplate, make_reply
from kb.library.reply_format import dump_replies_yaml, parse_replies_csv, parse_replies_yaml
from kb.library.rule_format import dump_rules_yaml, parse_rules_yaml
from kb.library.schemas import RuleSetPublic
from kb.models import ReplyRecord, RuleSetRecord, utcnow
from kb.retrieval.vocabulary import Vocabulary, save_vocabulary, vocabulary_history

log = logging.getLogger(__name__)


class _RuleCache:
    """The rule set in force, parsed once per process: rule set id → rules."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.parsed: dict[int, list[Rule]] = {}


_RULES: Slot[_RuleCache] = Slot("library.rules", lambda kb: _RuleCache())


def parse_reply_file(text: str, source: str) -> list[ReplyTemplate]:
    """YAML or CSV by the file name; raises RuleFileError naming the line of any problem."""
    if source.lower().endswith(".csv"):
        return parse_replies_csv(text, source)
    if source.lower().endswith((".yaml", ".yml")):
        return parse_replies_yaml(text, source)
    raise Invalid(
        "{source}: replies must be a .yaml, .yml or .csv file", field="file", source=source
    )


def import_replies(
    kb: KnowledgeBase, text: str, source: str, *, actor: str = SYSTEM_ACTOR
) -> list[str]:
    """All or nothing: a file with any error changes no reply. Returns the imported ids."""
    replies = parse_reply_file(text, source)
    ids = [r.id for r in replies]
    with session_scope(kb.engine) as session:
        for reply in replies:
            row = session.get(ReplyRecord, reply.id) or ReplyRecord(
                id=reply.id, title=reply.title, body=reply.body
            )
            _copy_reply(row, reply, source)
            session.add(row)
        record(session, actor=actor, action="reply.import", target=source, detail={"ids": ids})
    return ids


def save_reply(
    kb: KnowledgeBase, reply: ReplyTemplate, source: str = "console", *, actor: str = SYSTEM_ACTOR
) -> None:
    with session_scope(kb.engine) as session:
        existing = session.get(ReplyRecord, reply.id)
        row = existing or ReplyRecord(id=reply.id, title=reply.title, body=reply.body)
        _copy_reply(row, reply, source)
        session.add(row)
        action = "reply.update" if existing else "reply.create"
        record(session, actor=actor, action=action, target=reply.id, detail={"title": reply.title})


def delete_reply(kb: KnowledgeBase, reply_id: str, *, actor: str = SYSTEM_ACTOR) -> bool:
    with session_scope(kb.engine) as session:
        row = session.get(ReplyRecord, reply_id)
        if row is None:
            return False
        session.delete(row)
        record(session, actor=actor, action="reply.delete", target=reply_id,
               detail={"title": row.title})  # fmt: skip
    return True


def _copy_reply(record: ReplyRecord, reply: ReplyTemplate, source: str) -> None:
    record.title = reply.title
    record.body = reply.body
    record.tags = list(reply.tags)
    record.language = reply.language
    record.variables = list(reply.variables)
    record.applies_to = list(reply.applies_to)
    record.labels = dict(reply.labels)
    record.source = source
    record.updated_at = utcnow()


def replies_version(kb: KnowledgeBase) -> tuple[object, ...]:
    """Changes whenever a reply is added, edited or deleted: a cheap staleness check."""
    with session_scope(kb.engine) as session:
        count, newest = session.exec(
            select(func.count(), func.max(ReplyRecord.updated_at)).select_from(ReplyRecord)
        ).one()
    return (count, newest)


def list_replies(kb: KnowledgeBase) -> list[ReplyTemplate]:
    with session_scope(kb.engine) as session:
        records = session.exec(select(ReplyRecord).order_by(col(ReplyRecord.id))).all()
    return [_template(r) for r in records]


def _template(record: ReplyRecord) -> ReplyTemplate:
    return make_reply(
        id=record.id,
        title=record.title,
        body=record.body,
        tags=tuple(record.tags),
        language=record.language,
        variables=dict(record.labels) or None,
        applies_to=tuple(record.applies_to),
    )


def export_replies(kb: KnowledgeBase) -> str:
    return dump_replies_yaml(list_replies(kb))


def import_rules(
    kb: KnowledgeBase,
    text: str,
    source: str,
    *,
    actor: str = SYSTEM_ACTOR,
    action: str = "rules.import",
) -> list[Rule]:
    """Parse the whole file first; on any error the rules in force stay as they were.

    ``action`` is what the audit log calls it: ``rules.import`` (a file) or ``rules.save``
    (the console's editor).
    """
    reply_ids = {r.id for r in list_replies(kb)}
    rules = parse_rules_yaml(text, source, reply_ids=reply_ids or None)
    with session_scope(kb.engine) as session:
        session.add(RuleSetRecord(source=source, text=text, rule_count=len(rules)))
        record(session, actor=actor, action=action, target=source, detail={"rules": len(rules)})
    return rules


def active_rules(kb: KnowledgeBase) -> list[Rule]:
    """The newest imported rule set, parsed once per process and cached by its id."""
    with session_scope(kb.engine) as session:
        record = session.exec(
            select(RuleSetRecord).order_by(col(RuleSetRecord.id).desc()).limit(1)
        ).first()
    if record is None or record.id is None:
        return []
    cache = kb.state(_RULES)
    with cache.lock:
        if record.id not in cache.parsed:
            # Only the newest set is ever in force: older parses are dropped.
            cache.parsed = {record.id: parse_rules_yaml(record.text, record.source)}
        return cache.parsed[record.id]


def export_rules(kb: KnowledgeBase) -> str:
    return dump_rules_yaml(active_rules(kb))


def rule_set_history(kb: KnowledgeBase) -> list[RuleSetPublic]:
    """Every imported rule file, newest (the one in force) first, without its text."""
    with session_scope(kb.engine) as session:
        records = session.exec(select(RuleSetRecord).order_by(col(RuleSetRecord.id).desc())).all()
    return [RuleSetPublic.model_validate(r.model_dump(exclude={"text"})) for r in records]


def import_sample(kb: KnowledgeBase, sample: Any, *, actor: str = SYSTEM_ACTOR) -> None:
    """Load the sample KB's replies, escalation playbook and vocabulary (the manifest names them).

    The vocabulary is set only in a knowledge base that never had one: loading the sample again
    must not undo a knowledge manager's edits. Setting it re-indexes what was ingested.
    """
    replies: Path | None = sample.replies
    rules: Path | None = sample.escalation_rules
    if replies is not None:
        import_replies(kb, replies.read_text(encoding="utf-8"), replies.name, actor=actor)
    if rules is not None:
        current = rule_set_history(kb)
        text = rules.read_text(encoding="utf-8")
        if not current or _latest_text(kb) != text:
            import_rules(kb, text, rules.name, actor=actor)
    if (sample.user_dict or sample.synonyms) and not vocabulary_history(kb, limit=1):
        vocabulary = Vocabulary(_read(sample.user_dict), _read(sample.synonyms))
        save_vocabulary(kb, vocabulary, actor=actor)


def _read(path: Path | None) -> str:
    return path.read_text(encoding="utf-8") if path else ""


def _latest_text(kb: KnowledgeBase) -> str | None:
    with session_scope(kb.engine) as session:
        record = session.exec(
            select(RuleSetRecord).order_by(col(RuleSetRecord.id).desc()).limit(1)
        ).first()
    return record.text if record else None
