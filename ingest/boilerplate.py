"""Recognise web-site boilerplate in text copied from document-sharing and article sites.

Each rule keys on what *every* such page shares — a label (版权说明, 相关文档), the site talking
about itself (本站, 上传), a navigation shape (A > B > C) or a layout shape (a list under a
"related" header) — never on one site's exact wording. Matching runs on a lightly
Simplified copy of the line so that Traditional pages (版權說明, 相關文檔) match the same rules.
Shape signals live beside it: ``phrases`` (tag clouds, keyword and place-name spam) and
``links`` (related, recommended and latest-article lists).
"""

from __future__ import annotations

import re

from ingest import links
from ingest.model import Block
from ingest.phrases import LIST_LABELS, is_phrase_list, split_phrases

# Traditional → Simplified for the characters our patterns use; only for matching, the
# text itself is never changed here.
_T2S = str.maketrans(
    "權說聲責舉報檔簡關熱歡薦閱讀載傳庫網標簽籤頁論評點擊覽時間碼號為類廣歸屬會員費積內詳單"
    "經權屬錄門題們與戶體數幫轉發佈見這頭獲註冊贊讚條總當無圖壓縮請系聯區"
    "來瀏鍵尋興備證輯編處資訊覺歷創紹氣頂歡貼",
    "权说声责举报档简关热欢荐阅读载传库网标签签页论评点击览时间码号为类广归属会员费积内详单"
    "经权属录门题们与户体数帮转发布见这头获注册赞赞条总当无图压缩请系联区"
    "来浏键寻兴备证辑编处资讯觉历创绍气顶欢贴",
)

SENTENCE_END = "。！？；!?;"
_SENTENCE_END_RE = re.compile(r"[。！？；!?;]|\.(?:\s|$)")
# A bullet or an enumerator at the start of a list line as sites render them.
_BULLET_RE = re.compile(r"^(?:[-•·*▪●○◆■□►]\s*|\d{1,3}[.、)）]\s*|[（(]\d{1,3}[)）]\s*)")
_HEADING_MARK_RE = re.compile(
    r"^(?:第[0-9一二三四五六七八九十百零〇两]+[章节篇部]|[一二三四五六七八九十]+、|Chapter\s+\d)"
)


def simplify(text: str) -> str:
    """A copy of ``text`` for pattern matching: common Traditional characters simplified."""
    return text.translate(_T2S)


def _has_sentence_end(text: str) -> bool:
    return bool(_SENTENCE_END_RE.search(text))


# --- single-line rules ------------------------------------------------------------------

