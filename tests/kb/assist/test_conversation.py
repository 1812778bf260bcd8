"""Building the retrieval query from multi-turn conversations in zh-Hans, zh-Hant and English."""

from __future__ import annotations

import pytest

from kb.assist.conversation import QueryPlan, Turn, build_query


def c(text: str) -> Turn:
    return Turn("customer", text)


def a(text: str) -> Turn:
    return Turn("agent", text)


# (name, conversation, must be in the query, must not be in the query, is follow-up)
CONVERSATIONS: list[tuple[str, list[Turn], list[str], list[str], bool]] = [
    (
        "zh-Hans: greeting, question, answer, follow-up",
        [
            c("你好"),
            a("您好，很高兴为您服务，请问有什么可以帮您？"),
            c("我想退货，怎么操作？"),
            a("您可以在订单详情页点击申请售后，7天内支持无理由退货。"),
            c("那运费谁出？"),
        ],
        ["那运费谁出", "退货"],
        ["你好", "订单详情页", "无理由", "很高兴"],
        True,
    ),
    (
        "zh-Hant: greeting, question, answer, follow-up",
        [
            c("在嗎？"),
            a("在的，請問有什麼可以幫您？"),
            c("我買的吹風機壞了，可以換貨嗎？"),
            a("可以的，請提供訂單號碼，我們會安排換貨。"),
            c("運費呢？"),
        ],
        ["運費呢", "吹風機壞了", "換貨"],
        ["在嗎", "訂單號碼", "安排"],
        True,
    ),
    (
        "en: greeting, question, answer, follow-up",
        [
            c("Hi there"),
            a("Hello! How can I help you today?"),
            c("How do I return a damaged blender?"),
            a("You can start a return from the Orders page within 30 days."),
            c("what about the warranty?"),
        ],
        ["what about the warranty", "return a damaged blender"],
        ["Hi there", "Orders page", "30 days", "help you today"],
        True,
    ),
    (
        "zh-Hans: greeting and question in one turn",
        [c("亲，在吗？你好请问会员积分怎么兑换？谢谢")],
        ["会员积分怎么兑换"],
        ["亲", "在吗", "你好", "请问", "谢谢"],
        False,
    ),
    (
        "zh-Hans: thanks at the end contributes nothing",
        [
            c("您好"),
            a("您好"),
            c("我的订单三天了还没发货"),
            a("帮您查询一下，预计明天发出。"),
            c("好的谢谢"),
        ],
        ["我的订单三天了还没发货"],
        ["好的", "谢谢", "明天发出", "您好"],
        False,
    ),
    (
        "zh-Hant: new self-contained question is not a follow-up",
        [
            c("請問保固期是多久？"),
            a("保固期為一年。"),
            c("另外想問一下，你們的會員點數可以轉給家人使用嗎？我上個月剛升級成金卡會員"),
        ],
        ["會員點數", "轉給家人"],
        ["保固期", "一年"],
        False,
    ),
    (
        "zh-Hant: pronoun follow-up",
        [
            c("您好"),
            c("我想買你們的空氣清淨機，濾網多久要換一次？"),
            a("建議每六個月更換一次。"),
            c("這個可以自己換嗎？"),
        ],
        ["這個可以自己換嗎", "濾網"],
        ["您好", "六個月"],
        True,
    ),
    (
        "zh-Hans: chained follow-ups keep the topic",
        [
            c("退货运费谁出？"),
            a("质量问题由我们承担。"),
            c("那换货呢？"),
            a("换货也一样。"),
            c("那如果超过七天呢？"),
        ],
        ["那如果超过七天呢", "换货", "退货运费"],
        ["承担", "也一样"],
        True,
    ),
    (
        "en: pleasantries around a question",
        [
            c("hello"),
            a("Hi, this is Sam. How can I help?"),
            c("ok thanks. Can I change the delivery address after the order has shipped?"),
        ],
        ["change the delivery address"],
        ["hello", "thanks", "Sam"],
        False,
    ),
    (
        "en: short elliptical follow-up",
        [
            c("Do you ship to Canada?"),
            a("Yes, we ship to Canada in 5-7 business days."),
            c("And to Mexico?"),
        ],
        ["And to Mexico", "ship to Canada"],
        ["business days"],
        True,
    ),
    (
        "en: 'his' is not the greeting 'hi'",
        [c("his order never arrived, can he get a refund?")],
        ["his order never arrived"],
        [],
        False,
    ),
]


