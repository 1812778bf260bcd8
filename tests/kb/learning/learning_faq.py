"""A small FAQ knowledge base and agents who use it, for the learning tests (imported by name,
like ``backends``)."""

from __future__ import annotations

from collections.abc import Callable

from kb.assist.conversation import Turn
from kb.assist.schemas import SuggestResponse
from kb.assist.suggest import SuggestInput, suggest
from kb.context import KnowledgeBase
from kb.documents.ingestion import IngestItem, ingest_items
from kb.insight.feedback import record_feedback
from kb.learning import refresh

# Return and refund questions that answer close to one another: a store's small FAQ.
FAQ = (
    "question,answer\n"
    "退货运费谁出？,质量问题退货运费由我们承担，非质量问题由顾客承担。\n"
    "怎么申请退货？,在订单页点击申请退货，填写原因后等待审核。\n"
    "退款多久到账？,退款审核通过后一到三个工作日原路退回。\n"
    "退货需要保留包装吗？,请保留原包装和配件，缺失可能影响退货。\n"
    "可以换货吗？,签收十五天内质量问题可以换货。\n"
    "发票怎么开？,在订单页申请电子发票，一个工作日内发送到邮箱。\n"
)
QUESTION = "我想退货，运费谁来出？"
AGENTS = [f"user:agent{n}@assistkb.test" for n in range(5)]


def faq_kb(
    make_db_kb: Callable[..., KnowledgeBase], collection: str = "default", **settings: object
) -> KnowledgeBase:
    kb = make_db_kb(**settings)
    [result] = ingest_items(kb, [IngestItem("faq.csv", FAQ.encode())], collection=collection)
    assert result.status == "ingested", result.reason
    return kb


def ask(kb: KnowledgeBase, text: str = QUESTION, actor: str | None = None) -> SuggestResponse:
    turn = Turn(role="customer", text=text)
    return suggest(kb, SuggestInput(conversation=[turn], actor=actor, limit=5))


def ranking(made: SuggestResponse) -> list[tuple[str, float]]:
    return [(a.id, a.score) for a in made.answers]


def use(kb: KnowledgeBase, rank: int, agents: list[str], times: int = 1) -> str:
    """Each agent asks, and inserts the answer shown at ``rank`` (1-based), ``times`` times."""
    item = ""
    for agent in agents:
        for _ in range(times):
            made = ask(kb, actor=agent)
            item = made.answers[rank - 1].id
            record_feedback(
                kb, suggestion_id=made.suggestion_id, item_id=item, action="inserted", actor=agent
            )
    refresh(kb, "default")
    return item
