"""The bundled sample knowledge base: manifest consistent with its files, FAQ sheets well formed."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

import opencc
import pytest
import yaml

SAMPLE = Path(__file__).resolve().parents[1] / "kb" / "sample"
TYPES = {"manual", "faq", "policy", "reply"}
LANGUAGES = {"zh-Hans", "zh-Hant", "en"}
PRODUCTS = {"X1", "Air", None}
ENTRY_KEYS = {
    "path",
    "collection",
    "type",
    "tags",
    "product",
    "language",
    "title",
    "valid_from",
    "valid_to",
}
# The sample is embedded in CI at ~12 chunks/s; this keeps it near 150-250 chunks.
MAX_DOCUMENT_CHARS = 30_000


def _manifest() -> dict[str, Any]:
    loaded = yaml.safe_load((SAMPLE / "manifest.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


ENTRIES: list[dict[str, Any]] = _manifest()["documents"]


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["path"] for e in ENTRIES])
def test_manifest_entry_is_complete_and_points_to_a_file(entry: dict[str, Any]) -> None:
    assert set(entry) == ENTRY_KEYS
    assert (SAMPLE / entry["path"]).is_file()
    assert entry["collection"] == "default"
    assert entry["type"] in TYPES
    assert entry["language"] in LANGUAGES
    assert entry["product"] in PRODUCTS
    assert entry["title"].strip()
    assert entry["tags"]
    assert all(isinstance(t, str) and t for t in entry["tags"])
    for key in ("valid_from", "valid_to"):
        assert entry[key] is None or isinstance(entry[key], dt.date)
    if entry["valid_from"] and entry["valid_to"]:
        assert entry["valid_from"] <= entry["valid_to"]


def test_manifest_paths_are_unique() -> None:
    paths = [e["path"] for e in ENTRIES]
    assert len(paths) == len(set(paths))


@pytest.mark.parametrize("folder", ["manuals", "faq", "policies"])
def test_every_sample_document_is_listed(folder: str) -> None:
    listed = {e["path"] for e in ENTRIES}
    on_disk = {
        p.relative_to(SAMPLE).as_posix() for p in (SAMPLE / folder).rglob("*") if p.is_file()
    }
    assert on_disk
    assert on_disk - listed == set()


@pytest.mark.parametrize("key", ["replies", "escalation_rules"])
def test_rule_files_are_relative_yaml_paths_inside_the_sample(key: str) -> None:
    path = Path(_manifest()[key])
    assert not path.is_absolute()
    assert ".." not in path.parts
    assert path.suffix == ".yaml"


def test_sample_has_an_expired_policy_for_validity_filtering() -> None:
    today = dt.date.today()
    expired = [e for e in ENTRIES if e["valid_to"] is not None and e["valid_to"] < today]
    assert [e["type"] for e in expired] == ["policy"]


def test_sample_stays_within_the_embedding_budget() -> None:
    total = sum(len((SAMPLE / e["path"]).read_text(encoding="utf-8")) for e in ENTRIES)
    assert total <= MAX_DOCUMENT_CHARS


@pytest.mark.parametrize(
    ("path", "header", "min_rows"),
    [
        ("faq/policy-faq-zh.csv", ["问题", "答案", "标签"], 30),
        ("faq/policy-faq-en.csv", ["question", "answer", "tags"], 12),
    ],
)
def test_faq_sheet_parses_with_header_and_no_empty_cells(
    path: str, header: list[str], min_rows: int
) -> None:
    with (SAMPLE / path).open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == header
    body = rows[1:]
    assert len(body) >= min_rows
    for row in body:
        assert len(row) == len(header), row
        assert all(cell.strip() for cell in row), row
    questions = [row[0] for row in body]
    assert len(questions) == len(set(questions))


def test_traditional_faq_is_json_lines_in_taiwan_wording() -> None:
    lines = (SAMPLE / "faq/policy-faq-zh-hant.jsonl").read_text(encoding="utf-8").splitlines()
    pairs = [json.loads(line) for line in lines]
    assert len(pairs) >= 10
    to_taiwan = opencc.OpenCC("s2twp")
    for pair in pairs:
        assert set(pair) == {"question", "answer"}
        for text in pair.values():
            assert text.strip()
            # Converting to Taiwan phrasing changes nothing only if the text already uses it.
            assert to_taiwan.convert(text) == text
