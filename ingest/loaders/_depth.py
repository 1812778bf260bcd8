"""Bound how deep an HTML page nests before the parser builds its tree.

lexbor's tree building slows quadratically with depth (100 000 nested ``<div>``s take minutes)
and the walk over the tree recurses once per level. Browsers cap the depth too (Chromium's
parser at 512). Tags past ``MAX_DEPTH`` are dropped, never their text: the words stay, the
structure below the limit is flattened.
"""

from __future__ import annotations

import re

MAX_DEPTH = 256
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)\b[^<>]*?(/?)>")
# Elements with no content, or whose end tag may be left out (the parser closes them itself):
# they never make a page deeper in a way a count of tags could see.
_FLAT = frozenset(
    {
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
        "source", "track", "wbr", "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup",
        "thead", "tbody", "tfoot", "colgroup", "caption", "rb", "rt", "rp", "html", "head", "body",
    }
)  # fmt: skip


def _depths(text: str) -> tuple[int, list[re.Match[str]]]:
    """The deepest nesting the tags reach, and the tags that count towards it."""
    deepest = depth = 0
    tags: list[re.Match[str]] = []
    for tag in _TAG.finditer(text):
        if tag.group(2).lower() in _FLAT or tag.group(3):
            continue
        tags.append(tag)
        depth = max(0, depth - 1) if tag.group(1) else depth + 1
        deepest = max(deepest, depth)
    return deepest, tags


def flatten_deep(text: str, limit: int = MAX_DEPTH) -> str:
    """``text`` as it is when its tags nest at most ``limit`` deep, else without the deeper tags."""
    deepest, tags = _depths(text)
    if deepest <= limit:
        return text
    out: list[str] = []
    pos = depth = 0
    for tag in tags:
        closing = bool(tag.group(1))
        inside = depth if closing else depth + 1
        depth = max(0, depth - 1) if closing else depth + 1
        if inside > limit:
            out.append(text[pos : tag.start()])
            pos = tag.end()
    out.append(text[pos:])
    return "".join(out)
