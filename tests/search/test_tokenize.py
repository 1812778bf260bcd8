from pathlib import Path

import pytest

from search.normalize import normalize
from search.tokenize import Tokenizer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("How do I reset my password?", ["reset", "password"]),
        ("软件无法连接网络", ["软件", "无法", "连接", "网络"]),
        ("中华人民共和国", ["中华", "华人", "人民", "共和", "共和国", "中华人民共和国"]),
        ("iPhone15 电池", ["iphone15", "iphone", "15", "电池"]),
        ("A123 订单", ["a123", "123", "订单"]),
        ("，。！？……", []),
        ("", []),
    ],
)
def test_tokenize_table(tokenizer: Tokenizer, text: str, expected: list[str]) -> None:
    assert tokenizer.tokenize(normalize(text)) == expected


@pytest.mark.parametrize(
    ("text", "present", "absent"),
    [
        ("我的订单还没发货，怎么办", {"订单", "发货", "没"}, {"的", "我", "，"}),
        ("我要退款吗", {"退款"}, {"我要", "吗"}),
        ("The printer is not working", {"printer", "not", "working"}, {"the", "is"}),
        ("軟體更新失敗", {"软件", "更新", "失败"}, {"軟體"}),
    ],
)
def test_stop_words_and_script(
    tokenizer: Tokenizer, text: str, present: set[str], absent: set[str]
) -> None:
    tokens = set(tokenizer.tokenize(normalize(text)))
    assert present <= tokens
    assert not absent & tokens


def test_user_dictionary_adds_words_in_either_script(tmp_path: Path) -> None:
    words = tmp_path / "userdict.txt"
    words.write_text("# knowledge-manager words\n七天無理由 100 n\n", encoding="utf-8")
    text = normalize("支持七天无理由退货")
    assert "七天无理由" not in Tokenizer().tokenize(text)
    assert "七天无理由" in Tokenizer(user_dict=words).tokenize(text)


def test_synonyms_expand_query_terms(tmp_path: Path) -> None:
    synonyms = tmp_path / "synonyms.txt"
    synonyms.write_text("退款, 退錢, refund\nwifi，無線網路, wireless network\n", encoding="utf-8")
    tokenizer = Tokenizer(synonyms=synonyms)
    assert tokenizer.query_terms(normalize("退款 退款 WiFi 故障")) == [
        (("退款",), ("退钱",), ("refund",)),
        (("wifi",), ("无线网络",), ("wireless", "network")),
        (("故障",),),
    ]
    # A multi-character synonym becomes a dictionary word, so documents index it whole.
    assert "退钱" in tokenizer.tokenize(normalize("可以退錢嗎"))


def test_query_terms_without_synonyms_are_single_groups(tokenizer: Tokenizer) -> None:
    assert tokenizer.query_terms("reset password reset") == [(("reset",),), (("password",),)]


def test_version_depends_on_dictionaries(tmp_path: Path) -> None:
    words = tmp_path / "userdict.txt"
    words.write_text("七天无理由\n", encoding="utf-8")
    assert Tokenizer().version == Tokenizer().version
    assert Tokenizer(user_dict=words).version != Tokenizer().version
