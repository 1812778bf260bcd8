"""Scripted replies: templates with `{variables}`, their YAML/CSV formats, and filling them in."""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import opencc

from kb.errors import Invalid
from kb.library.rulefile import Fields, RuleFileError, check_version, dump, kind_of, load, suggest
from kb.types import LANGUAGES, Language

_LANGUAGE_NAMES: dict[str, Language] = {
    "zh-hans": "zh-Hans", "zh": "zh-Hans", "zh-cn": "zh-Hans", "zh-sg": "zh-Hans",
    "简体": "zh-Hans", "简体中文": "zh-Hans", "中文": "zh-Hans",
    "zh-hant": "zh-Hant", "zh-tw": "zh-Hant", "zh-hk": "zh-Hant", "zh-mo": "zh-Hant",
    "繁体": "zh-Hant", "繁體": "zh-Hant", "繁体中文": "zh-Hant", "繁體中文": "zh-Hant",
    "en": "en", "en-us": "en", "en-gb": "en", "english": "en", "英文": "en", "英语": "en",
}  # fmt: skip

# Labels shown in place of an unfilled variable: (zh-Hans, zh-Hant, en).
_LABELS: dict[str, tuple[str, str, str]] = {
    "name": ("称呼", "稱呼", "name"),
    "order_id": ("订单号", "訂單號", "order number"),
    "tracking_no": ("运单号", "運單號", "tracking number"),
    "amount": ("金额", "金額", "amount"),
    "date": ("日期", "日期", "date"),
    "product": ("产品", "產品", "product"),
    "tier": ("会员等级", "會員等級", "membership tier"),
    "phone": ("联系电话", "聯絡電話", "phone number"),
    "email": ("邮箱", "電子郵件", "email address"),
    "address": ("地址", "地址", "address"),
    "agent_name": ("客服姓名", "客服姓名", "agent name"),
}

# Request/customer field names that mean one of our variables.
ALIASES: dict[str, str] = {
    "customer_name": "name", "full_name": "name", "nickname": "name",
    "order": "order_id", "order_no": "order_id", "order_number": "order_id",
    "tracking": "tracking_no", "tracking_number": "tracking_no", "tracking_id": "tracking_no",
    "waybill": "tracking_no", "waybill_no": "tracking_no",
    "customer_tier": "tier", "vip_level": "tier", "level": "tier",
    "product_name": "product", "refund_amount": "amount",
}  # fmt: skip

_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ID = re.compile(r"[a-z0-9][a-z0-9_.-]*")
_CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class Placeholder:
    name: str


class InvalidReply(Invalid):
    """A reply that cannot be built; ``field`` and ``offset`` (into the body) locate the problem."""

    field: str

    def __init__(self, message: str, field: str, offset: int | None = None) -> None:
        super().__init__(message, field=field)
        self.offset = offset


def parse_template(body: str) -> tuple[str | Placeholder, ...]:
    """Split a body into text and `{variable}` placeholders; `{{`/`}}` are literal braces."""
    parts: list[str | Placeholder] = []
    text: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if body.startswith("{{", i) or body.startswith("}}", i):
            text.append(char)
            i += 2
        elif char == "}":
            raise InvalidReply("unbalanced '}' (write '}}' for a literal brace)", "body", i)
        elif char == "{":
            end = body.find("}", i + 1)
            reopen = body.find("{", i + 1)
            if end == -1 or -1 < reopen < end:
                raise InvalidReply("unbalanced '{' (write '{{' for a literal brace)", "body", i)
            inner = body[i + 1 : end]
            name = inner.strip()
            if not _VARIABLE.fullmatch(name):
                raise InvalidReply(_bad_placeholder(inner), "body", i)
            if text:
                parts.append("".join(text))
                text = []
            parts.append(Placeholder(name))
            i = end + 1
        else:
            text.append(char)
            i += 1
    if text:
        parts.append("".join(text))
    return tuple(parts)


