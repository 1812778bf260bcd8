"""Messy web pages with their expected clean content, and how much cleaning lost or kept.

Pages live in ``messy/`` as ``<name>.txt`` beside ``<name>.expected.txt``; ``messy/heldout/``
holds pages kept out of development. The shared samples get their expected content from
``messy/shared.json`` (which of their lines are boilerplate).
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ingest.cleaning import clean_blocks, strip_pinyin
from ingest.loaders.text import load_text

HERE = Path(__file__).resolve().parent / "messy"
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "samples" / "messy"
_NGRAM = 8  # characters of letters/digits that must match for text to count as present


@dataclass(frozen=True)
class Page:
    """One messy page: its bytes, the content a perfect cleaner keeps, and where it came from."""

    name: str
    data: bytes
    expected: list[str]
    group: str  # "shared", "dev" or "heldout"


def _own_pages(folder: Path, group: str) -> list[Page]:
    return [
        Page(
            path.stem,
            path.read_bytes(),
            path.with_suffix(".expected.txt").read_text(encoding="utf-8").splitlines(),
            group,
        )
        for path in sorted(folder.glob("*.txt"))
        if not path.name.endswith(".expected.txt")
    ]


def _shared_pages() -> list[Page]:
    spec = json.loads((HERE / "shared.json").read_text(encoding="utf-8"))
    pages = []
    for name, ranges in spec.items():
        if name.startswith("_"):
            continue
        data = (SHARED / name).read_bytes()
        lines = data.decode("utf-8").splitlines()
        boiler = {n for lo, hi in ranges for n in range(lo, hi + 1)}
        expected = [strip_pinyin(t) for n, t in enumerate(lines, 1) if n not in boiler]
        pages.append(Page(name.removesuffix(".txt"), data, expected, "shared"))
    return pages


def all_pages() -> list[Page]:
    """Shared samples, development pages, held-out pages — in that order."""
    return [*_shared_pages(), *_own_pages(HERE, "dev"), *_own_pages(HERE / "heldout", "heldout")]


def cleaned(page: Page) -> list[str]:
    """The page through the plain-text loader and the full cleaning, one string per block."""
    return [b.text for b in clean_blocks(load_text(page.data).blocks)]


def key(text: str) -> str:
    """Letters and digits only, NFKC and lower-case: what counts when comparing content."""
    return "".join(c for c in unicodedata.normalize("NFKC", text).lower() if c.isalnum())


def _uncovered(part: str, whole: str, grams: set[str]) -> int:
    """Characters of ``part`` found in ``whole`` neither as a whole nor by any n-gram."""
    if not part or part in whole:
        return 0
    if len(part) < _NGRAM:
        return len(part)
    covered = [False] * len(part)
    for i in range(len(part) - _NGRAM + 1):
        if part[i : i + _NGRAM] in grams:
            covered[i : i + _NGRAM] = [True] * _NGRAM
    return covered.count(False)


def _grams(text: str) -> set[str]:
    return {text[i : i + _NGRAM] for i in range(len(text) - _NGRAM + 1)}


@dataclass(frozen=True)
class Score:
    """Characters (letters and digits) of content lost and of boilerplate kept on one page."""

    content_chars: int
    lost: int
    kept_boilerplate: int
    kept_repeats: int


def score(expected: list[str], output: list[str]) -> Score:
    """Compare cleaned blocks with the expected lines; a repeated long block counts as kept."""
    out_key = "".join(key(t) for t in output)
    exp_key = "".join(key(t) for t in expected)
    out_grams, exp_grams = _grams(out_key), _grams(exp_key)
    lost = sum(_uncovered(key(t), out_key, out_grams) for t in expected)
    kept = sum(_uncovered(key(t), exp_key, exp_grams) for t in output)
    seen: set[str] = set()
    repeats = 0
    for t in output:
        k = key(t)
        if len(k) >= 24 and k in seen:
            repeats += len(k)
        seen.add(k)
    return Score(len(exp_key), lost, kept, repeats)