# Legal/site labels that open a disclaimer paragraph on sharing sites.
_LEGAL_LABEL_RE = re.compile(
    r"^\W{0,3}(?:版权(?:说明|声明|所有)|免责声明|侵权举报|法律声明|隐私声明|Disclaimer|Copyright)",
    re.IGNORECASE,
)
# The site speaking about itself or its uploaders: content never does that.
_SITE_SELF_RE = re.compile(
    r"本站|本网站|本网|本文档由|本文由|用户上传|上传者|上传用户|上传人|文库网|收益归属|内容提供方"
    r"|[如若]有侵权|[如若]涉及侵权|版权归原作者|转载请注明|来源于网络|来自网络"
)
_SITE_TOPIC_RE = re.compile(
    r"侵权|版权|下载|上传|资源|所有权|权益|免责|责任|储存|存储|附件|转载|授权|转贴"
)
_COPYRIGHT_RE = re.compile(
    r"©|\(c\)\s*\d{4}|copyright|all rights reserved|版权所有|ICP\s*[备证]|公网安备", re.IGNORECASE
)
# Uploader credits: "本文由 xx 上传/整理/提供".
_CREDIT_RE = re.compile(r"本文档?由.{0,40}?(?:上传|提供|整理|发布|分享|原创)")
_TAGS_RE = re.compile(r"^(?:标签|标记|关键词|关键字|tags?|keywords?)\s*[:：]", re.IGNORECASE)
# Download prompts name the site's currency (积分, 下载券, 金币) or the document itself.
_DOWNLOAD_RE = re.compile(
    r"(?:下载|download).{0,8}?(?:积分|下载券|金币|文档|本文|全文|原文|此文|完整版)"
    r"|(?:积分|下载券|金币|文档|本文|全文|原文|此文|完整版|VIP).{0,8}?(?:下载|download)"
    r"|^(?:立即|点击|免费|马上)下载",
    re.IGNORECASE,
)
_PAGE_RE = re.compile(
    r"^(?:第\s*\d+\s*页(?:\s*[,，/]?\s*共\s*\d+\s*页)?|共\s*\d+\s*页|page\s+\d+(?:\s+of\s+\d+)?"
    r"|[-—–]\s*\d+\s*[-—–]|\d{1,4}|\d+\s*/\s*\d+)$",
    re.IGNORECASE,
)
_TOC_ENTRY_RE = re.compile(r"\S\s*(?:\.{4,}|…{2,}|·{4,}|\t)\s*\d{1,3}$")
_DATE_ONLY_RE = re.compile(
    r"^\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?$"
)
# Page metadata fields; one alone ("来源：国家税务总局") may be content, two on a line are a
# site's info bar.
_META_FIELD_RE = re.compile(
    r"(作者|来源|日期|发布|更新|上传|浏览|阅读|点击|字数|页数|大小|格式|分类|下载|编辑|责编)"
    r"[^\s:：]{0,3}\s*[:：]"
)
# The same facts as counts: "1234人阅读", "人气（3,482）", "共8页". A count is tried from the
# start of its run of digits and commas only: from every digit of a long run, it is quadratic.
_COUNT_FIELD_RE = re.compile(
    r"(?<![\d,]),*\d[\d,]*\s*[人次]?\s*(?:阅读|浏览|下载|评论|留言|收藏|点赞|引用)"
    r"|(?:人气|阅读|浏览|下载|评论|留言|引用|收藏|点击)\s*[（(]\s*\d|共\s*\d+\s*页"
)
_LEADING_DATE_RE = re.compile(r"^\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}日?")
# Links to the neighbouring articles: "上一篇：<title>".
_NEIGHBOUR_RE = re.compile(
    r"^(?:上一篇|下一篇|上一页|下一页|上一章|下一章|previous|next)\s*[:：]", re.I
)
_AD_RE = re.compile(
    r"^(?:【?广告】?|推广|赞助|advertisement|sponsored|ad)(?:$|\s*[:：])"
    r"|扫码|扫一扫|关注(?:我们的)?公众号|长按识别",
    re.IGNORECASE,
)
# Page furniture that stands alone on a line: comment boxes, share buttons, pagers.
_CHROME_RE = re.compile(
    r"^(?:发表|提交|全部|网友)?(?:评论|留言)(?:列表|区|板)?|(?:创作者|作者)(?:介绍|简介)|关于作者|分享到?|收藏|点赞|举报|打印|(?:返回|回到)(?:顶部|列表|首页)|回到?(?:顶端|页首)|阅读全文|展开全文"
    r"|加载更多|查看更多|上一篇|下一篇|登录|注册|首页|目录|share|print|comments$",
    re.IGNORECASE,
)
_HOME_WORDS_RE = re.compile(r"^(?:首页|主页|当前位置|您的位置|你的位置|位置|home)\b", re.IGNORECASE)
_CRUMB_SPLIT_RE = re.compile(r"\s*[>›»＞→]\s*|\s+/\s+")


