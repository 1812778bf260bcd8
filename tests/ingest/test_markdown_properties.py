"""Properties of the Markdown loader (hypothesis): no visible character of a line is lost.

A line "without markup" is one whose ``*`` and ``_`` CommonMark never reads as emphasis: every
run sits inside a word (``600*580*820``, ``YZ_S2_PRO``: ``_`` between any letters, ``*`` between
ASCII letters or digits, where the loader treats it as ``_``), stands alone between spaces
(``长 * 宽``) or only ends a word (``分钟*``, a footnote mark). No run can open an emphasis, so
none can pair, and the line must come back character for character, as the text loader keeps it.
"""

from __future__ import annotations

import string

from hypothesis import example, given
from hypothesis import strategies as st

from ingest.loaders import load_document

ASCII_WORD = st.text(string.ascii_letters + string.digits, min_size=1, max_size=6)
WORD = st.text(
    string.ascii_letters + string.digits + "机身尺寸毫米型号滤网寸电源键续航分钟",
    min_size=1,
    max_size=6,
)
STARS = st.sampled_from(["*", "**", "***"])
UNDERSCORES = st.sampled_from(["_", "__"])


def _joined(parts: st.SearchStrategy[str], marks: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Words joined by runs of a mark: every run has a word character on both sides."""
    return st.tuples(parts, st.lists(st.tuples(marks, parts), max_size=3)).map(
        lambda t: t[0] + "".join(mark + word for mark, word in t[1])
    )


TOKEN = st.one_of(
    WORD,
    _joined(ASCII_WORD, STARS),  # 600*580*820, X1*2, 2**10
    _joined(WORD, UNDERSCORES),  # YZ_S2_PRO, 电源_键
    st.tuples(WORD, STARS | UNDERSCORES).map("".join),  # 分钟* (can only close)
    (STARS | UNDERSCORES).map(" {} ".format),  # alone between spaces: 长 * 宽
)
# Separators keep a line from starting a list ("1. ", "- ") or a heading, and keep the token
# after a closing-only run from touching it.
SEPARATOR = st.sampled_from([" ", "，", " = ", "。", "：", " (", "） "])


@st.composite
def plain_lines(draw: st.DrawFn) -> str:
    first = draw(WORD)
    rest = draw(st.lists(st.tuples(SEPARATOR, TOKEN), max_size=8))
    return first + "".join(sep + token for sep, token in rest)


def _visible(text: str) -> str:
    return "".join(text.split())


def _loaded(filename: str, text: str) -> str:
    return _visible(" ".join(b.text for b in load_document(filename, text.encode()).blocks))


@given(plain_lines())
@example("机身尺寸 600*580*820 毫米")
@example("8*8 = 64，2*4 寸")
@example("型号 YZ_S2_PRO")
@example("续航 120 分钟*，噪音 65 dB*")
def test_a_line_without_markup_keeps_every_character(line: str) -> None:
    assert _loaded("manual.md", line) == _visible(line)
    assert _loaded("manual.txt", line) == _visible(line)


_PUNCTUATION = frozenset(string.punctuation)
ANY_TEXT = st.text(
    st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Co", "Cn")), min_size=1, max_size=80
).filter(lambda t: t.strip())


def _escaped(text: str) -> str:
    return "".join("\\" + c if c in _PUNCTUATION else c for c in text)


@given(ANY_TEXT)
@example("**注意**：600*580*820 `YZ_S2_PRO` [说明](x.md) &amp; <OK> \\")
@example("# 1. - > | --- <!-- x -->")
def test_escaping_every_mark_shows_the_text_as_written(text: str) -> None:
    """Any text with each ASCII punctuation mark backslash-escaped renders as the text itself."""
    assert _loaded("manual.md", _escaped(text)) == _visible(text)
