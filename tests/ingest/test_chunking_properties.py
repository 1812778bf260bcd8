"""Properties of sentence splitting and chunking over arbitrary text (hypothesis)."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from ingest.chunking import chunk_sections, hard_split, split_sentences
from ingest.loaders._lines import join_all, join_pair
from ingest.model import Block

# Chinese, Latin, digits, the punctuation that ends or breaks sentences, spaces and newlines.
ALPHABET = st.sampled_from(
    list("退款订单客服发货。！？；…，、：.!?;,: \n\t\u3000abcXYZ019-()（）「」\"'")
)
TEXT = st.text(ALPHABET, max_size=600) | st.text(max_size=300)


def _dense(text: str) -> str:
    return "".join(text.split())


def _is_subsequence(needle: str, haystack: str) -> bool:
    it = iter(haystack)
    return all(ch in it for ch in needle)


@given(TEXT)
@example("e.g. 3.5 v2.0 …… ?! 。」")
def test_sentences_join_back_to_the_text(text: str) -> None:
    assert "".join(split_sentences(text)) == text


@given(TEXT, st.integers(20, 300))
@example("a" * 1000, 20)
@example("，" * 100 + " x" * 100, 50)
def test_hard_split_loses_nothing_and_fits(sentence: str, max_chars: int) -> None:
    pieces = hard_split(sentence, max_chars)
    joined = "".join(pieces)
    assert sentence.startswith(joined)
    assert not sentence[len(joined) :].strip()  # only trailing blanks may be dropped
    assert all(len(p.strip()) <= max_chars for p in pieces)


@given(st.lists(TEXT, max_size=12), st.integers(20, 400), st.booleans())
@example(["a" * 999], 20, True)
@example(["短句。" * 50, "标题", "正文。"], 50, True)
def test_chunks_lose_no_text_and_stay_within_bounds(
    paragraphs: list[str], max_chars: int, overlap: bool
) -> None:
    blocks = [((), Block(p)) for p in paragraphs]
    chunks = chunk_sections(blocks, max_chars=max_chars, overlap=overlap)
    # Overlap repeats a sentence; the input's non-space text is still there, in order.
    together = "".join(_dense(c.text) for c in chunks)
    assert _is_subsequence("".join(_dense(p) for p in paragraphs), together)
    if not overlap:
        assert together == "".join(_dense(p) for p in paragraphs)
    assert all(c.text.strip() for c in chunks)
    assert all(len(c.text) <= max_chars + max_chars // 5 for c in chunks)
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))


@given(st.lists(TEXT, max_size=30))
@example(["hyphen-", "ated", "中文", "text-\n", "word"])
def test_joining_fragments_equals_joining_them_one_by_one(parts: list[str]) -> None:
    naive = ""
    for part in parts:
        naive = join_pair(naive, part)
    assert join_all(parts) == naive