def is_breadcrumb(text: str, *, near_edge: bool = False) -> bool:
    """A navigation trail (``A > B > C``): three or more short segments, no sentence.

    ``near_edge`` says the line sits at the top or bottom of the document, where sites put
    the trail; elsewhere it must start from a home word, because ``紧急 > 高 > 低`` in a body
    is content.
    """
    if len(text) > 150 or _has_sentence_end(text):
        return False
    parts = [p for p in _CRUMB_SPLIT_RE.split(text) if p]
    if len(parts) < 3 or any(len(p) > 40 for p in parts):
        return False
    return near_edge or bool(_HOME_WORDS_RE.match(simplify(text)))


def is_toc_line(text: str) -> bool:
    """A table of contents flattened onto one line: many numbered titles each with a page number."""
    # Runs of digits, dots and ellipses are matched from their start only (linear on "1111…").
    page_refs = len(re.findall(r"(?:\s|(?<!\.)\.{2,}|(?<!…)…+)\d{1,3}(?=\D|$)", text))
    markers = len(
        re.findall(
            r"第[0-9一二三四五六七八九十]+[章节部]|[一二三四五六七八九十]+、|(?<!\d)\d+\.\d*\s*[^\d\s.]",
            text,
        )
    )
    sentences = len(re.findall(r"[。！？!?]", text))
    return page_refs >= 4 and markers >= 3 and sentences * 4 <= page_refs


def _is_info_bar(line: str) -> bool:
    """A page's info bar: two different metadata fields (or a date and one), short values."""
    fields = {m.group(1) for m in _META_FIELD_RE.finditer(line)}
    if _has_sentence_end(line) or any(len(v) > 24 for v in re.split(r"\s+|[|｜]", line)):
        return False  # a bar is short fields side by side, never a clause
    counts = len(_COUNT_FIELD_RE.findall(line))
    return len(fields) + counts + bool(_LEADING_DATE_RE.match(line)) >= 2


def _is_inline_links(text: str) -> bool:
    """Link titles on one line after a link-list label: ``推荐阅读：标题一 | 标题二``."""
    found = split_phrases(text)
    if not found.label or not all(links.is_link_title(i) for i in found.items):
        return False
    label = simplify(found.label)
    if links.is_related_header(label):
        return len(text) <= 80
    return links.is_link_header(label) and found.hard and len(found.items) >= 2


def is_boilerplate(text: str, *, near_edge: bool = False) -> bool:
    """True when one line on its own is site furniture rather than document content."""
    line = simplify(text.strip())
    if not line:
        return True
    short = len(line) <= 80
    bare = line.strip(" :：-—·•|")
    if _CHROME_RE.fullmatch(bare) or _PAGE_RE.match(bare) or _DATE_ONLY_RE.match(bare):
        return True
    # A contents entry from an office file: a title, dot leaders, a page number.
    if len(line) <= 80 and _TOC_ENTRY_RE.search(line):
        return True
    if is_breadcrumb(line, near_edge=near_edge) or is_toc_line(line):
        return True
    if _LEGAL_LABEL_RE.match(line) and (len(line) <= 12 or _SITE_SELF_RE.search(line)):
        return True
    if _SITE_SELF_RE.search(line) and _SITE_TOPIC_RE.search(line):
        return True
    if _CREDIT_RE.search(line) or (short and _COPYRIGHT_RE.search(line)):
        return True
    if short and (_TAGS_RE.match(line) or _is_info_bar(line)):
        return True
    if short and _NEIGHBOUR_RE.match(line) and not _has_sentence_end(line):
        return True
    if is_phrase_list(text.strip(), simplified=line) or _is_inline_links(text.strip()):
        return True
    # Download and ad prompts are one-line calls to action; a sentence that mentions
    # downloading an invoice is content, so only short lines qualify.
    if len(line) <= 60 and (_DOWNLOAD_RE.search(line) or _AD_RE.search(line)):
        return not line.endswith("。") or bool(_SITE_SELF_RE.search(line))
    return False


# --- structural rules -------------------------------------------------------------------


def is_related_header(text: str) -> bool:
    """A header that opens a list of links to other pages (相关文档, 猜你喜欢, Related posts)."""
    return links.is_related_header(simplify(text))


