"""HTML loader: main content only, structure as blocks, charset from <meta> or detection."""

from __future__ import annotations

import pytest

from ingest.loaders import load_document

ARTICLE_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>退货政策 - 云舟商城帮助中心</title>
<style>.x{color:red}</style><script>var tracking = 1;</script></head>
<body>
<header class="site-header"><a href="/">首页</a> 登录 注册</header>
<nav><ul><li><a href="/a">产品</a></li><li><a href="/b">服务</a></li></ul></nav>
<div class="breadcrumb">首页 &gt; 帮助中心 &gt; 退货政策</div>
<main>
  <h1>退货政策</h1>
  <p>自签收之日起七天内，
     未拆封商品支持无理由退货。</p>
  <h2>退款时效</h2>
  <ul><li>银行卡：3-5 个工作日</li><li>余额：即时到账</li></ul>
  <table>
    <tr><th>方式</th><th>时效</th></tr>
    <tr><td>原路退回</td><td>三天</td></tr>
  </table>
  <div class="share-buttons">分享到微博</div>
  <div>客服热线<br>400-000-0000</div>
</main>
<aside class="sidebar">热门文章</aside>
<footer>© 2024 云舟 版权所有</footer>
</body></html>"""

EXPECTED_ARTICLE = [
    ("heading", "退货政策", 1),
    ("paragraph", "自签收之日起七天内， 未拆封商品支持无理由退货。", 0),
    ("heading", "退款时效", 2),
    ("list_item", "银行卡：3-5 个工作日", 0),
    ("list_item", "余额：即时到账", 0),
    ("table_row", "方式: 原路退回; 时效: 三天", 0),
    ("paragraph", "客服热线", 0),
    ("paragraph", "400-000-0000", 0),
]

DENSE_PAGE = """<html><head><title>Shipping FAQ | Example Shop</title></head><body>
<div id="menu">Home Products Support About Contact</div>
<div class="content">
  <p>Orders placed before 3 pm ship the same working day.</p>
  <p>Tracking numbers are sent by e-mail once the parcel leaves the warehouse.</p>
  <p>International orders may take up to ten working days.</p>
</div>
<div class="related"><ul>
 <li><a href="/1">Returns</a></li><li><a href="/2">Warranty</a></li>
 <li><a href="/3">Gift cards</a></li>
</ul></div>
<div class="copyright">Copyright 2024 Example Shop</div>
</body></html>"""


@pytest.mark.parametrize(
    ("page", "expected", "title"),
    [
        pytest.param(ARTICLE_PAGE, EXPECTED_ARTICLE, "退货政策", id="main-element"),
        pytest.param(
            DENSE_PAGE,
            [
                ("paragraph", "Orders placed before 3 pm ship the same working day.", 0),
                (
                    "paragraph",
                    "Tracking numbers are sent by e-mail once the parcel leaves the warehouse.",
                    0,
                ),
                ("paragraph", "International orders may take up to ten working days.", 0),
            ],
            "Shipping FAQ",
            id="densest-text-without-main",
        ),
        pytest.param(
            "<html><body><article><h3>Intro</h3>Plain text<br>second line"
            "<ol><li>one<ul><li>nested</li></ul></li></ol></article></body></html>",
            [
                ("heading", "Intro", 3),
                ("paragraph", "Plain text", 0),
                ("paragraph", "second line", 0),
                ("list_item", "one", 0),
                ("list_item", "nested", 0),
            ],
            "Intro",
            id="article-inline-text-and-nested-lists",
        ),
    ],
)
def test_html_blocks(page: str, expected: list[tuple[str, str, int]], title: str) -> None:
    doc = load_document("page.html", page.encode("utf-8"))
    assert doc.format == "html"
    assert [(b.kind, b.text, b.level) for b in doc.blocks] == expected
    assert doc.title == title


@pytest.mark.parametrize(
    ("charset", "encoding"),
    [("gb2312", "gb18030"), ("gbk", "gb18030"), ("big5", "big5"), ("utf-8", "utf-8")],
)
def test_meta_charset_is_honoured(charset: str, encoding: str) -> None:
    text = "發票與保固說明" if charset == "big5" else "发票与保修说明"
    page = f'<html><head><meta http-equiv="Content-Type" content="text/html; charset={charset}">'
    page += f"</head><body><p>{text}</p></body></html>"
    doc = load_document("p.htm", page.encode(encoding))
    assert [b.text for b in doc.blocks] == [text]


def test_undeclared_gbk_page_is_detected() -> None:
    page = "<html><body><p>请在签收后七天内申请退货，逾期将无法受理。</p></body></html>"
    doc = load_document("p.html", page.encode("gbk"))
    assert doc.blocks[0].text == "请在签收后七天内申请退货，逾期将无法受理。"
    assert doc.encoding == "gb18030"


def test_page_with_only_boilerplate_has_no_text() -> None:
    from ingest.model import IngestError

    page = "<html><body><nav>Home</nav><script>x()</script></body></html>"
    with pytest.raises(IngestError, match="no text"):
        load_document("empty.html", page.encode())


def test_nested_boilerplate_is_removed_once() -> None:
    body = "Real content here. " * 20
    page = (
        '<html><body><div class="sidebar"><div class="menu"><ul class="nav"><li id="tags">x</li>'
        f"</ul></div></div><p>{body}</p><footer><div class='copyright'>c</div></footer>"
        "</body></html>"
    )
    assert [b.text for b in load_document("a.html", page.encode()).blocks] == [body.strip()]
