"""Inline Markdown to the text a reader sees, by a CommonMark parser (markdown-it-py).

Emphasis, code spans, links, images, autolinks, backslash escapes, entities and inline HTML are
rendered, not stripped: a mark is dropped only where CommonMark makes it markup, so the ``*`` of
``8*8=64`` and the ``_`` of ``YZ_S2_PRO`` stay. One deliberate departure from CommonMark: a run
of ``*`` between two ASCII letters or digits is text, as ``_`` inside a word already is, because
in manuals ``600*580*820`` is a dimension and ``X1*2`` a count; CommonMark's intraword ``*``
emphasis would show "600580820" (580 in italics) and "X1*2" only while no second ``*`` follows.
Emphasis next to CJK text (``请**务必**拔掉电源``) is unaffected.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping

from markdown_it import MarkdownIt
from markdown_it.common.html_blocks import block_names
from markdown_it.common.utils import normalizeReference
from markdown_it.rules_inline import StateInline
from markdown_it.rules_inline.emphasis import tokenize as _emphasis
from markdown_it.token import Token

# HTML elements a browser would render (their tags vanish, their text stays). Anything else in
# angle brackets that CommonMark calls a tag (``按 <OK> 键``, ``<Enter>``) is shown as written:
# to a browser it is an unknown element that hides its name, to a manual's reader it is a key.
_HTML_ELEMENTS = frozenset(block_names) | {
    "a", "abbr", "b", "bdi", "bdo", "big", "br", "cite", "code", "data", "del", "dfn", "em",
    "font", "i", "img", "input", "ins", "kbd", "label", "mark", "q", "rp", "rt", "ruby", "s",
    "samp", "small", "span", "strike", "strong", "sub", "sup", "time", "tt", "u", "var", "wbr",
}  # fmt: skip
_BREAKS = frozenset({"br"})  # a line break reads as a space; <wbr> as nothing

# ``[label]: url`` definitions by normalised label, as the parser's ``env["references"]``.
References = Mapping[str, Mapping[str, str]]


def _is_ascii_alnum(char: str) -> bool:
    return char.isascii() and char.isalnum()


def _emphasis_outside_words(state: StateInline, silent: bool) -> bool:
    """CommonMark's emphasis delimiter scan, except that ``*`` inside an ASCII word is text."""
    start, count = state.pos, len(state.delimiters)
    if not _emphasis(state, silent):
        return False
    src, end = state.src, state.pos
    inside_word = start > 0 and end < state.posMax
    if src[start] == "*" and inside_word and _is_ascii_alnum(src[start - 1] + src[end]):
        for delimiter in state.delimiters[count:]:
            delimiter.open = delimiter.close = False
    return True


@functools.cache
def _parser(links: bool) -> MarkdownIt:
    # CommonMark plus GFM strikethrough (``~~old~~``); no typographer (it would turn "(c)" into
    # "©" and quotes into curly ones) and no linkify: the text stays as written.
    md = MarkdownIt("commonmark", {"typographer": False}).enable("strikethrough")
    md.inline.ruler.at("emphasis", _emphasis_outside_words)
    if not links:
        # Text without "]" holds no link or image, yet every "[" would be tried as one: a line
        # of a million "[" took 36 s, 5 s without the two rules (2-core machine, busy).
        md.disable(["link", "image"])
    return md


def link_references(definitions: Iterable[tuple[str, str]]) -> References:
    """``[label]: url`` definitions in the form the parser resolves ``[text][label]`` with."""
    refs: dict[str, dict[str, str]] = {}
    for label, href in definitions:
        refs.setdefault(normalizeReference(label), {"href": href, "title": ""})
    return refs


def _tag_name(html: str) -> str:
    name = html.lstrip("</").split(maxsplit=1)[0] if html.lstrip("</") else ""
    return name.rstrip("/>").lower()


def _render(tokens: list[Token] | None, out: list[str]) -> None:
    for token in tokens or ():
        if token.type in ("text", "text_special", "code_inline"):
            out.append(token.content)
        elif token.type in ("softbreak", "hardbreak"):
            out.append(" ")
        elif token.type == "image":
            _render(token.children, out)  # its alt text
        elif token.type == "html_inline":
            name = _tag_name(token.content)
            if name in _BREAKS:
                out.append(" ")
            elif name not in _HTML_ELEMENTS and not token.content.startswith("<!"):
                out.append(token.content)
        # the rest (link_open, em_close, s_open …) are marks around text already rendered


def render_inline(text: str, references: References | None = None) -> str:
    """The visible text of one paragraph, heading or cell of inline Markdown, stripped."""
    if not any(c in text for c in "*_`[<&\\~"):
        return text.strip()  # nothing to parse: most lines of a manual
    env = {"references": dict(references or {})}
    out: list[str] = []
    for block in _parser("]" in text).parseInline(text, env):
        _render(block.children, out)
    return "".join(out).strip()
