"""Escalation rules: the YAML format (line-accurate errors, round trip) and the pure matcher."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
import yaml

from kb.library.escalation import EscalationContext, EscalationDecision, evaluate, ordinal
from kb.library.reply_format import parse_replies_yaml
from kb.library.rule_format import (
    ACTION_KEYS,
    CONDITION_KEYS,
    RULE_KEYS,
    dump_rules_yaml,
    parse_rules_yaml,
)
from kb.library.rulefile import RuleFileError
from search.normalize import normalize

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "kb" / "sample"
DOC = (ROOT / "docs" / "rules-and-replies.md").read_text(encoding="utf-8")
SAMPLE_RULES_TEXT = (SAMPLE / "playbooks" / "escalation.yaml").read_text(encoding="utf-8")
SAMPLE_RULES = parse_rules_yaml(SAMPLE_RULES_TEXT, "escalation.yaml")
REPLY_IDS = {
    r.id
    for r in parse_replies_yaml(
        (SAMPLE / "replies" / "replies.yaml").read_text(encoding="utf-8"), "replies.yaml"
    )
}


def bigram_similarity(text: str, examples: Sequence[str]) -> float:
    """A deterministic stand-in for the embedder: best Jaccard overlap of character bigrams."""

    def grams(s: str) -> set[str]:
        s = normalize(s)
        return {s[i : i + 2] for i in range(len(s) - 1)}

    return max(
        (len(grams(text) & grams(e)) / len(grams(text) | grams(e)) for e in examples), default=0.0
    )


def rules(body: str) -> str:
    return "version: 1\nrules:\n" + body


def rule(rule_id: str, when: str, *, priority: int = 0, extra: str = "", then: str = "") -> str:
    """One rule; ``when`` lines are indented under `when:`."""
    when_block = "".join(f"      {line}\n" for line in when.splitlines())
    action = (
        then or f"      level: tier2\n      team: team-{rule_id}\n      steps: [step {rule_id}]\n"
    )
    return (
        f"  - id: {rule_id}\n    priority: {priority}\n{extra}"
        f"    when:\n{when_block}    then:\n{action}"
    )


# ---- the sample playbook --------------------------------------------------------------------


def test_sample_playbook_parses_and_names_known_replies() -> None:
    assert len(SAMPLE_RULES) >= 10
    assert parse_rules_yaml(SAMPLE_RULES_TEXT, "escalation.yaml", reply_ids=REPLY_IDS)
    assert all(r.then.steps and (r.then.reply or r.then.reply_id) for r in SAMPLE_RULES)
    assert max(SAMPLE_RULES, key=lambda r: r.priority).id == "safety-hazard"
    assert [r.id for r in SAMPLE_RULES if not r.enabled] == ["holiday-peak-delay"]


@pytest.mark.parametrize(
    ("ctx", "rule_ids", "level", "team"),
    [
        (EscalationContext("扫地机充电的时候冒烟了，我要起诉你们"),
         ("safety-hazard", "legal-threat"), "supervisor", "safety"),
        (EscalationContext("再不处理我就打12315投诉"), ("regulator-complaint",), "tier3",
         "customer_care"),
        (EscalationContext("I'm going to talk to my lawyer about this"), ("legal-threat",),
         "supervisor", "legal"),
        (EscalationContext("退款十天了还没到账，太过分了", sentiment_label="negative",
                           customer_tier="vip"),
         ("vip-unhappy", "refund-dispute"), "tier2", "customer_care"),
        (EscalationContext("快递顯示簽收了，但包裹丟了，我沒收到貨"), ("parcel-lost-damaged",),
         "tier2", "logistics"),
        (EscalationContext("扫地机报错E12，重启也没用", best_confidence="low"),
         ("technical-unsolved",), "tier2", "technical"),
        (EscalationContext("扫地机报错E12，重启也没用", best_confidence="high"), (), None, None),
        (EscalationContext("还是没发货", contact_count=4), ("repeated-contact",), "supervisor",
         "customer_care"),
        (EscalationContext("订单什么时候发货？"), (), None, None),
        (EscalationContext("the purifier started smoking", latest="the purifier started smoking",
                           similarity=bigram_similarity),
         ("safety-hazard",), "supervisor", "safety"),
    ],
)  # fmt: skip
def test_sample_playbook_on_conversations(
    ctx: EscalationContext, rule_ids: tuple[str, ...], level: str | None, team: str | None
) -> None:
    decision = evaluate(SAMPLE_RULES, ctx)
    assert decision.matched_rule_ids == rule_ids
    assert decision.recommended == bool(rule_ids)
    assert (decision.level, decision.team) == (level, team)


def test_sample_safety_decision_reads_well() -> None:
    decision = evaluate(
        SAMPLE_RULES, EscalationContext("機器充電時冒煙了", sentiment_label="negative")
    )
    assert decision.reasons == ("keyword: 冒烟",)
    assert decision.handling == "expert"
    assert decision.steps[0].startswith("请客户立即停止使用并拔掉电源插头")
    assert decision.reply is not None and "{name}" in decision.reply


# ---- the matcher, one condition kind at a time ---------------------------------------------

CASES: list[tuple[str, str, EscalationContext, tuple[str, ...]]] = [
    # (name, when-block, context, reasons; () = no match)
    ("keyword", "keywords: [退款, 投诉]", EscalationContext("我要退款"), ("keyword: 退款",)),
    ("keyword all hits", "keywords: [退款, 投诉]", EscalationContext("投诉！退款！"),
     ("keyword: 退款", "keyword: 投诉")),
    ("keyword in Traditional text", "keywords: [起诉]", EscalationContext("我要起訴"),
     ("keyword: 起诉",)),
    ("Traditional keyword", "keywords: [退貨]", EscalationContext("怎么退货"), ("keyword: 退貨",)),
    ("full-width and case", "keywords: [lawyer]", EscalationContext("my ＬＡＷＹＥＲ says"),
     ("keyword: lawyer",)),
    ("inflection", "keywords: [sue]", EscalationContext("We got sued"), ("keyword: sue",)),
    ("no word inside word", "keywords: [sue]", EscalationContext("an issue with suede"), ()),
    ("keyword in earlier turn", "keywords: [律师]",
     EscalationContext("我找了律师\n那运费谁出？", latest="那运费谁出？"), ("keyword: 律师",)),
    ("keyword only in latest", "keywords: [律师]",
     EscalationContext("你好", latest="我找律师"), ("keyword: 律师",)),
    ("no keyword", "keywords: [退款]", EscalationContext("怎么配网"), ()),
    ("pattern", "patterns: ['1231[05]']", EscalationContext("我打 12315 了"), ("pattern: 12315",)),
    ("Traditional pattern", "patterns: ['退貨.*運費']", EscalationContext("退货的运费谁出"),
     ("pattern: 退货的运费",)),
    ("no pattern", "patterns: ['\\d{11}']", EscalationContext("电话 1380013"), ()),
    ("example", "examples: [我要投诉你们, 机器冒烟了]",
     EscalationContext("我要投诉你们", latest="我要投诉你们", similarity=bigram_similarity),
     ("similar to: '我要投诉你们'",)),
    ("example below threshold", "examples: [我要投诉你们]",
     EscalationContext("投诉", latest="投诉", similarity=bigram_similarity), ()),
    ("example without embedder", "examples: [我要投诉你们]",
     EscalationContext("我要投诉你们", latest="我要投诉你们"), ()),
    ("negative", "sentiment: negative", EscalationContext("x", sentiment_label="negative"),
     ("negative sentiment",)),
    ("neutral", "sentiment: negative", EscalationContext("x", sentiment_label="neutral"), ()),
    ("strongly negative", "max_sentiment_score: -0.6",
     EscalationContext("x", sentiment_score=-0.75), ("sentiment score -0.75",)),
    ("mildly negative", "max_sentiment_score: -0.6", EscalationContext("x", sentiment_score=-0.3),
     ()),
    ("no score", "max_sentiment_score: -0.6", EscalationContext("x"), ()),
    ("category", "sentiment_categories: [legal, regulator]",
     EscalationContext("x", sentiment_categories=frozenset({"regulator", "abuse"})),
     ("regulator complaint",)),
    ("own category", "sentiment_categories: [refund_anger]",
     EscalationContext("x", sentiment_categories=frozenset({"refund_anger"})),
     ("sentiment cue: refund_anger",)),
    ("no category", "sentiment_categories: [legal]", EscalationContext("x"), ()),
    ("vip", "customer_tier: [vip, gold]", EscalationContext("x", customer_tier="VIP"),
     ("VIP customer",)),
    ("gold", "customer_tier: gold", EscalationContext("x", customer_tier="gold"),
     ("gold customer",)),
    ("ordinary tier", "customer_tier: [vip]", EscalationContext("x", customer_tier="normal"), ()),
    ("no tier", "customer_tier: [vip]", EscalationContext("x"), ()),
    ("3rd contact", "min_contacts: 3", EscalationContext("x", contact_count=3),
     ("3rd contact about this issue",)),
    ("12th contact", "min_contacts: 3", EscalationContext("x", contact_count=12),
     ("12th contact about this issue",)),
    ("2nd contact", "min_contacts: 3", EscalationContext("x", contact_count=2), ()),
    ("no answer", "no_confident_answer: true", EscalationContext("x"), ("no confident answer",)),
    ("low answer", "no_confident_answer: true", EscalationContext("x", best_confidence="low"),
     ("no confident answer",)),
    ("medium answer", "no_confident_answer: true",
     EscalationContext("x", best_confidence="medium"), ()),
    ("confident answer wanted", "no_confident_answer: false",
     EscalationContext("x", best_confidence="high"), ("confident answer found",)),
    ("all must hold", "keywords: [退款]\nsentiment: negative", EscalationContext("我要退款"), ()),
    ("all hold", "keywords: [退款]\nsentiment: negative",
     EscalationContext("我要退款", sentiment_label="negative"),
     ("keyword: 退款", "negative sentiment")),
    ("any: one group", "any:\n  - keywords: [律师]\n  - min_contacts: 3",
     EscalationContext("x", contact_count=5), ("5th contact about this issue",)),
    ("any: both groups", "any:\n  - keywords: [律师]\n  - min_contacts: 3",
     EscalationContext("找律师", contact_count=5),
     ("keyword: 律师", "5th contact about this issue")),
    ("any: no group", "any:\n  - keywords: [律师]\n  - min_contacts: 3",
     EscalationContext("x"), ()),
    ("any and", "sentiment: negative\nany:\n  - keywords: [律师]\n  - customer_tier: [vip]",
     EscalationContext("x", customer_tier="vip"), ()),
    ("nested any", "any:\n  - any:\n    - keywords: [曝光]\n    - keywords: [媒体]",
     EscalationContext("我要找媒体"), ("keyword: 媒体",)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("when", "ctx", "reasons"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_condition_kind(when: str, ctx: EscalationContext, reasons: tuple[str, ...]) -> None:
    parsed = parse_rules_yaml(rules(rule("r", when)), "t.yaml")
    decision = evaluate(parsed, ctx)
    assert decision.reasons == reasons
    assert decision.recommended == bool(reasons)
    if reasons:
        assert (decision.level, decision.team, decision.steps) == ("tier2", "team-r", ("step r",))


def test_no_match_recommends_nothing() -> None:
    parsed = parse_rules_yaml(rules(rule("r", "keywords: [退款]")), "t.yaml")
    assert evaluate(parsed, EscalationContext("你好")) == EscalationDecision(recommended=False)


def test_min_similarity_is_per_rule() -> None:
    text = rules(
        rule("strict", "examples: [我要投诉你们]")
        + rule("loose", "examples: [我要投诉你们]", extra="    min_similarity: 0.3\n")
    )
    ctx = EscalationContext("我要投诉", latest="我要投诉", similarity=bigram_similarity)
    assert evaluate(parse_rules_yaml(text, "t.yaml"), ctx).matched_rule_ids == ("loose",)


def test_highest_priority_decides_and_every_rule_gives_reasons() -> None:
    text = rules(
        rule("low", "keywords: [退款]", priority=10)
        + rule("high", "keywords: [律师]\nsentiment: negative", priority=90)
        + rule("mid", "sentiment: negative", priority=50)
        + rule("off", "keywords: [退款]", priority=100, extra="    enabled: false\n")
    )
    ctx = EscalationContext("退款不给就找律师", sentiment_label="negative")
    decision = evaluate(parse_rules_yaml(text, "t.yaml"), ctx)
    assert decision.matched_rule_ids == ("high", "mid", "low")
    assert (decision.team, decision.steps) == ("team-high", ("step high",))
    # reasons from every matching rule, each once, strongest rule first
    assert decision.reasons == ("keyword: 律师", "negative sentiment", "keyword: 退款")
    assert [m.reasons for m in decision.matches] == [
        ("keyword: 律师", "negative sentiment"),
        ("negative sentiment",),
        ("keyword: 退款",),
    ]


def test_equal_priorities_keep_file_order() -> None:
    text = rules(rule("first", "keywords: [退款]") + rule("second", "keywords: [退]"))
    decision = evaluate(parse_rules_yaml(text, "t.yaml"), EscalationContext("退款"))
    assert decision.matched_rule_ids == ("first", "second")
    assert decision.team == "team-first"


def test_handling_takes_the_most_demanding_matching_rule() -> None:
    then = "      level: {}\n      steps: [s]\n      handling: {}\n"
    text = rules(
        rule("top", "keywords: [退款]", priority=9, then=then.format("tier1", "agent"))
        + rule("expert", "keywords: [退款]", priority=1, then=then.format("tier2", "expert"))
    )
    decision = evaluate(parse_rules_yaml(text, "t.yaml"), EscalationContext("退款"))
    assert (decision.level, decision.handling) == ("tier1", "expert")


@pytest.mark.parametrize(
    ("n", "text"),
    [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (13, "13th"), (22, "22nd")],
)
def test_ordinal(n: int, text: str) -> None:
    assert ordinal(n) == text


@pytest.mark.parametrize(
    ("text", "normal"),
    [("我要起訴", "我要起诉"), ("ＬＡＷＹＥＲ  Sue", "lawyer sue"), ("退貨\n運費", "退货 运费")],
)
def test_normalise(text: str, normal: str) -> None:
    assert normalize(text) == normal


# ---- errors name the line -------------------------------------------------------------------

OK_THEN = "    then:\n      level: tier2\n      steps: [s]\n"
R = "version: 1\nrules:\n  - id: r\n"  # a rule whose body starts on line 4


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("", 1, "file is empty"),
        ("rules: []\n", 1, "has no version"),
        ("version: 1\nrules: x\n", 2, "'rules' must be a list of rules, not text"),
        ("version: 1\nrules:\n  - name: n\n" + OK_THEN, 3, "rule 1 has no id"),
        ("version: 1\nrules:\n  - id: Bad Id\n", 3, "rule id 'Bad Id'"),
        (R + "    when: {keywords: [a]}\n" + OK_THEN + "  - id: r\n    when: {keywords: [b]}\n"
         + OK_THEN, 8, "rule id 'r' is used twice (first at line 3)"),
        (R + "    when:\n      keyword: [退款]\n" + OK_THEN, 5,
         "rule 'r' 'when': unknown key 'keyword' (did you mean 'keywords'?)"),
        (R + "    when:\n      keywords: 退款\n" + OK_THEN, 5,
         "'keywords' must be a list, not text"),
        (R + "    when:\n      keywords: []\n" + OK_THEN, 5, "'keywords' is an empty list"),
        (R + "    when:\n      keywords: [a, {b: c}]\n" + OK_THEN, 5,
         "every item of 'keywords' must be text, not a mapping"),
        (R + "    priority: high\n    when: {keywords: [a]}\n" + OK_THEN, 4,
         "'priority' must be a whole number, not text"),
        (R + "    enabled: 1\n    when: {keywords: [a]}\n" + OK_THEN, 4,
         "'enabled' must be true or false, not the number 1"),
        (R + "    min_similarity: 1.5\n    when: {keywords: [a]}\n" + OK_THEN, 4,
         "'min_similarity' must be in (0, 1]"),
        (R + "    when:\n      patterns:\n        - ok\n        - '(退款'\n" + OK_THEN, 7,
         "invalid pattern '(退款': missing ), unterminated subpattern"),
        (R + "    when:\n      sentiment: angry\n" + OK_THEN, 5, "unknown sentiment 'angry'"),
        (R + "    when:\n      max_sentiment_score: -2\n" + OK_THEN, 5,
         "'max_sentiment_score' must be in [-1, 1]"),
        (R + "    when:\n      min_contacts: 0\n" + OK_THEN, 5, "'min_contacts' must be 1 or more"),
        (R + "    when: {}\n" + OK_THEN, 4, "rule 'r' 'when' has no conditions"),
        (R + "    when:\n      any: []\n" + OK_THEN, 5, "'any' must be a non-empty list"),
        (R + "    when:\n      any:\n        - keywords: [a]\n        - tier: vip\n" + OK_THEN, 7,
         "'any' group 2: unknown key 'tier'"),
        (R + "    when: {keywords: [a]}\n", 3, "rule 'r' has no 'then' action"),
        (R + "    then: {level: tier2, steps: [s]}\n", 3, "rule 'r' has no 'when' conditions"),
        (R + "    when: {keywords: [a]}\n    then:\n      steps: [s]\n", 5,
         "rule 'r' has no level"),
        (R + "    when: {keywords: [a]}\n    then:\n      level: tier4\n      steps: [s]\n", 6,
         "unknown level 'tier4' (did you mean"),
        (R + "    when: {keywords: [a]}\n    then:\n      level: tier2\n      steps: []\n", 7,
         "rule 'r' has an empty 'steps' list"),
        (R + "    when: {keywords: [a]}\n    then:\n      level: tier2\n", 5,
         "rule 'r' has no steps"),
        (R + "    when: {keywords: [a]}\n    then:\n      level: tier2\n      steps:\n"
         "        - ok\n        - 核实订单 {order_id}\n", 9, "steps are shown as written"),
        (R + "    when: {keywords: [a]}\n" + OK_THEN + "      reply: 您好 {order id}\n", 8,
         "reply placeholder '{order id}' is not a variable name"),
        (R + "    when: {keywords: [a]}\n" + OK_THEN + "      reply: x\n      reply_id: y\n", 9,
         "give 'reply' or 'reply_id', not both"),
        (R + "    when: {keywords: [a]}\n" + OK_THEN + "      handling: self_service\n", 8,
         "unknown handling 'self_service'"),
        (R + "    when: {keywords: [a]}\n" + OK_THEN + "      escalate: yes\n", 8,
         "unknown key 'escalate'"),
        (R + "    when: {keywords: [a]\n" + OK_THEN, 5, "invalid YAML"),
        (R + "    when:\n      keywords: [a]\n      keywords: [b]\n" + OK_THEN, 6,
         "duplicate key 'keywords' (first at line 5)"),
    ],
)  # fmt: skip
def test_errors_name_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(RuleFileError) as caught:
        parse_rules_yaml(text, "escalation.yaml")
    assert (caught.value.line, caught.value.source) == (line, "escalation.yaml")
    assert message in caught.value.problem
    assert str(caught.value).startswith(f"escalation.yaml line {line}: ")


def test_unknown_reply_id_is_an_error_when_replies_are_known() -> None:
    text = rules(rule("r", "keywords: [a]", then="      level: tier1\n      steps: [s]\n"
                      "      reply_id: refund-timelines\n"))  # fmt: skip
    assert parse_rules_yaml(text, "t.yaml")[0].then.reply_id == "refund-timelines"
    with pytest.raises(RuleFileError) as caught:
        parse_rules_yaml(text, "t.yaml", reply_ids=REPLY_IDS)
    assert caught.value.line == 10
    assert "no scripted reply has id 'refund-timelines' (did you mean 'refund-timeline'?)" in str(
        caught.value
    )


def test_an_error_in_the_last_rule_rejects_the_whole_file() -> None:
    text = SAMPLE_RULES_TEXT + "  - id: broken\n    when: {keywords: [x]}\n"
    with pytest.raises(RuleFileError) as caught:
        parse_rules_yaml(text, "escalation.yaml")
    assert caught.value.line == SAMPLE_RULES_TEXT.count("\n") + 1


# ---- export round trip ----------------------------------------------------------------------

TRICKY = rules(
    rule("numbers", "keywords: ['12315', 'no', 'on']\npatterns: ['\\bE\\d+', '退貨.*']")
    + rule(
        "everything",
        "sentiment: negative\nmax_sentiment_score: -0.5\n"
        "any:\n  - customer_tier: [vip]\n  - min_contacts: 2\n"
        '  - no_confident_answer: false\n    examples: ["it\'s broken: again"]',
        priority=-5,
        extra="    name: 多行 # not a comment\n    description: d\n    enabled: false\n"
        "    min_similarity: 0.7\n",
        then="      level: legal\n      team: legal\n      steps: ['a: b', '- c']\n"
        "      handling: expert\n      reply: |\n        {name}您好，\n          缩进保留\n",
    )
)


@pytest.mark.parametrize("text", [SAMPLE_RULES_TEXT, TRICKY], ids=["sample", "tricky"])
def test_dump_then_parse_gives_the_same_rules(text: str) -> None:
    parsed = parse_rules_yaml(text, "in.yaml")
    dumped = dump_rules_yaml(parsed)
    assert parse_rules_yaml(dumped, "out.yaml") == parsed
    assert dump_rules_yaml(parse_rules_yaml(dumped, "out.yaml")) == dumped


def test_dump_keeps_multi_line_replies_readable() -> None:
    dumped = dump_rules_yaml(parse_rules_yaml(TRICKY, "in.yaml"))
    assert "reply: |" in dumped
    assert "  缩进保留" in dumped


# ---- the format reference -------------------------------------------------------------------


def test_the_documented_example_parses_and_matches() -> None:
    [example] = [b for b in DOC.split("```yaml\n")[1:] if b.startswith("version: 1\nrules:")]
    [parsed] = parse_rules_yaml(example.split("```")[0], "docs.yaml", reply_ids=REPLY_IDS)
    ctx = EscalationContext("退款还没到", sentiment_label="negative")
    assert evaluate([parsed], ctx).reasons == ("negative sentiment", "keyword: 退款")


@pytest.mark.parametrize("key", sorted({*RULE_KEYS, *CONDITION_KEYS, *ACTION_KEYS}))
def test_every_key_is_documented(key: str) -> None:
    assert f"`{key}`" in DOC or f"  {key}:" in DOC


def test_the_sample_playbook_is_plain_yaml_too() -> None:
    # other tools (and people) read the file without our loader
    assert yaml.safe_load(SAMPLE_RULES_TEXT)["version"] == 1
