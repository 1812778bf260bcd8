"""Link lists: headers, link titles and dated titles, against headings, FAQ lines and prose."""

from __future__ import annotations

import pytest

from ingest.boilerplate import remove_boilerplate, simplify
from ingest.links import is_dated_title, is_link_header, is_link_title, is_related_header
from ingest.model import Block


@pytest.mark.parametrize(
    ("text", "strict", "weak"),
    [
        ("相關文檔", True, True),
        ("猜你喜欢", True, True),
        ("【推薦閱讀】", True, True),
        ("您可能感興趣的文章", False, True),
        ("熱門排行", False, True),
        ("你可能也喜歡", False, True),
        ("Related posts", True, True),
        ("常見問題", False, False),
        ("三、相關規定", False, False),  # a numbered heading
        ("更多問題請來電。", False, False),  # a sentence
    ],
)
def test_headers(text: str, strict: bool, weak: bool) -> None:
    assert is_related_header(simplify(text)) is strict
    assert is_link_header(simplify(text)) is weak


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("客服人員排班怎麼排最有效率？", True),
        ("客服人員離職率高怎麼辦？5招留住好人才", True),
        ("电商售后服务流程.doc", True),
        ("在线客服响应时间标准 2025-05-03", True),
        ("- 2026年電子信息技術認證考試試題與答案", True),
        ("问：退货以后积分会怎样？", False),  # an FAQ line
        ("Q：可以把客戶轉給其他同事嗎？", False),
        ("一、服務流程", False),
        ("退款將在 3 個工作日內原路退回。", False),
        ("如何退款？請在訂單頁點擊申請，選擇原因後提交，客服會在一天內審核完畢並通知您", False),
    ],
)
def test_link_title(text: str, expected: bool) -> None:
    assert is_link_title(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("電話禮儀十大原則 2025-03-15", True),
        ("客服质检怎么做？2025-05-12", True),
        ("如何降低離職率（2025年2月27日）", True),
        ("本規範自 2025-01-01 起施行。", False),
        ("電話禮儀十大原則", False),
    ],
)
def test_dated_title(text: str, expected: bool) -> None:
    assert is_dated_title(text) is expected


def _texts(lines: list[str]) -> list[str]:
    return [b.text for b in remove_boilerplate([Block(t) for t in lines])]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (  # a weak header confirmed by titles goes with them
            ["正文一句。", "您可能感興趣的文章", "客服排班技巧", "如何降低離職率？", "電話禮儀"],
            ["正文一句。"],
        ),
        (  # a weak header without titles under it stays
            ["熱門問題", "如何申請退款？", "在訂單頁點擊申請退款，客服會在一天內審核。"],
            ["熱門問題", "如何申請退款？", "在訂單頁點擊申請退款，客服會在一天內審核。"],
        ),
        (  # dated titles need no header
            ["正文一句。", "排班技巧 2025-03-28", "電話禮儀十大原則 2025-03-15"],
            ["正文一句。"],
        ),
        (  # a single dated line is not a list
            ["正文一句。", "版本說明 2025-03-28", "結語。"],
            ["正文一句。", "版本說明 2025-03-28", "結語。"],
        ),
    ],
)
def test_link_blocks(lines: list[str], expected: list[str]) -> None:
    assert _texts(lines) == expected
