import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from search.highlight import highlight


@pytest.mark.parametrize(
    ("text", "terms", "expected"),
    [
        ("软件无法连接网络", ["软件", "网络"], "<mark>软件</mark>无法连接<mark>网络</mark>"),
        # terms are Simplified; the marks land on the original Traditional text
        ("軟體無法連接網路", ["软件", "网络"], "<mark>軟體</mark>無法連接<mark>網路</mark>"),
        ("ＡＰＰ登录失败", ["app"], "<mark>ＡＰＰ</mark>登录失败"),
        ("Reset PASSWORD now", ["password"], "Reset <mark>PASSWORD</mark> now"),
        # Latin words and numbers match whole, as the tokenizer splits them
        ("apple app", ["app"], "apple <mark>app</mark>"),
        ("iPhone15 and 150", ["15"], "iPhone<mark>15</mark> and 150"),
        # adjacent matches merge into one mark
        ("打印机卡纸了", ["打印机", "卡纸"], "<mark>打印机卡纸</mark>了"),
        # escaping happens around and inside marks
        (
            "<b>退款</b> & 退货",
            ["退款"],
            "&lt;b&gt;<mark>退款</mark>&lt;/b&gt; &amp; 退货",
        ),
        ("a <script>", [], "a &lt;script&gt;"),
        ("", ["退款"], ""),
        # a phrase conversion that changes length (記憶體 → 内存) falls back to characters
        ("記憶體不足", ["不足"], "記憶體<mark>不足</mark>"),
        # a ligature expands under NFKC; the mark still covers the original character
        ("ﬁle upload", ["file"], "<mark>ﬁle</mark> upload"),
        # the longest term wins where terms overlap
        ("中华人民共和国", ["中华", "中华人民共和国"], "<mark>中华人民共和国</mark>"),
    ],
)
def test_highlight_table(text: str, terms: list[str], expected: str) -> None:
    assert highlight(text, terms) == expected


def test_the_same_terms_reuse_one_compiled_pattern() -> None:
    # Every hit of a search is highlighted with the query's terms: compile them once.
    from search.highlight import _pattern

    first = _pattern(["退款", "app", "退款"])
    assert first is not None and first is _pattern(["app", "退款"])
    assert _pattern([" ", ""]) is None


def _bounded_alternation(terms: list[str]) -> re.Pattern[str]:
    """The pattern highlighting compiled before: each term with lookarounds at a Latin or digit
    end. Correct, but ~2.4 ms to compile per Latin term."""
    letter = r"[^\W\d_\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"

    def bound(char: str) -> str | None:
        return r"\d" if char.isdigit() else letter if re.fullmatch(letter, char) else None

    def one(term: str) -> str:
        before, after = bound(term[0]), bound(term[-1])
        return (
            (f"(?<!{before})" if before else "")
            + re.escape(term)
            + (f"(?!{after})" if after else "")
        )

    unique = sorted({t for t in terms if t.strip()}, key=lambda t: (-len(t), t))
    return re.compile("|".join(one(t) for t in unique))


_PIECES = st.sampled_from(["a", "b", "ab", "é", "1", "12", "²", "中", "文", "中文", "-", " "])


@given(
    st.lists(_PIECES, min_size=1, max_size=12).map("".join),
    st.lists(st.lists(_PIECES, min_size=1, max_size=3).map("".join), min_size=1, max_size=5),
)
def test_terms_are_found_where_the_bounded_alternation_finds_them(
    text: str, terms: list[str]
) -> None:
    from search.highlight import _pattern

    terms = [t for t in terms if t.strip()]
    matcher = _pattern(terms)
    if matcher is None:
        return
    expected = [m.span() for m in _bounded_alternation(terms).finditer(text)]
    assert list(matcher.finditer(text)) == expected