def _bad_placeholder(inner: str) -> str:
    if not inner.strip():
        return "empty placeholder '{}'"
    known = [n for n, labels in _LABELS.items() if inner.strip() in labels]
    guess = known[0] if known else re.sub(r"[\s\-]+", "_", inner.strip()).lower()
    hint = f" (did you mean {{{guess}}}?)" if _VARIABLE.fullmatch(guess) else ""
    return f"placeholder '{{{inner}}}' is not a variable name: use letters, digits and '_'{hint}"


@dataclass(frozen=True)
class ReplyTemplate:
    """A scripted reply; build with ``make_reply`` so variables always agree with the body."""

    id: str
    title: str
    body: str
    variables: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    language: Language = "zh-Hans"
    applies_to: tuple[str, ...] = ()  # keywords / example utterances for matching
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)  # per-reply labels

    @property
    def index_text(self) -> str:
        """Text a search index sees: the reply is found by its title, cues and body."""
        return "\n".join([self.title, *self.applies_to, self.body])


@dataclass(frozen=True)
class FilledReply:
    id: str
    title: str
    text: str
    missing_variables: tuple[str, ...] = ()


def make_reply(
    *,
    id: str,
    title: str,
    body: str,
    tags: Iterable[str] = (),
    language: str | None = None,
    variables: Iterable[str] | Mapping[str, str] | None = None,
    applies_to: Iterable[str] = (),
) -> ReplyTemplate:
    """Validate and build a reply; raises InvalidReply naming the field at fault."""
    if not _ID.fullmatch(id):
        raise InvalidReply(
            f"reply id '{id}' must be lower-case letters, digits, '-', '_' or '.'", "id"
        )
    if not title.strip():
        raise InvalidReply(f"reply '{id}' has no title", "title")
    if not body.strip():
        raise InvalidReply(f"reply '{id}' has no body", "body")
    lang = language_code(language) if language else detect_language(body)
    if lang is None:
        allowed = ", ".join(LANGUAGES)
        raise InvalidReply(f"reply '{id}': unknown language '{language}' ({allowed})", "language")
    used = tuple(dict.fromkeys(p.name for p in parse_template(body) if isinstance(p, Placeholder)))
    labels = dict(variables) if isinstance(variables, Mapping) else {}
    for name in variables or ():
        if not _VARIABLE.fullmatch(name):
            raise InvalidReply(f"reply '{id}': '{name}' is not a variable name", "variables")
        if name not in used:
            raise InvalidReply(
                f"reply '{id}': variable '{name}' is declared but the body has no {{{name}}}",
                "variables",
            )
    return ReplyTemplate(
        id=id,
        title=title.strip(),
        body=body.strip(),
        variables=used,
        tags=tuple(dict.fromkeys(t.strip() for t in tags if t.strip())),
        language=lang,
        applies_to=tuple(a.strip() for a in applies_to if a.strip()),
        labels={k: str(v).strip() for k, v in labels.items() if str(v).strip()},
    )


def language_code(name: str) -> Language | None:
    """Our language code for a name a knowledge manager may write (zh-CN, 繁體, English…)."""
    key = name.strip().replace("_", "-").casefold()
    return _LANGUAGE_NAMES.get(key)


def detect_language(text: str) -> Language:
    """A guess when a file does not say: no Han characters → en; Traditional forms → zh-Hant."""
    if not _CJK.search(text):
        return "en"
    return "zh-Hant" if _to_simplified(text) != text else "zh-Hans"


@functools.cache
def _converter() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def _to_simplified(text: str) -> str:
    return str(_converter().convert(text))


