"""Sentiment cues on real-sounding customer utterances: labels, risk categories and explanations."""

from __future__ import annotations

import re

import pytest

from kb.assist._sentiment_lexicon import CUE_GROUPS, NEUTRAL_TERMS
from kb.assist.sentiment import analyse
from search.normalize import fold

NEG, NEU, POS = "negative", "neutral", "positive"

# (utterance, expected label, expected categories — exactly)
CASES: list[tuple[str, str, set[str]]] = [
    # --- Simplified Chinese: upset customers
    ("我要投诉你们，三天了还没人处理！", NEG, {"complaint", "urgency"}),
    ("你们客服什么态度？我要给差评", NEG, {"complaint"}),
    ("这都第三次了，太过分了！！！", NEG, {"anger"}),
    ("你们就是骗子，退钱！", NEG, {"insult", "anger"}),
    ("再不处理我就打12315投诉你们", NEG, {"regulator", "complaint"}),
    ("我已经找律师了，等着收律师函吧", NEG, {"legal"}),
    ("我要去消协告你们", NEG, {"regulator", "legal"}),
    ("气死我了，什么垃圾产品 😡", NEG, {"anger", "insult"}),
    ("我再也不买你们家的东西了", NEG, {"churn"}),
    ("充电的时候插座冒烟了，还有点烫伤", NEG, {"safety"}),
    ("热水壶漏电，我被电了一下，触电了", NEG, {"safety"}),
    ("我的订单三天了还没发货，我要退款", NEG, {"urgency"}),
    ("不给我解决我就发微博曝光你们", NEG, {"complaint"}),
    ("麻烦尽快帮我处理一下，急用", NEG, {"urgency"}),
    ("不太满意，包装破了", NEG, set()),
    # --- Simplified Chinese: negations and neutral look-alikes
    ("我不是要投诉，只是想问下发票怎么开", NEU, set()),
    ("投诉渠道在哪里？", NEU, set()),
    ("请问投诉电话是多少", NEU, set()),
    ("律师事务所的发票抬头怎么写？", NEU, set()),
    ("可以用工商银行的卡付款吗？", NEU, set()),
    ("垃圾袋是赠品吗", NEU, set()),
    ("没有不满意，就是问问保修期", NEU, set()),
    ("请问这个型号支持无线充电吗？", NEU, set()),
    ("你们的防诈骗提醒我看到了", NEU, set()),
    ("烟雾报警器一直响，是不是没电了？", NEU, set()),
    # --- Simplified Chinese: satisfied customers
    ("东西收到了，很满意，谢谢！", POS, set()),
    ("好的谢谢，问题解决了", POS, set()),
    # --- Traditional Chinese
    ("我要投訴，你們的客服態度太差了", NEG, {"complaint"}),
    ("你們是騙子嗎？收了錢不發貨！！！", NEG, {"insult", "anger"}),
    ("再不退款我就找律師", NEG, {"legal"}),
    ("我已經打了1950消保官專線，也會找消基會", NEG, {"regulator"}),
    ("電池鼓包了，還有點冒煙", NEG, {"safety"}),
    ("你們根本在敷衍我，好嬲", NEG, {"complaint", "anger"}),
    ("請問投訴管道在哪裡？", NEU, set()),
    ("我不是要投訴，只是想確認退貨地址", NEU, set()),
    ("請問保固期是多久？", NEU, set()),
    ("謝謝你們，服務很好", POS, set()),
    # --- English
    ("This is ridiculous, I've been waiting two weeks for my refund!", NEG, {"anger", "urgency"}),
    ("I want to speak to a manager. This is unacceptable.", NEG, {"complaint"}),
    (
        "You guys are a scam. I'm filing a chargeback and reporting you to the BBB.",
        NEG,
        {"insult", "complaint", "regulator"},
    ),
    ("If this isn't fixed by Friday I will sue you.", NEG, {"legal"}),
    ("I'm fed up with this, cancel my account.", NEG, {"anger", "churn"}),
    ("The charger caught fire last night and burned my desk!", NEG, {"safety"}),
    ("I got an electric shock from the kettle.", NEG, {"safety"}),
    ("WHY IS NOBODY ANSWERING MY EMAILS", NEG, {"anger"}),
    ("Worst customer service ever???", NEG, {"complaint", "anger"}),
    ("I will file a complaint with your head office.", NEG, {"complaint"}),
    ("I'm not happy with the repair, it still doesn't work.", NEG, {"complaint"}),
    ("I'm not angry, just confused about the invoice.", NEU, set()),
    ("How do I file a complaint?", NEU, set()),
    ("It's not a scam, right? I just want to check the link is yours.", NEU, set()),
    ("Where can I find the complaints procedure?", NEU, set()),
    ("My smoke alarm keeps beeping, how do I change the battery?", NEU, set()),
    ("Can you tell me the warranty period for this model?", NEU, set()),
    ("Hi Sue, can you check my order status?", NEU, set()),
    ("Thanks so much, that was really helpful!", POS, set()),
    ("Great, thanks for the quick reply.", POS, set()),
]


