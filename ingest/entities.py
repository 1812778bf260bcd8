"""Decode HTML entity debris in copied text: ``&nbsp;``, ``&amp;nbsp;``, ``nbsp;`` (no ``&``).

Pages copied from sites that double-escape, or from scrapers that drop ``&``, leave ``nbsp;``,
``amp;`` or ``#12288;`` in the text. Written with ``&`` and ``;``, any HTML entity is decoded.
Without the ``&`` only the few names sites actually emit for spacing, quotes and dashes are
(a small vocabulary from the HTML standard), and only when no Latin letter runs into them, so
English words ending in ``lt;`` or ``amp;`` are left alone.
"""

from __future__ import annotations

import html
import re

# Entity names pages emit for layout and typography; any other name needs its "&".
_BARE_NAMES = (
    "nbsp|ensp|emsp|thinsp|zwsp|zwnj|zwj|shy|amp|lt|gt|quot|apos|hellip|mdash|ndash|ldquo|rdquo"
    "|lsquo|rsquo|laquo|raquo|middot|bull|copy|reg|trade|times|deg|yen"
)
_FULL_RE = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# "&nbsp" without its ";" before a non-letter: browsers accept it, so sites emit it.
_NO_SEMI_RE = re.compile(rf"&(?:{_BARE_NAMES})(?![A-Za-z0-9;])")
_BARE_NAME_RE = re.compile(rf"(?<![A-Za-z0-9&#])(?:{_BARE_NAMES});")
# An escaped "&" in front of another reference is double escaping: "&amp;nbsp;", "amp;#12288;".
_DOUBLE_RE = re.compile(
    r"(?:&|(?<![A-Za-z0-9&#;]))amp;(?:amp;)*(?=#\d|#[xX][0-9a-fA-F]|[A-Za-z][A-Za-z0-9]*;)"
)
# Space entities that lost both "&" and ";" between CJK characters ("客服nbsp中心").
_LOOSE_SPACE_RE = re.compile(
    "(?<=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef])(?:nbsp|ensp|emsp)"
    "(?=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef\\s]|$)"
)
_BARE_NUMBER_RE = re.compile(r"(?<![\w&])#(?:\d{2,7}|[xX][0-9a-fA-F]{2,6});")


def _decode(match: re.Match[str]) -> str:
    return html.unescape(match.group(0))


def _bare_number(match: re.Match[str]) -> str:
    # Without its "&" a "#123;" is only taken for a character reference when it names a
    # space, punctuation or CJK character (what sites indent and pad with), never a control.
    decoded = html.unescape("&" + match.group(0))
    return decoded if len(decoded) == 1 and ord(decoded) >= 0xA0 else match.group(0)


def decode_entities(text: str) -> str:
    """Decode entities, repeatedly, so ``&amp;nbsp;`` and ``amp;nbsp;`` become a space too."""
    for _ in range(3):  # double escaping is common, triple is the most ever seen
        before = text
        text = _DOUBLE_RE.sub("&", text)
        text = _BARE_NAME_RE.sub(lambda m: "&" + m.group(0), text)
        text = _BARE_NUMBER_RE.sub(_bare_number, text)
        text = _FULL_RE.sub(_decode, text)
        text = _NO_SEMI_RE.sub(_decode, text)
        text = _LOOSE_SPACE_RE.sub("\u00a0", text)
        if text == before:
            break
    return text
