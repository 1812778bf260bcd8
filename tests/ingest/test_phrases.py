"""Phrase lists: tag clouds and keyword or place-name spam, against lists and lines of prose."""

from __future__ import annotations

import pytest

from ingest.boilerplate import simplify
from ingest.phrases import is_phrase_list, split_phrases


@pytest.mark.parametrize(
    "text",
    [
        "熱門標籤：客服外包 電銷系統 AI語音機器人 雲端總機 客服軟體比較",  # spaces between CJK
        "热门搜索：客服外包 呼叫中心系统 400电话办理",  # a list label needs fewer items
        "台北|新北|桃園|台中|台南|高雄|基隆|新竹|苗栗",  # place names, no label
        "服務據點：台北市｜新北市｜基隆市｜桃園市｜新竹市｜新竹縣",
        "客服外包/呼叫中心/电话营销/在线客服/客服培训/质检系统",
        "北京、天津、上海、重庆、石家庄、太原、沈阳、长春、哈尔滨、南京、杭州",
        "相关搜索：客服工单模板、工单系统哪个好、工单管理制度、售后工单流程",
        "大家都在搜：客服外包、電銷、總機、雲端客服",
        "Tags: 客服禮儀, 在線客服, 話術範本",
        "#客服 #呼叫中心 #績效管理",
        "分享到：微信 QQ空间 新浪微博 复制链接",
        "打印本页 | 收藏本文 | 分享到微博",  # a row of buttons
        # A long list glued to the footer before it.
        "© 2025 客服管理知識網 台北|新北|桃園|台中|台南|高雄|基隆|新竹|苗栗|彰化|南投|宜蘭",
    ],
)
def test_phrase_lists(text: str) -> None:
    assert is_phrase_list(text, simplified=simplify(text))


@pytest.mark.parametrize(
    "text",
    [
        "支持渠道：電話、郵件、在線聊天、微信、App",  # a real enumeration
        "常見問題類型：物流、退款、換貨、發票、會員、優惠券",
        "搜尋步驟：打開App、點擊放大鏡、輸入訂單號",  # a list label word, too few items
        "相关规定：退款、换货、维修",
        "適用對象：新客戶 老客戶 VIP客戶 企業客戶",
        "第一章 總則",
        "3.2 退款 時效",
        "Customer Service Best Practices Guide For New Agents",
        "客服人员需要耐心，细致，专业，热情，负责，高效",
        "處理優先級：緊急 > 高 > 中 > 低",
        "退款 | 3個工作日 | 財務部",  # a table row
        "| 項目 | 時限 | 負責人 | 備註 | 渠道 | 等級 |",  # drawn with pipes
        "服務地區：台北、新北、桃園。",  # a sentence
        "QQ：12345 微信：abc",
        "版本：2026 版\u3000生效日期：2026 年 1 月 1 日",  # a spaced-out date
        "云舟科技客户服务中心 2025 年 1 月 10 日",
        "基本版 99元 | 專業版 199元 | 企業版 499元",  # "|" wins over the spaces inside
    ],
)
def test_not_phrase_lists(text: str) -> None:
    assert not is_phrase_list(text, simplified=simplify(text))


@pytest.mark.parametrize(
    ("text", "label", "items", "hard"),
    [
        ("標籤：客服 培訓", "標籤", ["客服", "培訓"], True),
        ("a|b|c", "", ["a", "b", "c"], True),
        ("甲、乙、丙", "", ["甲", "乙", "丙"], False),
    ],
)
def test_split_phrases(text: str, label: str, items: list[str], hard: bool) -> None:
    found = split_phrases(text)
    assert (found.label, found.items, found.hard) == (label, items, hard)


def test_separator_padded_with_spaces() -> None:
    # Found on a held-out page: the spaces around "|" must not win as the separator.
    text = "城市分站：北京 | 上海 | 广州 | 深圳 | 杭州 | 南京 | 苏州"
    assert split_phrases(text).items == ["北京", "上海", "广州", "深圳", "杭州", "南京", "苏州"]
    assert is_phrase_list(text, simplified=simplify(text))