@pytest.mark.parametrize(("text", "label", "categories"), CASES)
def test_label_and_categories(text: str, label: str, categories: set[str]) -> None:
    result = analyse(text)
    assert (result.label, set(result.categories)) == (label, categories), result.cues


def test_table_covers_scripts_and_look_alikes() -> None:
    assert len(CASES) >= 40
    hant = [t for t, _, _ in CASES if re.search("[們訴騙師際謝請還電]", t)]
    english = [t for t, _, _ in CASES if t.isascii()]
    neutral = [t for t, label, _ in CASES if label == NEU]
    assert (len(hant) >= 8, len(english) >= 15, len(neutral) >= 15) == (True, True, True)


@pytest.mark.parametrize(("text", "label", "categories"), CASES)
def test_score_range_agrees_with_label(text: str, label: str, categories: set[str]) -> None:
    score = analyse(text).score
    assert -1.0 <= score <= 1.0
    assert {NEG: score <= -0.3, POS: score >= 0.3, NEU: -0.3 < score < 0.3}[label]


@pytest.mark.parametrize(
    ("text", "expected_cues"),
    [
        ("我要投诉！！！", ["complaint keyword: 投诉", "repeated punctuation: ！！！"]),
        ("我要找律師告你們", ["threat of legal action: 找律師", "threat of legal action: 告你們"]),
        ("再这样我就打12315", ["regulator: 12315"]),
        ("你们这帮骗子", ["insult: 骗子"]),
        ("THIS IS RIDICULOUS", ["anger: THIS IS RIDICULOUS", "all-caps shouting"]),
        ("你们真的太过分了", ["intensifier: 真的", "anger: 太过分了"]),
        ("不是投诉，我就问问", ["negated complaint keyword (ignored): 不是投诉"]),
        ("I'm not angry", ["negated anger (ignored): not angry"]),
        ("投诉渠道在哪里？", ["enquiry, not a threat: 投诉"]),
        ("律师事务所的发票", ["neutral term: 律师事务所"]),
        ("不太满意", ["negated positive: 不太满意"]),
    ],
)
def test_cues_explain_the_decision(text: str, expected_cues: list[str]) -> None:
    assert list(analyse(text).cues) == expected_cues


@pytest.mark.parametrize(("text", "label", "categories"), CASES)
def test_every_category_is_explained_by_a_cue_quoting_the_text(
    text: str, label: str, categories: set[str]
) -> None:
    result = analyse(text)
    for cue in result.cues:
        if cue != "all-caps shouting":
            assert cue.split(": ", 1)[1] in text, cue
    kinds = {cue.split(": ", 1)[0] for cue in result.cues}
    by_kind = {g.kind: g.category for g in CUE_GROUPS}
    explained = {by_kind.get(k) for k in kinds} | (
        {"anger"} if kinds & {"repeated punctuation", "all-caps shouting"} else set()
    )
    assert set(result.categories) <= explained


@pytest.mark.parametrize(
    ("weaker", "stronger"),
    [
        ("不满意", "非常不满意"),
        ("this is ridiculous", "this is so ridiculous"),
        ("我要投诉", "我要投诉！！！"),
        ("我要投诉", "我要投诉 😡"),
        ("scam", "scam and I will sue you"),
    ],
)
def test_intensity_lowers_the_score(weaker: str, stronger: str) -> None:
    assert analyse(stronger).score < analyse(weaker).score < 0


@pytest.mark.parametrize(
    ("threat", "question"),
    [
        ("我要投诉", "怎么投诉"),
        ("I will file a complaint", "how do I file a complaint"),
        ("我要打12315", "12315电话是多少"),
        ("我要找律师", "律师事务所的发票"),
    ],
)
def test_threat_and_its_look_alike_differ(threat: str, question: str) -> None:
    threatening, asking = analyse(threat), analyse(question)
    assert threatening.label == "negative"
    assert asking.label == "neutral"
    assert not asking.categories


def test_acronyms_alone_are_not_shouting() -> None:
    assert "all-caps shouting" not in analyse("My USB cable from the BBB list, order ID 42").cues


def test_lexicon_terms_are_in_normalised_form() -> None:
    """Terms are matched against folded text (search.normalize.fold), so an unfolded term never
    fires: every term must be its own folded form."""
    terms = [t for g in CUE_GROUPS for t in g.terms] + list(NEUTRAL_TERMS)
    assert [t for t in terms if fold(t) != t] == []
