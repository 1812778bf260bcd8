"""A tiny knowledge base and a suggestion log written as the assist path writes it, for the
upkeep tests: suggestions with their answers and replies, feedback through the real service."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.documents.ingestion import IngestItem, ingest_items
from kb.insight.feedback import record_feedback
from kb.models import ReplyRecord, SuggestionLog, utcnow

FAQ = (
    "question,answer\n"
    "退货的运费谁出？,非质量问题的退货由您承担寄回运费，质量问题由云舟承担。\n"
    "保修期是多久？,整机保修 1 年，电机与电池保修 2 年。\n"
).encode()
REPLY_ID = "charging-reset"
REPLY_BODY = (
    "请把机器人从充电座上拿开，长按电源键 10 秒重启，再放回充电座。仍不行请致电 13812345678。"
)
# Ten agents' wordings of one question the FAQ does not answer.
CHARGING = (
    "扫地机器人充不进电怎么办",
    "机器人放在充电座上不充电",
    "充电座充不上电是什么原因",
    "扫地机一直显示未充电",
    "扫地机器人不充电了",
    "机器人回不了充电座也充不上电",
    "充电座指示灯亮但机器人不充电",
    "扫地机器人电池充不满",
    "机器人放上充电座没反应",
    "扫地机器人没法充电怎么办",
)
INVOICE = ("发票怎么开", "我要开增值税发票", "能给我开个发票吗")


def tiny_kb(make: Callable[..., KnowledgeBase]) -> KnowledgeBase:
    kb = make()
    [result] = ingest_items(kb, [IngestItem("faq.csv", FAQ)], collection="default")
    assert result.status == "ingested", result
    with session_scope(kb.engine) as session:
        session.add(ReplyRecord(id=REPLY_ID, title="充电重启", body=REPLY_BODY))
    return kb


def logged(
    kb: KnowledgeBase,
    query: str,
    *,
    actor: str,
    collection: str = "default",
    confidence: str | None = "medium",
    at: datetime | None = None,
) -> str:
    """A suggestion as the assist path logs it: one answer and the charging reply offered."""
    row = SuggestionLog(
        collection=collection,
        query=query,
        answers=[{"id": "answer-1", "title": "退货的运费谁出？"}],
        replies=[REPLY_ID],
        handling="agent",
        best_confidence=confidence,
        actor=actor,
        created_at=at or utcnow(),
    )
    with session_scope(kb.engine) as session:
        session.add(row)
        session.flush()
        return row.id


def not_helpful(kb: KnowledgeBase, queries: tuple[str, ...], *, days_ago: float = 0) -> list[str]:
    """Each query asked by its own agent, whose answer was marked not helpful."""
    ids = []
    for n, query in enumerate(queries):
        actor = f"user:agent{n}@assistkb.test"
        at = utcnow() - timedelta(days=days_ago)
        sid = logged(kb, query, actor=actor, at=at)
        record_feedback(
            kb, suggestion_id=sid, item_id="answer-1", action="not_helpful", actor=actor
        )
        ids.append(sid)
    return ids