@pytest.mark.parametrize(
    ("turns", "present", "absent", "follow_up"),
    [case[1:] for case in CONVERSATIONS],
    ids=[case[0] for case in CONVERSATIONS],
)
def test_query_from_conversation(
    turns: list[Turn], present: list[str], absent: list[str], follow_up: bool
) -> None:
    plan = build_query(turns)
    assert [p for p in present if p not in plan.query] == []
    assert [p for p in absent if p in plan.query] == []
    assert plan.is_follow_up is follow_up


def test_follow_up_plan_puts_the_latest_turn_first() -> None:
    plan = build_query(CONVERSATIONS[0][1])
    assert plan == QueryPlan(
        query="那运费谁出？ 我想退货，怎么操作？",
        latest="那运费谁出？",
        question="那运费谁出？ 我想退货，怎么操作？",
        context_used=("我想退货，怎么操作？",),
        is_follow_up=True,
    )


def test_chained_context_is_oldest_first() -> None:
    plan = build_query(CONVERSATIONS[7][1])
    assert plan.context_used == ("退货运费谁出？", "那换货呢？")
    assert plan.query.startswith("那如果超过七天呢？")


@pytest.mark.parametrize(
    ("turns", "expected"),
    [
        ([c("你好")], "你好"),
        ([c("在吗？"), a("在的"), c("亲？")], "亲？"),
        ([c("hello"), c("  ok thanks ")], "ok thanks"),
    ],
)
def test_greetings_only_still_give_a_query(turns: list[Turn], expected: str) -> None:
    plan = build_query(turns)
    assert (plan.query, plan.is_follow_up) == (expected, False)


@pytest.mark.parametrize(
    "turns",
    [[], [a("您好，请问有什么可以帮您？")], [c("   "), a("在的")]],
)
def test_no_customer_turn_is_an_error(turns: list[Turn]) -> None:
    with pytest.raises(ValueError, match="conversation has no customer turn"):
        build_query(turns)


def test_unknown_role_is_rejected() -> None:
    with pytest.raises(ValueError, match="'bot'"):
        Turn("bot", "hi")  # type: ignore[arg-type]


def test_max_chars_is_gone_budget_must_be_positive() -> None:
    with pytest.raises(ValueError, match="budget must be at least 1 word, got 0"):
        build_query([c("运费谁出？")], budget=0)


# Questions that carry a word the selection reads as "please reply soon" or thanks (回复, 尽快,
# please, sorry, thanks): each used to lose every unit and become an empty query.
@pytest.mark.parametrize(
    ("turns", "expected"),
    [
        ([c("群消息的回复率怎么统计？")], "群消息的回复率怎么统计？"),
        ([c("怎么提醒同事尽快提交周报？")], "怎么提醒同事尽快提交周报？"),
        ([c("已讀回覆的訊息可以刪除嗎？")], "已讀回覆的訊息可以刪除嗎？"),
        ([c("請盡快告訴我怎麼修改收貨地址？")], "請盡快告訴我怎麼修改收貨地址？"),
        (
            [c("Could you please tell me how to change the delivery address?")],
            "Could you please tell me how to change the delivery address?",
        ),
        (
            [c("Sorry to bother you, how quickly can I change the delivery address?")],
            "how quickly can I change the delivery address?",
        ),
        # Nothing but politeness: the turn without its thanks, never nothing (nor a lone "！").
        ([c("麻烦尽快回复，谢谢！！")], "麻烦尽快回复，"),
        ([c("谢谢！！")], "谢谢！！"),
        ([c("Please reply asap. Thanks!")], "Please reply asap."),
    ],
)
def test_questions_with_meta_words_are_never_an_empty_query(
    turns: list[Turn], expected: str
) -> None:
    assert build_query(turns).query == expected


def test_follow_up_with_meta_word_keeps_its_own_text() -> None:
    plan = build_query([c("我想退货，怎么操作？"), a("在订单页申请。"), c("那回复要多久？")])
    assert plan.query.startswith("那回复要多久？")
