"""FAQ sheets (CSV, XLSX, JSON records): one ``faq`` block per question/answer row."""

from __future__ import annotations

import csv
import datetime as dt
import io
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import openpyxl

from ingest.encoding import decode_text
from ingest.loaders._package import check_package
from ingest.model import Block, IngestError, LoadedDocument

# In order of preference when a sheet has several matching columns.
QUESTION_NAMES = (
    "标准问题", "標準問題", "question", "questions", "常见问题", "常見問題", "问题", "問題",
    "q", "问", "問", "title", "标题", "標題",
)  # fmt: skip
ANSWER_NAMES = (
    "标准答案", "標準答案", "answer", "answers", "答案", "回答", "答复", "答覆", "回复", "回覆",
    "reply", "response", "a", "答",
)  # fmt: skip
SIMILAR_NAMES = (
    "相似问题", "相似問題", "相似问法", "相似問法", "similar", "similarquestions",
    "similarquestion", "扩展问题", "擴展問題",
)  # fmt: skip
_HEADER_ROWS = 5  # a title line or two may sit above the header row
_SHOWN_ROWS = 20


@dataclass(frozen=True)
class Columns:
    """Positions (or keys) of the question, answer and optional similar-questions columns."""

    question: int
    answer: int
    similar: int | None


def header_key(name: object) -> str:
    """Header as compared: NFKC, trimmed, lower-case, no spaces, underscores or trailing colon."""
    text = unicodedata.normalize("NFKC", str(name or "")).strip().lower()
    text = text.rstrip(":*").lstrip("*")
    return "".join(ch for ch in text if not ch.isspace() and ch not in "_-")


def _pick(keys: list[str], names: Sequence[str], taken: set[int]) -> int | None:
    for name in names:
        for i, key in enumerate(keys):
            if key == name and i not in taken:
                return i
    return None


def find_columns(headers: Sequence[object]) -> Columns | None:
    """Question/answer columns by header name, or None when either is missing."""
    keys = [header_key(h) for h in headers]
    question = _pick(keys, QUESTION_NAMES, set())
    if question is None:
        return None
    answer = _pick(keys, ANSWER_NAMES, {question})
    if answer is None:
        return None
    similar = _pick(keys, SIMILAR_NAMES, {question, answer})
    return Columns(question, answer, similar)


def cell_text(value: object) -> str:
    """Spreadsheet value as text: 3.0 → "3", dates in ISO form, None → ""."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value).replace("\r\n", "\n").strip()


def _row_list(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:_SHOWN_ROWS])
    return shown + (", …" if len(numbers) > _SHOWN_ROWS else "")


def faq_blocks(
    rows: Iterable[tuple[int, Sequence[object]]], columns: Columns
) -> tuple[list[Block], list[str]]:
    """One ``faq`` block per complete row; warnings count rows without question or answer."""
    blocks: list[Block] = []
    skipped: dict[str, list[int]] = {"empty question": [], "empty answer": []}
    for number, row in rows:
        cells = [cell_text(v) for v in row]
        if not any(cells):
            continue

        def get(i: int | None, cells: list[str] = cells) -> str:
            return cells[i] if i is not None and i < len(cells) else ""

        question, answer, similar = get(columns.question), get(columns.answer), get(columns.similar)
        if not question:
            skipped["empty question"].append(number)
            continue
        if not answer:
            skipped["empty answer"].append(number)
            continue
        if similar:
            question = f"{question}\n{similar}"
        blocks.append(Block(answer, kind="faq", question=question, answer=answer))
    warnings = [
        f"{len(numbers)} row{'s' if len(numbers) > 1 else ''} skipped: {reason} "
        f"(row{'s' if len(numbers) > 1 else ''} {_row_list(numbers)})"
        for reason, numbers in skipped.items()
        if numbers
    ]
    return blocks, warnings


def _no_header(headers: list[list[str]]) -> IngestError:
    seen = [h for row in headers for h in row if h][:12]
    found = ", ".join(f"'{h}'" for h in seen) if seen else "none"
    return IngestError(
        "",
        f"no question/answer columns found (headers seen: {found}); "
        "name them e.g. 'question' and 'answer', or 问题 and 答案",
    )


def _from_table(rows: list[list[object]], fmt_encoding: str | None) -> LoadedDocument:
    """Find the header row among the first rows and read the rest as FAQ rows."""
    tried: list[list[str]] = []
    for index, row in enumerate(rows[:_HEADER_ROWS]):
        columns = find_columns(row)
        if columns is not None:
            body = [(index + 2 + n, r) for n, r in enumerate(rows[index + 1 :])]
            blocks, warnings = faq_blocks(body, columns)
            return LoadedDocument(
                blocks=blocks, format="faq", encoding=fmt_encoding, warnings=warnings
            )
        tried.append([cell_text(v) for v in row])
    raise _no_header(tried)


def load_csv(data: bytes) -> LoadedDocument:
    """A CSV/TSV FAQ sheet in any supported encoding; the delimiter is sniffed."""
    text, encoding = decode_text(data)
    sample = text[:8192]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",\t;|")
    except csv.Error:
        first = sample.split("\n", 1)[0]
        dialect = csv.excel_tab if first.count("\t") > first.count(",") else csv.excel
    try:
        rows: list[list[object]] = [list(r) for r in csv.reader(io.StringIO(text), dialect)]
    except csv.Error as exc:
        raise IngestError("", f"the CSV file is malformed: {exc}") from exc
    return _from_table(rows, encoding)


def load_xlsx(data: bytes) -> LoadedDocument:
    """The first worksheet whose header names a question and an answer column."""
    check_package(data, "Excel (XLSX)")
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    tried: list[list[str]] = []
    try:
        for sheet in workbook.worksheets:
            head = [list(r) for r in sheet.iter_rows(max_row=_HEADER_ROWS, values_only=True)]
            for index, row in enumerate(head):
                columns = find_columns(row)
                if columns is None:
                    tried.append([cell_text(v) for v in row])
                    continue
                body = sheet.iter_rows(min_row=index + 2, values_only=True)
                numbered = ((index + 2 + n, r) for n, r in enumerate(body))
                blocks, warnings = faq_blocks(numbered, columns)
                if sheet is not workbook.worksheets[0]:
                    warnings.insert(0, f"read sheet '{sheet.title}' (earlier sheets had no FAQ)")
                return LoadedDocument(blocks=blocks, format="faq", warnings=warnings)
    finally:
        workbook.close()
    raise _no_header(tried)