def variable_key(name: str) -> str:
    """A request field name as a variable: `orderId`, `Order-No` → order_id; aliases applied."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip())
    snake = re.sub(r"[\s\-]+", "_", snake).lower()
    return ALIASES.get(snake, snake)


def fill(template: ReplyTemplate, values: Mapping[str, object]) -> FilledReply:
    """Fill variables from request fields; unfilled ones show as 【订单号】 and are listed."""
    known: dict[str, str] = {}
    exact: dict[str, str] = {}
    for key, raw in values.items():
        value = "" if raw is None else str(raw).strip()
        if value:
            known.setdefault(variable_key(key), value)
            exact[key] = value
    known.update((k, v) for k, v in exact.items() if _VARIABLE.fullmatch(k))  # exact names win
    out: list[str] = []
    missing: list[str] = []
    for part in parse_template(template.body):
        if isinstance(part, str):
            out.append(part)
        elif part.name in known:
            out.append(known[part.name])
        else:
            out.append(placeholder_text(template, part.name))
            if part.name not in missing:
                missing.append(part.name)
    return FilledReply(template.id, template.title, "".join(out), tuple(missing))


def placeholder_text(template: ReplyTemplate, name: str) -> str:
    """What an agent sees for an unfilled variable: 【订单号】, 【訂單號】 or [order number]."""
    column = LANGUAGES.index(template.language)
    label = template.labels.get(name) or _LABELS.get(name, (name, name, name))[column]
    return f"[{label}]" if template.language == "en" else f"【{label}】"


# ---- YAML ---------------------------------------------------------------------------------

_REPLY_KEYS = ("id", "title", "body", "tags", "language", "variables", "applies_to")


def parse_replies_yaml(text: str, source: str) -> list[ReplyTemplate]:
    """Read a replies file (`version: 1`, `replies:` list); raises RuleFileError naming the line."""
    root = load(text, source)
    if root is None:
        raise RuleFileError(source, 1, "file is empty: expected 'version: 1' and a 'replies:' list")
    top = Fields(root, source, "the file", ("version", "replies"))
    check_version(top)
    items = top.get("replies")
    if items is None or not items.is_list:
        found = "nothing" if items is None else kind_of(items)
        raise top.error(items, f"'replies' must be a list of replies, not {found}")
    replies: list[ReplyTemplate] = []
    first_line: dict[str, int] = {}
    for number, item in enumerate(items.elements(), start=1):
        fields = Fields(item, source, f"reply {number}", _REPLY_KEYS)
        reply_id = fields.text("id", required=True)
        assert reply_id is not None
        fields.what = f"reply '{reply_id}'"
        _check_unique(reply_id, item.line, first_line, source)
        replies.append(_reply_from_yaml(fields, reply_id))
    return replies


def dump_replies_yaml(replies: Iterable[ReplyTemplate]) -> str:
    """Export replies in the import format; ``parse_replies_yaml`` reads back equal replies."""
    items = []
    for reply in replies:
        item: dict[str, object] = {"id": reply.id, "title": reply.title, "body": reply.body}
        if reply.tags:
            item["tags"] = list(reply.tags)
        item["language"] = reply.language
        if reply.labels:
            item["variables"] = {name: reply.labels.get(name, "") for name in reply.variables}
        if reply.applies_to:
            item["applies_to"] = list(reply.applies_to)
        items.append(item)
    return dump({"version": 1, "replies": items})


def _reply_from_yaml(fields: Fields, reply_id: str) -> ReplyTemplate:
    variables: list[str] | dict[str, str] | None = None
    declared = fields.get("variables")
    if declared is not None and declared.is_mapping:
        labels = Fields(declared, fields.source, f"{fields.what} variables", declared.items())
        variables = {k: labels.text(k) or "" for k in declared.items()}
    elif declared is not None:
        variables = list(fields.texts("variables"))
    try:
        return make_reply(
            id=reply_id,
            title=fields.text("title", required=True) or "",
            body=fields.text("body", required=True) or "",
            tags=_split(fields.texts("tags", allow_single=True), _TAG_SEPARATORS),
            language=fields.text("language"),
            variables=variables,
            applies_to=fields.texts("applies_to"),
        )
    except InvalidReply as exc:
        raise RuleFileError(fields.source, _yaml_line(fields, exc), str(exc)) from exc


def _yaml_line(fields: Fields, exc: InvalidReply) -> int:
    node = fields.get(exc.field) or fields.node
    if exc.offset is not None and node.style == "|" and node.raw is not None:
        # a literal block keeps its lines: point at the line inside the body
        return node.line + 1 + node.raw[: exc.offset].count("\n")
    return node.at


def _check_unique(reply_id: str, line: int, first_line: dict[str, int], source: str) -> None:
    if reply_id in first_line:
        raise RuleFileError(
            source,
            line,
            f"reply id '{reply_id}' is used twice (first at line {first_line[reply_id]})",
        )
    first_line[reply_id] = line


# ---- CSV ----------------------------------------------------------------------------------

_HEADERS = {
    "id": "id", "编号": "id", "編號": "id",
    "title": "title", "标题": "title", "標題": "title",
    "body": "body", "text": "body", "内容": "body", "內容": "body", "正文": "body",
    "回复": "body", "回覆": "body", "话术": "body", "話術": "body",
    "tags": "tags", "标签": "tags", "標籤": "tags",
    "language": "language", "lang": "language", "语言": "language", "語言": "language",
    "variables": "variables", "变量": "variables", "變數": "variables",
    "applies_to": "applies_to", "适用场景": "applies_to", "適用場景": "applies_to",
    "示例": "applies_to", "範例": "applies_to",
}  # fmt: skip
_IGNORED_HEADERS = {"notes", "note", "comment", "comments", "备注", "備註", "说明", "說明"}
_TAG_SEPARATORS = re.compile(r"[,，、;；]")
_CUE_SEPARATORS = re.compile(r"[|\n｜]")


def parse_replies_csv(text: str, source: str) -> list[ReplyTemplate]:
    """Read a replies sheet (title, body, tags, language, variables; Chinese headers too)."""
    text = text.removeprefix("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise RuleFileError(source, 1, "file is empty: expected a header row with title, body")
        columns = _columns(header, source)
        replies: list[ReplyTemplate] = []
        first_line: dict[str, int] = {}
        line = reader.line_num + 1
        for row in reader:
            if any(cell.strip() for cell in row):
                reply = _reply_from_row(row, columns, source, line)
                _check_unique(reply.id, line, first_line, source)
                replies.append(reply)
            line = reader.line_num + 1
    except csv.Error as exc:
        raise RuleFileError(source, reader.line_num, f"invalid CSV: {exc}") from exc
    return replies


def _columns(header: list[str], source: str) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, cell in enumerate(header):
        name = unicodedata.normalize("NFKC", cell).strip()
        key = _HEADERS.get(name.casefold())
        if key is None:
            if name.casefold() in _IGNORED_HEADERS or not name:
                continue
            raise RuleFileError(source, 1, f"unknown column '{name}'{suggest(name, _HEADERS)}")
        if key in columns:
            raise RuleFileError(source, 1, f"two columns mean '{key}'")
        columns[key] = index
    for required in ("title", "body"):
        if required not in columns:
            raise RuleFileError(source, 1, f"no '{required}' column (header row: {header})")
    return columns


def _reply_from_row(
    row: list[str], columns: dict[str, int], source: str, line: int
) -> ReplyTemplate:
    def cell(key: str) -> str:
        index = columns.get(key)
        return row[index].strip() if index is not None and index < len(row) else ""

    title = cell("title")
    if not title:
        raise RuleFileError(source, line, "row has no title")
    try:
        return make_reply(
            id=cell("id") or derived_id(title),
            title=title,
            body=cell("body"),
            tags=_split([cell("tags")], _TAG_SEPARATORS),
            language=cell("language") or None,
            variables=_split([cell("variables")], _TAG_SEPARATORS) or None,
            applies_to=_split([cell("applies_to")], _CUE_SEPARATORS),
        )
    except InvalidReply as exc:
        raise RuleFileError(source, line, str(exc)) from exc


def derived_id(title: str) -> str:
    """A stable id for a reply without one: a slug of a Latin title, else a hash of the title."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    if slug and title.isascii():
        return slug[:60]
    return "reply-" + hashlib.sha1(title.encode("utf-8")).hexdigest()[:8]


def _split(values: Iterable[str], separators: re.Pattern[str]) -> list[str]:
    return [part.strip() for value in values for part in separators.split(value) if part.strip()]
