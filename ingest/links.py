"""Blocks of links to other pages: related, recommended and latest-article lists.

Such a block is a short header followed by lines shaped like link titles: short, no sentence
inside (a title may end in a question mark), often with a date or a count after it. The
header words (相关, 推荐, 最新, 猜你…) are a weak signal and need the titles under them;
a run of dated titles needs no header at all.
"""

from __future__ import annotations

import re

from ingest.model import Block

# Headers that on their own always name site furniture (matched whole, on simplified text).
_STRICT_HEADER_RE = re.compile(
    r"文档简介|相关(?:文档|推荐|阅读|文章|资料|下载)|最新(?:文档|文章)|热门(?:文档|文章|推荐)|猜你喜欢"
    r"|推荐阅读|延伸阅读|精彩推荐|为你推荐|更多推荐|大家都在看|相似文档|本类热门|(?:全部|网友)?评论"
    r"|related(?: articles| posts| documents)?|recommended|you may also like|popular posts"
    r"|recent posts|more articles|comments",
    re.IGNORECASE,
)
# Words a link-list header is made of; a content heading may use one, so titles must follow.
_HEADER_WORDS_RE = re.compile(
    r"相关|推荐|最新|热门|猜你|延伸|精彩|更多|大家都在|看过|感兴趣|排行|相似|同类|热点|热文|阅读"
    r"|喜欢|还看|在看|文章|资讯|新闻"
    r"|related|recommend|popular|latest|recent|trending|also like|more",
    re.IGNORECASE,
)
_HEADING_MARK_RE = re.compile(
    r"^(?:第[0-9一二三四五六七八九十百零〇两]+[章节篇部]|[一二三四五六七八九十]+、|[（(][一二三四五六七八九十]+[)）]"
    r"|\d{1,2}(?:\.\d{1,2})+\s|Chapter\s+\d)"
)
_BULLET_RE = re.compile(r"^(?:[-•·*▪●○◆■□►]\s*|\d{1,3}[.、)）]\s*|[（(]\d{1,3}[)）]\s*)")
# What sites print after a link title: a date, a view or comment count (a count is tried from the
# first digit of its number only, which keeps a line of 10 000 digits linear).
_TRAILER_RE = re.compile(
    r"\s*[(（\[]?(?:\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?|\d{1,2}[-/]\d{1,2}|(?<!\d)\d+\s*(?:阅读|浏览|评论|次|views?))"
    r"[)）\]]?$"
)
_DATE_TRAILER_RE = re.compile(r"\S\s*[(（\[]?\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?[)）\]]?$")
_INNER_SENTENCE_RE = re.compile(r"[。；;]|[！？!?](?=.)")
_FULL_STOP_RE = re.compile(r"[。；;]")
_QA_RE = re.compile(r"^(?:Q|A|问|問|答)\s*\d*\s*[:：.、]", re.IGNORECASE)


def _bare(text: str) -> str:
    return re.sub(r"[\s:：()（）\d/]+$", "", text.strip()).strip(" :：【】[]").lower()


def is_related_header(simplified: str) -> bool:
    """A header that always opens a list of links to other pages (相关文档, 猜你喜欢, Related)."""
    return bool(_STRICT_HEADER_RE.fullmatch(_bare(simplified)))


def is_link_header(simplified: str) -> bool:
    """A short line that may open a link list (您可能感兴趣的文章): to be confirmed by titles."""
    bare = _bare(simplified)
    if not bare or len(bare) > 16 or _INNER_SENTENCE_RE.search(bare) or bare[-1] in "。！？!?":
        return False
    return bool(_HEADER_WORDS_RE.search(bare)) and not _HEADING_MARK_RE.match(bare)


def is_link_title(text: str) -> bool:
    """A line shaped like a link title: short, no sentence inside, maybe a date after it."""
    if _HEADING_MARK_RE.match(text) or _QA_RE.match(text):
        return False
    if _BULLET_RE.match(text) and len(text) <= 200 and not _INNER_SENTENCE_RE.search(text):
        return True
    title = _TRAILER_RE.sub("", text)
    if not 0 < len(title) <= 60 or _FULL_STOP_RE.search(title) or title[-1] == "。":
        return False
    if len(re.findall(r"[，,]", title)) >= 2:
        return False  # clauses: a sentence without its full stop
    # Titles ask questions ("离职率高怎么办？5招留住人才"); a longer line that does is prose.
    return len(title) <= 40 or not _INNER_SENTENCE_RE.search(title)


def is_dated_title(text: str) -> bool:
    """A link title followed by its date (``如何降低离职率 2025-02-27``)."""
    return bool(_DATE_TRAILER_RE.search(text)) and is_link_title(text) and len(text) <= 80


def title_runs(blocks: list[Block]) -> list[int]:
    """For each start index, the index just past the link titles that begin there (itself when
    there are none); one entry more, for the end.

    Computed once from the back: asked afresh at every line, a document of 10 000 title-shaped
    lines took minutes (quadratic).
    """
    ends = list(range(len(blocks) + 1))
    for j in range(len(blocks) - 1, -1, -1):
        if blocks[j].kind not in ("faq", "passage") and is_link_title(blocks[j].text):
            ends[j] = ends[j + 1]
    return ends


def dated_runs(blocks: list[Block]) -> list[int]:
    """For each start index, the index just past the dated link titles that begin there."""
    ends = list(range(len(blocks) + 1))
    for j in range(len(blocks) - 1, -1, -1):
        if blocks[j].kind == "paragraph" and is_dated_title(blocks[j].text):
            ends[j] = ends[j + 1]
    return ends
