"""One text folding: a Traditional phrase and its Simplified form compare alike on every path."""

from __future__ import annotations

import pytest

from kb.assist.matching import names_cue
from kb.assist.sentiment import analyse
from kb.library.escalation import EscalationContext, evaluate
from kb.library.rule_format import parse_rules_yaml
from search.normalize import aligned_fold, converter, fold, normalize

# (Traditional as Taiwan writes it, Simplified as the mainland writes it)
PHRASES = [
    ("軟體", "软件"),
    ("發票", "发票"),
    ("退貨", "退货"),
    ("帳號", "帐号"),  # OpenCC keeps the 帐 variant; 賬號 is what folds to 账号
    ("賬號", "账号"),
    ("滑鼠", "鼠标"),
    ("網路", "网络"),
    ("記憶體", "内存"),
    ("印表機", "打印机"),
    ("資訊", "信息"),
    ("著火", "着火"),
    ("註銷賬號", "注销账号"),
    ("聯絡媒體", "联系媒体"),
    ("垃圾簡訊", "垃圾短信"),
]
# Phrases the sentiment lexicon knows: looked up, they must fire on either script.
LEXICON_PHRASES = {"着火", "注销账号", "联系媒体", "垃圾短信"}


@pytest.mark.parametrize(("traditional", "simplified"), PHRASES)
def test_search_folds_both_scripts_alike(traditional: str, simplified: str) -> None:
    assert normalize(traditional) == normalize(simplified) == simplified
    assert aligned_fold(f"我的{traditional}呢")[0] == fold(f"我的{traditional}呢")


@pytest.mark.parametrize(("traditional", "simplified"), PHRASES)
@pytest.mark.parametrize("written", ["traditional", "simplified"])
def test_escalation_keywords_fire_on_either_script(
    traditional: str, simplified: str, written: str
) -> None:
    keyword = traditional if written == "traditional" else simplified
    text = f"version: 1\nrules:\n  - id: r\n    when: {{keywords: [{keyword}]}}\n"
    rules = parse_rules_yaml(text + "    then: {level: tier2, steps: [s]}\n", "r.yaml")
    for said in (traditional, simplified):
        decision = evaluate(rules, EscalationContext(f"我的{said}有问题"))
        assert decision.matched_rule_ids == ("r",), (keyword, said)


@pytest.mark.parametrize(("traditional", "simplified"), PHRASES)
def test_reply_cues_are_found_in_either_script(traditional: str, simplified: str) -> None:
    for cue in (traditional, simplified):
        for said in (traditional, simplified):
            assert names_cue(normalize(f"请问{said}怎么办"), [cue]), (cue, said)


@pytest.mark.parametrize(("traditional", "simplified"), PHRASES)
def test_sentiment_looks_up_either_script_alike(traditional: str, simplified: str) -> None:
    hant, hans = analyse(f"我要{traditional}！"), analyse(f"我要{simplified}！")
    assert (hant.label, hant.score, hant.categories) == (hans.label, hans.score, hans.categories)
    assert len(hant.cues) == len(hans.cues)
    if simplified in LEXICON_PHRASES:
        assert any(traditional in cue for cue in hant.cues), hant.cues
        assert any(simplified in cue for cue in hans.cues), hans.cues


def test_display_converters_come_from_the_provider() -> None:
    assert converter("s2twp") is converter("s2twp")
    assert converter("s2twp").convert("软件") == "軟體"
    assert converter("tw2sp").convert("軟體") == "软件"
