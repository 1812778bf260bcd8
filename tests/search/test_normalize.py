import pytest

from search.normalize import normalize

SIMPLIFIED_SENTENCES = [
    "软件无法连接网络",
    "信息安全很重要",
    "打印机卡纸怎么办",
    "后来皇后去了后台",
    "头发干了以后再出门",
    "发票可以在订单页面下载",
]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Traditional → Simplified at phrase level (Taiwan vocabulary too)
        ("軟體", "软件"),
        ("網路", "网络"),
        ("資訊", "信息"),
        ("印表機", "打印机"),
        ("記憶體不足", "内存不足"),
        ("我的訂單還沒發貨", "我的订单还没发货"),
        ("頭髮", "头发"),
        ("乾淨", "干净"),
        # full-width → half-width, case
        ("ＡＢＣ１２３", "abc123"),
        ("Ｈｅｌｌｏ　Ｗｏｒｌｄ", "hello world"),
        ("iPhone 15 PRO", "iphone 15 pro"),
        ("退款，謝謝！", "退款,谢谢!"),
        # whitespace collapsed and trimmed
        ("  多个   空格\n\t换行 ", "多个 空格 换行"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_normalize_table(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize("text", SIMPLIFIED_SENTENCES)
def test_simplified_text_is_unchanged(text: str) -> None:
    assert normalize(text) == text


@pytest.mark.parametrize("text", ["軟體更新失敗", "ＡＰＰ Login", "  記憶體  "])
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


def test_traditional_and_simplified_phrases_meet() -> None:
    assert normalize("我的軟體無法連上網路") == normalize("我的软件无法连上网络")
