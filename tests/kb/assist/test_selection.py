"""The bounded query of long and short turns keeps the question asked and the problem described.

Turns written for these tests (not evaluation queries), in Simplified, Traditional and English.
"""

from __future__ import annotations

import pytest

from kb.assist.conversation import QUERY_WORDS, Turn, build_query
from kb.assist.selection import is_question, select, units, words

STORY_ZH = "我们家最近在装修次卧，工人把客厅的柜子挪了位置，插座也是新拉的一个插排。"
STORY_HANT = "我平常上班時間家裡沒人，只有週末比較方便，外箱我也還留著。"
STORY_EN = "I work long hours and I bought this so I would not have to sweep every evening. "

# (name, customer turn, must be kept, must be dropped)
TURNS: list[tuple[str, str, list[str], list[str]]] = [
    (
        "zh-Hans short: the question and the clause before it",
        "你好，我的空气净化器买了三天，不想用了，寄回去的邮费谁来付？",
        ["寄回去的邮费谁来付", "不想用了"],
        ["你好"],
    ),
    (
        "zh-Hans long: problem first, question last, story between",
        "我家的净化器昨天开始出风有一股焦糊味，屏幕上显示E2。"
        + STORY_ZH * 6
        + "麻烦尽快回复，谢谢。这种情况要怎么处理？",
        ["焦糊味", "这种情况要怎么处理", "E2"],
        ["麻烦尽快回复"],
    ),
    (
        "zh-Hans long: the question in the middle, thanks and chatter after it",
        "我上个月买的吸尘器吸力越来越小。"
        + "尘盒多久要清一次？"
        + STORY_ZH * 5
        + "辛苦了，谢谢啦！",
        ["尘盒多久要清一次", "吸力越来越小"],
        ["辛苦了"],
    ),
    (
        "zh-Hant long: problem at the start is not lost",
        "我的掃地機器人前天開始完全充不進電，放在充電座上燈也不亮。"
        + STORY_HANT * 6
        + "請問這要怎麼處理？",
        ["充不進電", "這要怎麼處理"],
        [],
    ),
    (
        "en long: the problem sentence and the question survive a long story",
        "My air purifier stopped turning on yesterday. "
        + STORY_EN * 8
        + "Please let me know soon. What should I do to get it working again?",
        ["stopped turning on", "What should I do to get it working again?"],
        ["Please let me know soon"],
    ),
    (
        "en short: nothing to cut",
        "The parcel arrived with a cracked lid. Can I get a new one?",
        ["cracked lid", "Can I get a new one?"],
        [],
    ),
]


@pytest.mark.parametrize(
    ("text", "keep", "drop"), [t[1:] for t in TURNS], ids=[t[0] for t in TURNS]
)
def test_query_keeps_question_and_problem(text: str, keep: list[str], drop: list[str]) -> None:
    plan = build_query([Turn("customer", text)])
    assert words(plan.query) <= QUERY_WORDS
    assert [k for k in keep if k not in plan.query] == []
    assert [d for d in drop if d in plan.query] == []


@pytest.mark.parametrize("repeat", [1, 10, 100, 1000])
def test_query_is_bounded_for_any_length(repeat: int) -> None:
    text = "扫地机器人不回充了。" + STORY_ZH * repeat + "怎么办？"
    plan = build_query([Turn("customer", text)], budget=40)
    assert words(plan.query) <= 40
    assert "怎么办？" in plan.query and "不回充了" in plan.query


def test_question_is_the_asked_sentence_with_its_topic() -> None:
    # A question of few words ("怎么办？") takes the sentence before it, which names the topic.
    chosen = select("净化器显示E3，红灯一直闪。" + STORY_ZH + "这个怎么办？", 200)
    assert chosen.question == "这个怎么办？" or "怎么办" in chosen.question
    long = select("我前天下单的订单。收货地址填错了能改吗？谢谢。", 200)
    assert long.question == "收货地址填错了能改吗？"


def test_a_question_word_in_a_statement_is_not_a_question() -> None:
    # The message marks its question: "怎么按都开不了机" describes, "还能保修吗" asks.
    chosen = select("洗碗机进了水，现在怎么按都开不了机。这种情况还能保修吗？", 200)
    assert chosen.question == "这种情况还能保修吗？"
    assert is_question("warranty length", marked=False) is False
    assert is_question("退款多久到账", marked=False) is True


def test_run_on_sentence_is_cut_at_its_commas() -> None:
    run_on = "，".join(["我买的加湿器用了两天就漏水"] + ["工人来装修把东西都搬乱了"] * 4)
    assert len(units(run_on + "。")) == 5
    assert units("短句，不切。") == ["短句，不切。"]


def test_one_over_long_sentence_keeps_its_end() -> None:
    text = "word " * 400 + "how do I reset the router password?"
    plan = build_query([Turn("customer", text)], budget=12)
    assert plan.query.endswith("reset the router password?")
    assert words(plan.query) <= 12
