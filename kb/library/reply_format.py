"""Scripted replies' file formats: YAML (with line-accurate errors, written back) and CSV sheets."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable

from kb.errors import N_, Message
from kb.library.replies import InvalidReply, ReplyTemplate, derived_id, make_reply
from kb.library.rulefile import Fields, RuleFileError, check_unique, dump, read_items, suggest

_REPLY_KEYS = ("id", "title", "body", "tags", "language", "variables", "applies_to")


def parse_replies_yaml(text: str, source: str) -> list[ReplyTemplate]:
    """Read a replies file (`version: 1`, `replies:` list); raises RuleFileError naming the line."""
    return [
        _reply_from_yaml(fields, reply_id)
        for fields, reply_id in read_items(text, source, "replies", "reply", _REPLY_KEYS)
    ]


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
        labels = Fields(
            declared, fields.source, Message("{what} variables", what=fields.what), declared.items()
        )
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
        raise RuleFileError(fields.source, _yaml_line(fields, exc), exc.message) from exc


def _yaml_line(fields: Fields, exc: InvalidReply) -> int:
    node = fields.get(exc.field) or fields.node
    if exc.offset is not None and node.style == "|" and node.raw is not None:
        # a literal block keeps its lines: point at the line inside the body
        return node.line + 1 + node.raw[: exc.offset].count("\n")
    return node.at


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
            raise RuleFileError(
                source, 1, N_("file is empty: expected a header row with title, body")
            )
        columns = _columns(header, source)
        replies: list[ReplyTemplate] = []
        first_line: dict[str, int] = {}
        line = reader.line_num + 1
        for row in reader:
            if any(cell.strip() for cell in row):
                reply = _reply_from_row(row, columns, source, line)
                check_unique("reply", reply.id, line, first_line, source)
                replies.append(reply)
            line = reader.line_num + 1
    except csv.Error as exc:
        invalid = Message("invalid CSV: {detail}", detail=exc)
        raise RuleFileError(source, reader.line_num, invalid) from exc
    return replies


def _columns(header: list[str], source: str) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, cell in enumerate(header):
        name = unicodedata.normalize("NFKC", cell).strip()
        key = _HEADERS.get(name.casefold())
        if key is None:
            if name.casefold() in _IGNORED_HEADERS or not name:
                continue
            unknown = Message(
                "unknown column '{name}'{hint}", name=name, hint=suggest(name, _HEADERS)
            )
            raise RuleFileError(source, 1, unknown)
        if key in columns:
            raise RuleFileError(source, 1, Message("two columns mean '{key}'", key=key))
        columns[key] = index
    for required in ("title", "body"):
        if required not in columns:
            missing = Message(
                "no '{column}' column (header row: {header})", column=required, header=header
            )
            raise RuleFileError(source, 1, missing)
    return columns


def _reply_from_row(
    row: list[str], columns: dict[str, int], source: str, line: int
) -> ReplyTemplate:
    def cell(key: str) -> str:
        index = columns.get(key)
        return row[index].strip() if index is not None and index < len(row) else ""

    title = cell("title")
    if not title:
        raise RuleFileError(source, line, N_("row has no title"))
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
        raise RuleFileError(source, line, exc.message) from exc


def _split(values: Iterable[str], separators: re.Pattern[str]) -> list[str]:
    return [part.strip() for value in values for part in separators.split(value) if part.strip()]
