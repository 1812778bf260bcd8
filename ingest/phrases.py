"""Lines that are lists of short phrases, not prose: tag clouds, keyword and place-name spam.

Prose has sentence structure; a tag cloud is a row of short items split by a separator prose
does not use between words (``|``, ``/``, spaces between CJK words, ``#tags``), or an
enumeration comma repeated far more often than any sentence lists things. A label before the
list (``標籤：``) is only a weak signal: it lowers the item count needed, never decides alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CJK_RE = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_PROSE_END_RE = re.compile(r"[。；;]|[.!?](?:\s|$)")
_LABEL_RE = re.compile(r"^\W{0,2}([^\s:：|｜/／、,，]{1,8})\s*[:：]\s*")
# Separators prose never puts between words, then the enumeration commas prose does use.
_SPACES = "\\s+"
_HARD_SEPARATORS = ("[|｜丨¦┆]", "[/／]", "\\s*[·•]\\s*", _SPACES)
_SOFT_SEPARATORS = ("、", "[,，]")
# Labels sites put before keyword lists (matched on the simplified text, as substrings).
LIST_LABELS = re.compile(r"标签|标记|关键|热门|搜|tags?\b|keywords?|分享|猜你", re.IGNORECASE)
# Share/print/collect buttons laid out in a row.
_BUTTON_RE = re.compile(r"^(?:分享|收藏|打印|举报|点赞|评论|转发|复制链接|返回|share|print)", re.I)
_MAX_ITEM = 24
_GLUED = 10
_WORD_RE = re.compile(r"\w")
_LETTER_RE = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class PhraseList:
    """A line split into an optional label and its items."""

    label: str
    items: list[str]
    hard: bool  # split on a separator prose does not use between words


def split_phrases(text: str) -> PhraseList:
    """The label and the items of ``text`` for the separator that yields the most items.

    A drawn separator (``|``, ``/``, ``·``) that splits the line three ways or more wins over
    spaces, which may sit inside its items (``基本版 99元 | 专业版 199元``).
    """
    label = ""
    rest = text.strip()
    if m := _LABEL_RE.match(rest):
        label, rest = m.group(1), rest[m.end() :]
    best = PhraseList(label, [rest] if rest else [], hard=False)
    for hard, patterns in ((True, _HARD_SEPARATORS), (False, _SOFT_SEPARATORS)):
        for pattern in patterns:
            # Separators padded with spaces ("北京 | 上海") leave bare "|" items: not phrases.
            items = [p.strip() for p in re.split(pattern, rest) if _WORD_RE.search(p)]
            if len(items) > len(best.items):
                best = PhraseList(label, items, hard)
            if hard and pattern != _SPACES and len(items) >= 3:
                return PhraseList(label, items, hard)
    return best


def is_phrase_list(text: str, *, simplified: str | None = None) -> bool:
    """True for a line of short phrases with no sentence: a tag cloud or keyword spam.

    ``simplified`` is the line with Traditional characters simplified, for the label test.
    """
    if _PROSE_END_RE.search(text) or text.lstrip().startswith(("|", "｜")):
        return False  # a sentence, or a table row drawn with pipes
    found = split_phrases(text)
    items = found.items
    # A long list may be glued to what precedes or follows it on the line ("© 2025 某网 台北|
    # 新北|…"); its inner items decide.
    if len(items) >= _GLUED:
        items = items[1:-1]
    if len(items) < 2 or any(len(i) > _MAX_ITEM or "，" in i for i in items):
        return False
    if all(i.startswith("#") for i in items):
        return True  # hashtags
    if sum(bool(_BUTTON_RE.match(i)) for i in items) * 2 >= len(items) >= 2:
        return True  # a row of share and print buttons
    labelled = bool(found.label and LIST_LABELS.search(simplified or found.label))
    mean = sum(map(len, items)) / len(items)
    if found.hard:
        cjk = sum(bool(_CJK_RE.search(i)) for i in items)
        if cjk * 5 < len(items) * 3:
            return False  # spaced Latin words are a sentence or a title
        if sum(len(_LETTER_RE.findall(i)) >= 2 for i in items) * 5 < len(items) * 4:
            return False  # spaced-out numbers and single characters: "2026 年 1 月 1 日"
        needed = 3 if labelled else 5 if found.label else 6
        return len(found.items) >= needed and mean <= (16 if labelled else 12)
    needed = 4 if labelled else 10
    return len(found.items) >= needed and mean <= 8
