import pytest

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
