"""Sentence splitting and chunk packing."""

from __future__ import annotations

import itertools
import re

import pytest

from ingest.chunking import chunk_sections, hard_split, split_sentences
from ingest.model import Block

SENTENCE_END = re.compile(r"[。！？；…!?;.][”’」』）)\"']*$")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("退款已受理。三天内到账！还有问题吗？", ["退款已受理。", "三天内到账！", "还有问题吗？"]),
        ("请稍候……我们正在核实；谢谢。", ["请稍候……", "我们正在核实；", "谢谢。"]),
        ("他说：“好的。”然后挂断了。", ["他说：“好的。”", "然后挂断了。"]),
        ("Refunds take 3.5 days. Call us!", ["Refunds take 3.5 days. ", "Call us!"]),
        ("See e.g. the FAQ. Then reply.", ["See e.g. the FAQ. ", "Then reply."]),
        ("Ask Dr. Wang. He knows.", ["Ask Dr. Wang. ", "He knows."]),
        ("1. Open the app. 2. Tap refund.", ["1. Open the app. ", "2. Tap refund."]),
        ("版本v2.0已发布，价格9.9元。", ["版本v2.0已发布，价格9.9元。"]),
        ("第一行\n第二行", ["第一行\n", "第二行"]),
        ("没有句号的结尾", ["没有句号的结尾"]),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected
    assert "".join(split_sentences(text)) == text


@pytest.mark.parametrize(
    ("sentence", "max_chars", "expected"),
    [
        ("甲" * 30 + "，" + "乙" * 30 + "。", 40, ["甲" * 30 + "，", "乙" * 30 + "。"]),
        ("甲" * 20 + "、" + "乙" * 20, 30, ["甲" * 20 + "、", "乙" * 20]),
        ("甲" * 50, 20, ["甲" * 20, "甲" * 20, "甲" * 10]),
        ("word " * 10, 22, ["word word word word ", "word word word word ", "word word "]),
    ],
)
def test_hard_split(sentence: str, max_chars: int, expected: list[str]) -> None:
    assert hard_split(sentence, max_chars) == expected


def _sentence(n: int, i: int) -> str:
    return f"第{i}句" + "内" * (n - 4) + "。"


def _sections(*groups: tuple[tuple[str, ...], list[Block]]) -> list[tuple[tuple[str, ...], Block]]:
    return [(path, b) for path, blocks in groups for b in blocks]


def test_packs_sentences_up_to_max_chars_without_crossing_sections() -> None:
    para = "".join(_sentence(50, i) for i in range(10))  # 500 chars
    sections = _sections(
        (("一、退款",), [Block("一、退款", kind="heading", level=1), Block(para, page=3)]),
        (("二、换货",), [Block("二、换货", kind="heading", level=1), Block("换货需七天内申请。")]),
    )
    chunks = chunk_sections(sections, max_chars=200, overlap=False)
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    refunds = [c for c in chunks if c.heading_path == ("一、退款",)]
    assert "".join(c.text for c in refunds) == para
    assert all(len(c.text) <= 200 and SENTENCE_END.search(c.text) for c in refunds)
    assert chunks[-1].heading_path == ("二、换货",) and chunks[-1].text == "换货需七天内申请。"
    assert {c.page for c in refunds} == {3}


def test_overlap_repeats_the_previous_sentence() -> None:
    sentences = [_sentence(40, i) for i in range(8)]
    chunks = chunk_sections([((), Block("".join(sentences)))], max_chars=130, overlap=True)
    assert len(chunks) >= 3
    for before, after in itertools.pairwise(chunks):
        last = split_sentences(before.text)[-1]
        assert after.text.startswith(last)
    # Every sentence is in some chunk, and chunks still respect the limit.
    assert all(s in "".join(c.text for c in chunks) for s in sentences)
    assert all(len(c.text) <= 130 for c in chunks)


def test_tiny_tail_is_merged_into_the_previous_chunk() -> None:
    text = _sentence(90, 1) + _sentence(90, 2) + "好。"
    chunks = chunk_sections([((), Block(text))], max_chars=100, overlap=False)
    assert [c.text for c in chunks] == [_sentence(90, 1), _sentence(90, 2) + "好。"]


def test_overlong_sentence_is_hard_split() -> None:
    text = "，".join(["内容" * 20] * 6) + "。"  # one 245-char sentence
    chunks = chunk_sections([((), Block(text))], max_chars=100, overlap=True)
    assert "".join(c.text for c in chunks) == text  # hard-split pieces are never overlapped
    assert all(len(c.text) <= 100 for c in chunks)


def test_paragraphs_of_a_section_join_with_newlines_and_keep_first_page() -> None:
    blocks = [Block("第一段。", page=4), Block("第二段。", page=5)]
    chunks = chunk_sections([((), b) for b in blocks])
    assert [(c.text, c.page) for c in chunks] == [("第一段。\n第二段。", 4)]


def test_a_title_line_moves_with_the_text_it_introduces() -> None:
    blocks = [Block(_sentence(80, 1)), Block("实操考核"), Block(_sentence(80, 2))]
    chunks = chunk_sections([((), b) for b in blocks], max_chars=100, overlap=False)
    assert [c.text for c in chunks] == [_sentence(80, 1), "实操考核\n" + _sentence(80, 2)]


def test_faq_blocks_are_single_chunks_whatever_their_length() -> None:
    answer = "您好，" + "退款说明。" * 200
    sections = [
        (("售后",), Block("前言。")),
        (("售后",), Block(answer, kind="faq", question="怎么退款？", answer=answer)),
        (("售后",), Block("短答。", kind="faq", question="多久到账？", answer="短答。")),
    ]
    chunks = chunk_sections(sections, max_chars=100)
    assert [(c.kind, c.question, c.text, c.heading_path) for c in chunks] == [
        ("passage", None, "前言。", ("售后",)),
        ("faq", "怎么退款？", answer, ("售后",)),
        ("faq", "多久到账？", "短答。", ("售后",)),
    ]


def test_passage_blocks_are_never_merged_or_split() -> None:
    long_text = "句子。" * 200
    sections = [
        ((), Block("短。", kind="passage", external_id="d1", title="T1")),
        ((), Block("短。", kind="passage", external_id="d2")),
        ((), Block(long_text, kind="passage", external_id="d3", title="T3")),
    ]
    chunks = chunk_sections(sections, max_chars=100)
    assert [(c.external_id, c.title, c.text, c.ordinal) for c in chunks] == [
        ("d1", "T1", "短。", 0),
        ("d2", None, "短。", 1),
        ("d3", "T3", long_text, 2),
    ]


def test_table_rows_are_kept_whole() -> None:
    rows = [Block(f"商品{i} | 七天无理由 | 是。否。", kind="table_row") for i in range(3)]
    chunks = chunk_sections([((), r) for r in rows], max_chars=60, overlap=False)
    assert all(line in {r.text for r in rows} for c in chunks for line in c.text.split("\n"))


def test_chunking_is_deterministic() -> None:
    blocks = [((("甲",)), Block("".join(_sentence(30, i) for i in range(30))))]
    assert chunk_sections(blocks) == chunk_sections(blocks)


def test_rejects_a_tiny_max_chars() -> None:
    with pytest.raises(ValueError, match="max_chars must be at least 20, got 5"):
        chunk_sections([], max_chars=5)
