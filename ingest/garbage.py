"""Find garbled runs that anti-scraping encodings leave in copied text (``x7Kq``, ``ㄅ7xQ``).

Sites hide random characters between the visible ones; a copy keeps them. No word list can
know them, but their character statistics give them away: within a run without spaces,
punctuation or a stretch of ordinary CJK, the script class (lower, upper, digit, symbol, rare
CJK such as radicals, strokes, bopomofo, Extension A) changes almost every character, where a
real token changes at most once or twice (``iPhone15``, ``WeChat``, ``COVID``, ``A123``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Never text: private-use glyphs of obfuscation fonts, the replacement character, controls.
_NEVER_TEXT_RE = re.compile("[\ue000-\uf8ff\ufffd\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_COMMON_CJK = re.compile("[\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff]")
# Blocks a Chinese page's text rarely uses, but which obfuscation draws from.
_RARE = re.compile(
    "[\u2e80-\u2fff\u3100-\u312f\u3130-\u318f\u31a0-\u31ef\u3400-\u4dbf\ua000-\ua4cf"
    "\U00020000-\U0003134f]"
)
_SYMBOL = set("#$%&*+=@^_`|~\\")
_LOWER_RE = re.compile("[a-z]")
_UPPER_RE = re.compile("[A-Z]")
# A run is delimited by spaces, punctuation, and stretches of 3+ ordinary CJK characters.
_RUN_RE = re.compile(
    r"(?:[A-Za-z0-9#$%&*+=@^_`|~\\]|[\u2e80-\u2fff\u3100-\u318f\u31a0-\u31ef\u3400-\u4dbf"
    "\ua000-\ua4cf\U00020000-\U0003134f]|[\u4e00-\u9fff\uf900-\ufaff]{1,2}(?![\u4e00-\u9fff\uf900-\ufaff]))++"
)  # possessive: nothing follows the run, and a backtracking mark per character of a 10 MB run
# would take gigabytes
# How real Latin tokens are built: a number with its unit, a word with its number, a word in
# lower, upper, title or camel case, a unit such as mA, iOS, kWh.
_NATURAL_RE = re.compile(
    r"^(?:\d+(?:\.\d+)?[A-Za-z]{1,4}|[A-Za-z][a-z]*(?:[A-Z][a-z]*)*\d{0,4}(?:\.\d+)?"
    r"|[A-Z]+[a-z]{0,2}\d{0,4}|[a-z]{1,2}[A-Z]{1,4}[a-z]{0,2})$"
)
# An address starts where its run of name characters starts: tried from every position of a long
# run (10 MB of "aaaa…"), the name part would rescan the rest of the run each time (quadratic).
_URL_RE = re.compile(r"(?:https?://|www\.)\S+|(?<![\w.+-])[\w.+-]+@[\w-]+\.[\w.]+", re.IGNORECASE)
_STRONG = 4  # class changes in one run that no real token makes
# Capitals and digits alone make codes (B2B2C, A4, 5G); only long alternation is garbage.
_ALTERNATING = 8
_LONG = 16
_WEAK = 3  # class changes a real token can make (IPv6), taken as garbage only beside strong ones
_RATIO = 0.6


def _cls(ch: str) -> str:
    if ch.islower() and ch.isascii():
        return "l"
    if ch.isupper() and ch.isascii():
        return "u"
    if ch.isdigit() and ch.isascii():
        return "d"
    if ch in _SYMBOL:
        return "s"
    return "r"  # rare CJK; each one counts on its own


def _segments(part: str) -> int:
    """Pieces of a non-CJK stretch; a capital followed by small letters is one (``Chat``)."""
    count, prev = 0, ""
    for ch in part:
        c = _cls(ch)
        if c == "r" or (c != prev and not (prev == "u" and c == "l")):
            count += 1
        prev = c
    return count


@dataclass(frozen=True)
class Run:
    """A candidate run in a line: where it is and how many class changes it makes."""

    start: int
    end: int
    changes: int
    length: int
    plain: bool = False  # letters and digits only, no symbol or CJK inside

    @property
    def strength(self) -> int:
        """2 for certain garbage, 1 for probable, 0 for a real token."""
        long = self.plain and self.length >= _LONG
        if long and self.changes >= 2 * _STRONG and self.changes / self.length >= 0.4:
            return 2  # a long random token: capitals in runs lower the rate, not the count
        if self.length < 4 or self.changes / self.length < _RATIO:
            return 0
        return 2 if self.changes >= _STRONG else 1 if self.changes >= _WEAK else 0


def garbage_runs(text: str) -> list[Run]:
    """Runs that mix lower-case letters with capitals, symbols or rare CJK, scored."""
    masked = _URL_RE.sub(lambda m: " " * len(m.group(0)), text)
    runs = []
    for m in _RUN_RE.finditer(masked):
        run = m.group(0)
        has_lower = _LOWER_RE.search(run) is not None
        # Random case is the mark; hashes and prices ("md5=77c6", "$500k") are lower-case.
        mixed = _UPPER_RE.search(run) is not None or _RARE.search(run) is not None
        codes = run.isalnum() and not has_lower  # capitals and digits only
        if not (has_lower and mixed) and not codes:
            continue  # counting class changes (a loop per character) cannot make it garbage
        changes = length = 0
        for part in _non_cjk_parts(run):
            changes += _segments(part)
            length += len(part)
        if (has_lower and mixed) or (codes and changes >= _ALTERNATING):
            plain = run.isascii() and run.isalnum()
            runs.append(Run(m.start(), m.end(), changes, length, plain))
    return runs


def _non_cjk_parts(run: str) -> list[str]:
    # Numbers and ranges ("0~9") and tokens of a natural shape ("1mA", "iPhone15", "kWh")
    # between CJK characters are text, not noise.
    parts = [p for p in _COMMON_CJK.split(run) if p]
    return [p for p in parts if any(c.isalpha() for c in p) and not _NATURAL_RE.match(p)]


def _strip_run(run: str) -> str:
    """Keep the ordinary CJK characters of a garbled run (the visible text around the noise)."""
    kept = []
    for piece in re.split(f"({_COMMON_CJK.pattern}+)", run):
        if _COMMON_CJK.match(piece):
            kept.append(piece)
    return "".join(kept)


def remove_never_text(text: str) -> str:
    """Drop private-use, replacement and control characters."""
    return _NEVER_TEXT_RE.sub("", text)


def strip_garbage(text: str, *, weak: bool = False) -> str:
    """Remove certain garbled runs, and probable ones too when ``weak`` (the page has others)."""
    runs = [r for r in garbage_runs(text) if r.strength >= (1 if weak else 2)]
    for r in reversed(runs):
        text = text[: r.start] + _strip_run(text[r.start : r.end]) + text[r.end :]
    return text


def garbage_evidence(texts: list[str]) -> bool:
    """True when a document carries obfuscation noise: one certain run or three probable ones."""
    strengths = [r.strength for t in texts for r in garbage_runs(remove_never_text(t))]
    return 2 in strengths or strengths.count(1) >= 3
