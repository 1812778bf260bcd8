"""Entity debris: decoded with or without its "&", double escaping undone, words left alone."""

from __future__ import annotations

import pytest

from ingest.entities import decode_entities


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("客服&nbsp;中心", "客服\u00a0中心"),
        ("客服nbsp;中心", "客服\u00a0中心"),  # the "&" lost
        ("&#12288;&#12288;段落", "\u3000\u3000段落"),
        ("#12288;段落", "\u3000段落"),
        ("&#x3000;段落", "\u3000段落"),
        ("&amp;nbsp;x", "\u00a0x"),  # escaped twice
        ("&amp;amp;nbsp;x", "\u00a0x"),  # three times
        ("amp;nbsp;x", "\u00a0x"),
        ("結案。amp;nbsp;", "結案。\u00a0"),
        ("&lt;訂單編號&gt;", "<訂單編號>"),
        ("&ldquo;仅退款&rdquo;", "“仅退款”"),
        ("quot;话术quot;", '"话术"'),
        ("3&mdash;7 个工作日", "3—7 个工作日"),
        ("&nbsp客服", "\u00a0客服"),  # no ";", as browsers allow
        ("R&amp;D 部门", "R&D 部门"),
        ("客服nbsp中心", "客服\u00a0中心"),  # neither "&" nor ";", between CJK
    ],
)
def test_decoded(text: str, expected: str) -> None:
    assert decode_entities(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "built; then salt;",  # words ending like entity names
        "AT&T and R&D;",
        "?a=1&para=2",  # a query string: "&para" without ";" stays
        "room #12; floor 3",  # a control character is never the meaning
        "Tom & Jerry",
        "issue #123",
        "the nbsp entity",  # the bare word among Latin words
    ],
)
def test_left_alone(text: str) -> None:
    assert decode_entities(text) == text
