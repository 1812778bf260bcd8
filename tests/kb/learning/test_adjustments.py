"""Learning in the suggestion ranking, through the real suggest and feedback paths, on SQLite
and PostgreSQL: what enough agents use rises, by its adjustment and no more; nothing changes
without events, with learning off, for one agent alone, or once the document changes."""

from __future__ import annotations

from collections.abc import Callable

from kb.assist.conversation import Turn
from kb.assist.redaction import redact
from kb.assist.schemas import SuggestResponse
from kb.assist.suggest import SuggestInput, suggest
from kb.context import KnowledgeBase
from kb.documents.ingestion import IngestItem, ingest_items
from kb.insight.feedback import record_feedback
from kb.learning import refresh
from kb.learning.adjustments import CAP, model
from kb.learning.intents import known_intent

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


def faq_kb(make_db_kb: Callable[..., KnowledgeBase], **settings: object) -> KnowledgeBase:
    kb = make_db_kb(**settings)
    [result] = ingest_items(kb, [IngestItem("faq.csv", FAQ.encode())], collection="default")
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


def test_with_no_events_suggestions_equal_learning_off(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = faq_kb(make_db_kb)
    on = ask(kb)
    assert known_intent(kb, "default", redact(on.query)) is not None  # the intent was stored
    kb.settings = kb.settings.model_copy(update={"learning": False})
    off = ask(kb)
    assert ranking(on) == ranking(off)
    assert [a.confidence for a in on.answers] == [a.confidence for a in off.answers]


def test_what_enough_agents_use_rises_by_its_capped_adjustment(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = faq_kb(make_db_kb)
    before = dict(ranking(ask(kb)))
    item = use(kb, 3, AGENTS, times=2)
    learned = model(kb, "default")
    [moves] = learned.adjustments.values()
    assert set(moves) == {item} and 0 < moves[item] <= CAP
    [evidence] = [e for e in learned.evidence if e.item_id == item]
    assert evidence.agents == len(AGENTS) and evidence.clicks > evidence.expected
    after = ask(kb)
    scores = dict(ranking(after))
    assert scores[item] == round(before[item] + moves[item], 4)
    for other, score in before.items():  # the others keep their fused scores
        if other != item:
            assert scores[other] == score
    assert [a.score for a in after.answers] == sorted(
        (a.score for a in after.answers), reverse=True
    )
    order = {"high": 2, "medium": 1, "low": 0}
    badges = [order[a.confidence] for a in after.answers]
    assert badges == sorted(badges, reverse=True)  # a badge never contradicts the order


def test_one_agent_alone_moves_nothing(make_db_kb: Callable[..., KnowledgeBase]) -> None:
    kb = faq_kb(make_db_kb)
    before = ranking(ask(kb))
    use(kb, 4, AGENTS[:1], times=8)
    assert model(kb, "default").adjustments == {}
    assert ranking(ask(kb)) == before


def test_learning_off_ignores_the_evidence(make_db_kb: Callable[..., KnowledgeBase]) -> None:
    kb = faq_kb(make_db_kb)
    before = ranking(ask(kb))
    use(kb, 3, AGENTS)
    assert ranking(ask(kb)) != before
    kb.settings = kb.settings.model_copy(update={"learning": False})
    assert ranking(ask(kb)) == before


def test_a_new_version_of_the_document_starts_afresh(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = faq_kb(make_db_kb)
    use(kb, 3, AGENTS)
    assert model(kb, "default").adjustments
    changed = FAQ.replace("一到三个工作日", "三到五个工作日")
    [result] = ingest_items(kb, [IngestItem("faq.csv", changed.encode())], collection="default")
    assert result.status == "ingested"
    refresh(kb, "default")
    learned = model(kb, "default")
    assert learned.adjustments == {} and learned.evidence == []
