"""HTML: the main content of a page as headings, list items, table rows and paragraphs."""

from __future__ import annotations

import codecs
import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

from ingest.encoding import decode_text
from ingest.loaders._depth import flatten_deep
from ingest.loaders._table import row_texts
from ingest.model import Block, LoadedDocument

_DROP_TAGS = (
    "script, style, nav, aside, form, noscript, iframe, svg, template, button, select, "
    "object, embed, canvas, dialog"
)
# Class/id words of page furniture. Matched against whole words of the attribute.
_BOILERPLATE = re.compile(
    r"^(?:breadcrumbs?|crumbs?|footer|sidebar|side|nav|navbar|navigation|menu|menus|"
    r"comments?|share|sharing|social|related|recommend|advert\w*|ads?|advertisement|"
    r"sponsor\w*|copyright|tags?|tagcloud|cookies?|popup|modal|pagination|pager|toolbar)$",
    re.I,
)
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_BLOCK_TAGS = frozenset(
    {
        *_HEADINGS,
        "p", "div", "section", "article", "main", "ul", "ol", "li", "table", "tr", "pre",
        "blockquote", "dl", "dt", "dd", "figure", "figcaption", "header", "footer",
        "address", "details", "summary", "hr", "center", "body", "html", "caption",
    }
)  # fmt: skip
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.I)
_SPACE = re.compile(r"[ \t\r\f\v\u00a0\u3000]+")
_TITLE_SPLIT = re.compile(r"\s+[-|–—_]\s+|_")


def _decode(data: bytes) -> tuple[str, str]:
    """Honour a BOM or ``<meta charset>``; otherwise detect like any text."""
    if not data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        m = _META_CHARSET.search(data[:4096])
        if m:
            name = m.group(1).decode("ascii").lower()
            if name in ("gb2312", "gbk", "x-gbk", "gb_2312-80"):
                name = "gb18030"  # superset: pages labelled GB2312 routinely use GBK characters
            try:
                return data.decode(name).replace("\r\n", "\n").replace("\x00", ""), name
            except (LookupError, UnicodeDecodeError):
                pass  # a wrong label is common: fall back to detection
    return decode_text(data)


def _words(node: LexborNode) -> list[str]:
    attrs = node.attributes
    value = f"{attrs.get('class') or ''} {attrs.get('id') or ''}"
    return [w for w in re.split(r"[\s_-]+", value) if w]


def _is_boilerplate(node: LexborNode) -> bool:
    if node.tag in ("html", "body", "main", "article"):
        return False
    if node.attributes.get("role") in ("navigation", "banner", "contentinfo", "complementary"):
        return True
    return any(_BOILERPLATE.match(w) for w in _words(node))


def _text_len(node: LexborNode) -> int:
    return len(_SPACE.sub("", node.text(deep=True)))


def _link_heavy(node: LexborNode) -> bool:
    """A list that is nearly all links (related articles, tag clouds, site maps)."""
    total = _text_len(node)
    links = sum(_text_len(a) for a in node.css("a"))
    return total > 0 and links >= 0.8 * total and len(node.css("li")) >= 3


def _clean(root: LexborNode) -> None:
    for node in root.css(_DROP_TAGS):
        node.decompose()
    total = max(1, _text_len(root))
    for node in root.css("header, footer"):
        if node.parent is not None and not _inside(node, ("article", "main")):
            node.decompose()
    for node in root.css("[class], [id], [role]"):
        # Never drop a wrapper holding most of the page: its class is a layout accident.
        if _is_boilerplate(node) and _text_len(node) < 0.5 * total:
            node.decompose()
    for node in root.css("ul, ol"):
        if _link_heavy(node):
            node.decompose()


def _inside(node: LexborNode, tags: tuple[str, ...]) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.tag in tags:
            return True
        parent = parent.parent
    return False


def _main(body: LexborNode) -> LexborNode:
    """``<main>``/``role=main``/largest ``<article>``, else the node with the densest text."""
    for selector in ("main", "[role=main]"):
        node = body.css_first(selector)
        if node is not None and _text_len(node) > 0:
            return node
    articles = body.css("article")
    if articles:
        best = max(articles, key=_text_len)
        if _text_len(best) >= 0.3 * _text_len(body):
            return best
    # Readability's idea: each paragraph credits its parent fully and its grandparent half.
    scores: dict[int, tuple[float, LexborNode]] = {}
    for p in body.css("p, pre, br"):
        parent = p.parent
        length = _text_len(p) if p.tag != "br" else 20
        for weight in (1.0, 0.5):
            if parent is None:
                break
            key = parent.mem_id
            score = scores.get(key, (0.0, parent))[0] + weight * length
            scores[key] = (score, parent)
            parent = parent.parent
    if not scores:
        return body
    _, best_node = max(scores.values(), key=lambda item: item[0])
    # Content spread over sibling sections: the best node holds too little of it.
    return best_node if _text_len(best_node) >= 0.6 * _text_len(body) else body


