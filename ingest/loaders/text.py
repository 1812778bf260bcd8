"""Plain text: paragraphs split on blank lines, or one block per line when there are none."""

from __future__ import annotations

import re

from ingest.encoding import decode_text
from ingest.loaders._lines import (
    Line,
    display_width,
    join_wrapped,
    long_line_width,
    text_lines,
    wrap_width,
)
from ingest.model import Block, LoadedDocument

_BLANK = re.compile(r"\n[ \t\u3000\u00a0]*\n")
_STRIP = " \t\u3000\u00a0"


def _group_lines(group: list[str], typical: int) -> list[Line]:
    """Lines of one blank-line-separated paragraph: all wrapped, except short (heading) lines.

    A line counts as wrapped only if it is wide against its paragraph and against the
    document's long lines (``typical``): in a two-line paragraph the first line is always the
    widest, so a title followed by a model line ("…使用说明书" / "适用型号：YZ-A2") was glued
    into one block and went with the title.
    """
    widest = max(display_width(t) for t in group)
    limit = 0.6 * max(widest, typical)
    return [Line(t, full=display_width(t) >= limit) for t in group]


def text_blocks(text: str) -> list[Block]:
    """Paragraph blocks from decoded text; wrapped lines are joined, heading-like lines kept.

    Headings are not detected here: a later pass reads them from paragraph blocks, so every
    line that could be one stays a block of its own (short lines never join the next).
    """
    if _BLANK.search(text):
        groups = [
            [t.strip(_STRIP) for t in g.split("\n") if t.strip(_STRIP)] for g in _BLANK.split(text)
        ]
        typical = long_line_width([t for g in groups for t in g])
        lines: list[Line] = []
        for group in groups:
            if group:
                lines.extend([*_group_lines(group, typical), Line("", full=False)])
    else:
        # Copied web text: one paragraph per line unless the lines are visibly hard-wrapped.
        texts = [t.strip(_STRIP) for t in text.split("\n")]
        lines = text_lines(texts, wrap_width(texts))
    return [Block(p) for p in join_wrapped(lines)]


def load_text(data: bytes) -> LoadedDocument:
    """Decode and split a plain-text file."""
    text, encoding = decode_text(data)
    return LoadedDocument(blocks=text_blocks(text), format="text", encoding=encoding)
