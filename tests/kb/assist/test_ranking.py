"""Suggestion ranking: the question weighs, one answer once, in the customer's language.

The end-to-end cases run the real suggest path on the sample knowledge base (real embedder,
real index); the turns are written for these tests, not taken from any evaluation set.
"""

from __future__ import annotations

import pytest

from kb.assist.conversation import Turn
from kb.assist.ranking import OTHER_LANGUAGE, _present, combine, prefer_language
from kb.assist.schemas import SuggestResponse
from kb.assist.suggest import SuggestInput, suggest
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.retrieval.indexing import live_chunks
from search.types import Hit, IndexedChunk

RANK = {"low": 0, "medium": 1, "high": 2}


def chunk(cid: str, language: str | None = None, document: str = "d") -> IndexedChunk:
    return IndexedChunk(
        chunk_id=cid, text=cid, index_text=cid, document_id=document, document_title=document,
        version=1, kind="faq", question=cid, language=language,
    )  # fmt: skip


def test_combine_weighs_the_question_and_fills_the_missing_side_with_the_floor() -> None:
    full = [Hit(chunk("story"), 0.9), Hit(chunk("answer"), 0.5), Hit(chunk("other"), 0.2)]
    asked = [Hit(chunk("answer"), 0.8), Hit(chunk("story"), 0.1)]
    ranked = combine(full, asked, 0.5)
    assert [h.chunk.chunk_id for h in ranked] == ["answer", "story", "other"]
    assert ranked[0].score == pytest.approx(0.65)
    assert ranked[2].score == pytest.approx(0.5 * 0.1 + 0.5 * 0.2)  # missing from `asked`


@pytest.mark.parametrize(
    ("question_language", "display", "expected"),
    [
        ("en", "zh-Hans", "en"),  # an English question: the English entry, whatever the script
        ("zh-Hans", "zh-Hant", "hant"),  # a Chinese question: the agent's script
        ("zh-Hant", "zh-Hans", "hans"),
        ("zh-Hans", None, "hans"),  # no display script: the customer's
    ],
)
def test_group_is_led_by_the_customers_language_then_the_agents_script(
    question_language: str, display: str | None, expected: str
) -> None:
    group = [
        Hit(chunk("hant", "zh-Hant", "tw"), 0.9),
        Hit(chunk("hans", "zh-Hans", "cn"), 0.8),
        Hit(chunk("en", "en", "intl"), 0.3),
    ]
    answer = _present(group, question_language, display)
    assert answer.hit.chunk.chunk_id == expected
    assert answer.hit.score == 0.9  # the group ranks where its best member ranked
    assert len(answer.twins) == 2


def test_other_language_answers_are_demoted_only_against_a_competing_one() -> None:
    manual = Hit(chunk("manual", "zh-Hans", "cn"), 0.66)
    faq = Hit(chunk("faq", "en", "intl"), 0.48)
    # No English answer comes near: the Chinese one answers and keeps its score.
    ranked = prefer_language([manual, faq], "en", OTHER_LANGUAGE, 0.15)
    assert [(h.chunk.chunk_id, h.score) for h in ranked] == [("manual", 0.66), ("faq", 0.48)]
    # An English answer within the margin: the Chinese one is scored at the factor.
    close = Hit(chunk("faq", "en", "intl"), 0.55)
    ranked = prefer_language([manual, close], "en", OTHER_LANGUAGE, 0.15)
    assert [h.chunk.chunk_id for h in ranked] == ["faq", "manual"]
    assert ranked[1].score == pytest.approx(0.66 * OTHER_LANGUAGE)


def test_english_question_no_english_entry_answers_gets_the_chinese_manual(
    sample_kb: KnowledgeBase,
) -> None:
    result = ask(sample_kb, "How long can I store it without using it?")
    assert chunks_of(sample_kb)[result.answers[0].id].section[-1] == "5.5 长期存放"


def ask(kb: KnowledgeBase, text: str, script: str | None = "zh-Hans") -> SuggestResponse:
    request = SuggestInput(conversation=[Turn("customer", text)], display_script=script, limit=6)  # type: ignore[arg-type]
    return suggest(kb, request)


def chunks_of(kb: KnowledgeBase) -> dict[str, IndexedChunk]:
    with session_scope(kb.engine) as session:
        return {c.chunk_id: c for c in live_chunks(session, kb.settings.default_collection)}


FEE_HANS = "退货的运费是我出还是你们出？"
FEE_HANT = "退貨的運費要自己付嗎？"
FEE_EN = "Who pays the shipping cost of a return?"


def test_return_shipping_turn_gets_the_shipping_fee_faq_first(sample_kb: KnowledgeBase) -> None:
    # The story ("放不下想退掉") matches "can I return it?"; the question asks who pays postage.
    result = ask(
        sample_kb, "您好，扫地机器人收到第四天了，家里实在放不下想退掉，寄回去的运费得我自己掏吗？"
    )
    assert chunks_of(sample_kb)[result.answers[0].id].question == FEE_HANS


@pytest.mark.parametrize(("script", "shown"), [("zh-Hans", FEE_HANS), ("zh-Hant", FEE_HANT)])
def test_cross_script_twins_are_one_suggestion_in_the_agents_script(
    sample_kb: KnowledgeBase, script: str, shown: str
) -> None:
    result = ask(sample_kb, "退货的话，寄回去的运费要我自己出吗？", script)
    chunks = chunks_of(sample_kb)
    questions = [chunks[a.id].question for a in result.answers]
    assert questions[0] == shown
    assert not {FEE_HANS, FEE_HANT} <= set(questions), "both twins shown"


def test_english_question_gets_the_english_entry_not_its_chinese_twin(
    sample_kb: KnowledgeBase,
) -> None:
    result = ask(
        sample_kb,
        "I changed my mind about the vacuum and want to send it back. Who pays the postage?",
    )
    top = chunks_of(sample_kb)[result.answers[0].id]
    assert (top.question, top.language) == (FEE_EN, "en")


@pytest.mark.parametrize(
    "text",
    [
        "掃地機器人充不進電怎麼辦",
        "你好，净化器一直显示E2，红灯在闪，怎么处理？",
        "How long is the warranty on the battery?",
    ],
)
def test_badges_follow_the_order(sample_kb: KnowledgeBase, text: str) -> None:
    grades = [RANK[a.confidence] for a in ask(sample_kb, text).answers]
    assert grades == sorted(grades, reverse=True)


def test_a_long_message_keeps_the_problem_told_first(sample_kb: KnowledgeBase) -> None:
    text = (
        "My X1 does not charge anymore, the dock light stays off. "
        + "We moved flats last month and the boxes got crushed in the van, which was a mess. " * 6
        + "What can I do?"
    )
    result = ask(sample_kb, text, None)
    assert "does not charge anymore" in result.query and "What can I do?" in result.query
    assert len(result.query) < len(text)