def _is_bulleted(text: str) -> bool:
    return bool(_BULLET_RE.match(text))


def _is_label(text: str) -> bool:
    return len(text) <= 12 and not _has_sentence_end(text) and not _HEADING_MARK_RE.match(text)


def remove_boilerplate(blocks: list[Block]) -> list[Block]:
    """Drop boilerplate lines, link lists under "related" headers, and disclaimer lists."""
    drop = [False] * len(blocks)
    n = len(blocks)
    edge = 3  # sites put breadcrumbs in the first or last few lines
    title_ends, dated_ends = links.title_runs(blocks), links.dated_runs(blocks)
    i = 0
    while i < n:
        block = blocks[i]
        if block.kind in ("faq", "passage"):
            i += 1
            continue
        line = simplify(block.text)
        end = title_ends[i + 1]
        dated = dated_ends[i]
        if links.is_related_header(line) or (links.is_link_header(line) and end - i > 2):
            # The header and the link titles under it, up to the first real paragraph.
            drop[i:end] = [True] * (end - i)
            i = end
            continue
        if dated - i >= 2:
            drop[i:dated] = [True] * (dated - i)
            i = dated
            continue
        drop[i] = is_boilerplate(block.text, near_edge=i < edge or i >= n - edge)
        i += 1
    _drop_boilerplate_lists(blocks, drop)
    _drop_list_labels(blocks, drop)
    _drop_tail_islands(blocks, drop)
    return [b for b, d in zip(blocks, drop, strict=True) if not d]


def _drop_tail_islands(blocks: list[Block], drop: list[bool]) -> None:
    """A short, sentence-less line alone among dropped lines after the body is site furniture.

    The foot of a page (comment widget, author box, hot searches) leaves behind the odd line
    no single rule names: the blog's or the author's name, the site's brand. Past the last
    kept sentence, a line whose neighbours were both dropped (or the end of the page) is one
    of those. Near the top the same shape is the page's title between breadcrumb and info
    bar, so only the tail counts.
    """
    kept = [i for i, d in enumerate(drop) if not d and _has_sentence_end(blocks[i].text)]
    if not kept:
        return
    for i in range(kept[-1] + 1, len(blocks)):
        text = simplify(blocks[i].text.strip())
        if drop[i] or blocks[i].kind != "paragraph" or len(text) > 40:
            continue
        after = i + 1 == len(blocks) or drop[i + 1]
        if drop[i - 1] and after and not _has_sentence_end(text):
            drop[i] = True


def _drop_list_labels(blocks: list[Block], drop: list[bool]) -> None:
    """A label alone on the line above a dropped phrase list (全站热搜) goes with the list."""
    for i in range(1, len(blocks)):
        label = simplify(blocks[i - 1].text.strip())
        if not drop[i] or drop[i - 1] or len(label) > 8 or _has_sentence_end(label):
            continue
        if blocks[i - 1].kind == "paragraph" and is_phrase_list(blocks[i].text.strip()):
            drop[i - 1] = bool(LIST_LABELS.search(label) or links.is_link_header(label))


def _drop_boilerplate_lists(blocks: list[Block], drop: list[bool]) -> None:
    """A bulleted run that is mostly boilerplate is a site notice; drop it whole, with its label.

    Notices such as "温馨提示 - 1. 本站… - 4. 未经权益所有人同意…" mix lines that are clearly the
    site's with lines that only make sense beside them.
    """
    i = 0
    while i < len(blocks):
        if not _is_bulleted(blocks[i].text):
            i += 1
            continue
        j = i
        while j < len(blocks) and _is_bulleted(blocks[j].text):
            j += 1
        if j - i >= 2 and sum(drop[i:j]) * 2 >= j - i:
            for k in range(i, j):
                drop[k] = True
            if i > 0 and _is_label(blocks[i - 1].text):
                drop[i - 1] = True
        i = j