class _Walker:
    """Emits blocks in document order; inline text between blocks becomes paragraphs."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.buffer: list[str] = []

    def flush(self) -> None:
        for line in "".join(self.buffer).split("\n"):
            text = _SPACE.sub(" ", line).strip()
            if text:
                self.blocks.append(Block(text))
        self.buffer = []

    def walk(self, node: LexborNode) -> None:
        for child in node.iter(include_text=True):
            tag = child.tag
            if tag == "-text":
                self.buffer.append(_collapse(child.text(deep=False)))
            elif tag == "br":
                self.buffer.append("\n")
            elif tag in _HEADINGS:
                self.flush()
                text = _SPACE.sub(" ", child.text(deep=True)).strip()
                if text:
                    self.blocks.append(Block(text, kind="heading", level=_HEADINGS[tag]))
            elif tag == "li":
                self.flush()
                self.list_item(child)
            elif tag == "table":
                self.flush()
                self.table(child)
            elif tag == "pre":
                self.flush()
                text = child.text(deep=True).strip("\n")
                if text.strip():
                    self.blocks.append(Block(text))
            elif tag in _BLOCK_TAGS:
                self.flush()
                self.walk(child)
                self.flush()
            elif tag and not tag.startswith("-"):
                self.walk(child)  # inline element: its text joins the buffer

    def list_item(self, li: LexborNode) -> None:
        nested = [c for c in li.iter() if c.tag in ("ul", "ol", "table")]
        own: list[str] = []
        for child in li.iter(include_text=True):
            if child.tag in ("ul", "ol", "table"):
                continue
            own.append(child.text(deep=True) if child.tag != "br" else " ")
        text = _SPACE.sub(" ", _collapse("".join(own))).strip()
        if text:
            self.blocks.append(Block(text, kind="list_item"))
        for child in nested:
            self.walk_one(child)

    def walk_one(self, node: LexborNode) -> None:
        if node.tag == "table":
            self.table(node)
        else:
            self.walk(node)

    def table(self, table: LexborNode) -> None:
        rows: list[list[str]] = []
        header_marked = False
        for i, tr in enumerate(table.css("tr")):
            if _inside_other_table(tr, table):
                continue
            cells = [c for c in tr.iter() if c.tag in ("td", "th")]
            if i == 0 and cells and all(c.tag == "th" for c in cells):
                header_marked = True
            rows.append([_SPACE.sub(" ", _collapse(c.text(deep=True))).strip() for c in cells])
        for text in row_texts(rows, header=True if header_marked else None):
            self.blocks.append(Block(text, kind="table_row"))


def _inside_other_table(tr: LexborNode, table: LexborNode) -> bool:
    parent = tr.parent
    while parent is not None and parent.mem_id != table.mem_id:
        if parent.tag == "table":
            return True
        parent = parent.parent
    return False


def _collapse(text: str) -> str:
    # Source newlines in HTML are spaces; only <br> and blocks break lines.
    return text.replace("\n", " ")


def _title(tree: LexborHTMLParser, blocks: list[Block]) -> str | None:
    node = tree.css_first("title")
    title = _SPACE.sub(" ", node.text(deep=True)).strip() if node is not None else ""
    h1 = next((b.text for b in blocks if b.kind == "heading" and b.level == 1), None)
    if h1 and (not title or h1 in title):
        return h1  # "<title>Refunds - Example Shop</title>" loses the site name
    if title:
        return _TITLE_SPLIT.split(title)[0].strip() or title
    return h1 or next((b.text for b in blocks if b.kind == "heading"), None)


def load_html(data: bytes) -> LoadedDocument:
    """Parse a web page and keep its main content."""
    text, encoding = _decode(data)
    tree = LexborHTMLParser(flatten_deep(text))
    body = tree.body or tree.root
    walker = _Walker()
    if body is not None:
        _clean(body)
        walker.walk(_main(body))
        walker.flush()
    return LoadedDocument(
        blocks=walker.blocks, format="html", title=_title(tree, walker.blocks), encoding=encoding
    )
