"""JSON and JSONL records: pre-cut corpus passages ({id, title, text}) or FAQ pairs."""

from __future__ import annotations

import json
from typing import Any

from ingest.encoding import decode_text
from ingest.loaders.faq import Columns, faq_blocks, find_columns
from ingest.model import Block, IngestError, LoadedDocument

_WRAPPER_KEYS = ("faqs", "faq", "items", "data", "records", "passages", "questions")
_TEXT_KEYS = ("text", "content", "passage", "body")


_TOO_DEEP = "JSON nested too deeply (over about 1 000 levels of arrays or objects)"


def _jsonl_records(text: str) -> list[tuple[int, Any]]:
    records = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            records.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            raise IngestError("", f"line {number} is not valid JSON: {exc.msg}") from exc
        except RecursionError as exc:
            raise IngestError("", f"line {number}: {_TOO_DEEP}") from exc
    return records


def _json_records(text: str) -> list[tuple[int, Any]]:
    try:
        value = json.loads(text)
    except RecursionError as exc:  # the decoder recurses once per level
        raise IngestError("", _TOO_DEEP) from exc
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":
            return _jsonl_records(text)  # JSON Lines saved as .json
        raise IngestError(
            "", f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc
    if isinstance(value, dict):
        key = next((k for k in _WRAPPER_KEYS if isinstance(value.get(k), list)), None)
        if key is None:
            raise IngestError(
                "",
                "JSON must be a list of objects or an object with a list under one of: "
                + ", ".join(_WRAPPER_KEYS),
            )
        value = value[key]
    if not isinstance(value, list):
        raise IngestError("", "JSON must be a list of objects")
    return [(n, item) for n, item in enumerate(value, start=1)]


def _keys(records: list[tuple[int, Any]]) -> list[str]:
    keys: dict[str, None] = {}
    for number, record in records:
        if not isinstance(record, dict):
            raise IngestError("", f"record {number} is not a JSON object")
        keys.update(dict.fromkeys(str(k) for k in record))
    return list(keys)


def _passages(records: list[tuple[int, Any]], text_key: str) -> tuple[list[Block], list[str]]:
    blocks: list[Block] = []
    empty: list[int] = []
    seen: set[str] = set()
    duplicates: list[str] = []
    for number, record in records:
        if record.get("id") in (None, ""):
            raise IngestError("", f"record {number} has no 'id'")
        external_id = str(record["id"])
        text = str(record.get(text_key) or "").replace("\r\n", "\n").strip()
        if not text:
            empty.append(number)
            continue
        if external_id in seen:
            duplicates.append(external_id)
        seen.add(external_id)
        title = str(record.get("title") or "").strip() or None
        blocks.append(Block(text, kind="passage", external_id=external_id, title=title))
    warnings = []
    if empty:
        shown = ", ".join(map(str, empty[:20])) + (", …" if len(empty) > 20 else "")
        warnings.append(f"{len(empty)} records skipped: empty text ({shown})")
    if duplicates:
        warnings.append(f"duplicate ids: {', '.join(duplicates[:20])}")
    return blocks, warnings


def load_records(data: bytes, lines: bool) -> LoadedDocument:
    """JSON (``lines=False``) or JSONL: FAQ when question/answer keys exist, else a corpus."""
    text, encoding = decode_text(data)
    records = _jsonl_records(text) if lines else _json_records(text)
    keys = _keys(records)
    columns = find_columns(keys)
    if columns is not None:
        q, a = keys[columns.question], keys[columns.answer]
        s = keys[columns.similar] if columns.similar is not None else None
        rows = [(n, [r.get(q), r.get(a), r.get(s) if s else None]) for n, r in records]
        blocks, warnings = faq_blocks(rows, Columns(0, 1, 2 if s else None))
        return LoadedDocument(blocks=blocks, format="faq", encoding=encoding, warnings=warnings)
    text_key = next((k for k in _TEXT_KEYS if k in keys), None)
    if "id" in keys and text_key is not None:
        blocks, warnings = _passages(records, text_key)
        return LoadedDocument(blocks=blocks, format="corpus", encoding=encoding, warnings=warnings)
    found = ", ".join(f"'{k}'" for k in keys[:12]) or "none"
    raise IngestError(
        "",
        f"JSON records need 'question' and 'answer' keys (FAQ) or 'id' and 'text' keys "
        f"(corpus); keys found: {found}",
    )
