"""Corpus JSONL ({id, title, text} per line): one passage block per line, ids kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.loaders import load_document
from ingest.model import IngestError

BENCH = Path(__file__).resolve().parents[2].parent / "shared" / "bench" / "data"


def test_bench_corpus_lines_become_passages() -> None:
    with (BENCH / "drcd_zh_hant" / "corpus.jsonl").open("rb") as f:
        lines = [next(f) for _ in range(5)]
    doc = load_document("corpus.jsonl", b"".join(lines))
    records = [json.loads(line) for line in lines]
    assert doc.format == "corpus"
    assert [(b.kind, b.external_id, b.title, b.text) for b in doc.blocks] == [
        ("passage", r["id"], r["title"] or None, r["text"]) for r in records
    ]


@pytest.mark.parametrize(
    ("filename", "data", "expected", "warnings"),
    [
        pytest.param(
            "c.jsonl",
            b'{"id": 7, "title": "", "text": "alpha"}\n{"id": "b", "text": "  "}\n',
            [("7", None, "alpha")],
            ["1 records skipped: empty text (2)"],
            id="numeric-id-and-empty-text",
        ),
        pytest.param(
            "c.json",
            json.dumps([{"id": "x", "title": "T", "text": "body"}]).encode(),
            [("x", "T", "body")],
            [],
            id="json-array",
        ),
        pytest.param(
            "c.json",
            b'{"id": "a", "text": "one"}\n{"id": "a", "text": "two"}\n',
            [("a", None, "one"), ("a", None, "two")],
            ["duplicate ids: a"],
            id="jsonl-saved-as-json",
        ),
    ],
)
def test_corpus_records(
    filename: str, data: bytes, expected: list[tuple[str, str | None, str]], warnings: list[str]
) -> None:
    doc = load_document(filename, data)
    assert [(b.external_id, b.title, b.text) for b in doc.blocks] == expected
    assert doc.warnings == warnings


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"id": "a", "text": "ok"}\n{"id": "b", "text": \n', "line 2 is not valid JSON"),
        (b'{"id": "a", "text": "ok"}\n[1, 2]\n', "record 2 is not a JSON object"),
        (b'{"name": "a", "body2": "ok"}\n', "keys found: 'name', 'body2'"),
        (b'{"text": "no id"}\n{"id": "b", "text": "ok"}\n', "record 1 has no 'id'"),
    ],
)
def test_bad_corpus_lines(data: bytes, reason: str) -> None:
    with pytest.raises(IngestError) as info:
        load_document("corpus.jsonl", data)
    assert reason in info.value.reason
