"""Clean loader blocks: entity debris, garbled runs, pinyin, boilerplate, broken wraps, repeats."""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections import Counter
from dataclasses import replace

from ingest.boilerplate import SENTENCE_END, remove_boilerplate
from ingest.entities import decode_entities
from ingest.garbage import garbage_evidence, remove_never_text, strip_garbage
from ingest.model import Block
from ingest.near import NearBuckets, band_keys

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RE = re.compile(f"[{_CJK}]")

# --- whitespace ---------------------------------------------------------------------------

_INVISIBLE_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_SPACES_RE = re.compile(r"[ \t\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]+")


def normalize_whitespace(text: str) -> str:
    """Strip zero-width characters, turn NBSP and ideographic spaces into spaces, collapse runs.

    Line breaks inside a block survive (one per line, no blank lines): they carry meaning in
    addresses and table cells.
    """
    text = _INVISIBLE_RE.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    lines = (_SPACES_RE.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def clean_whitespace(blocks: list[Block]) -> list[Block]:
    """Whitespace-only cleaning (for FAQ sheets and corpora, whose text is already curated)."""
    out = []
    for b in blocks:
        text = normalize_whitespace(b.text)
        question = normalize_whitespace(b.question) if b.question is not None else None
        answer = normalize_whitespace(b.answer) if b.answer is not None else None
        if text or answer:
            out.append(replace(b, text=text, question=question, answer=answer))
    return out


# --- pinyin annotations -------------------------------------------------------------------

# Web copies of Traditional texts often carry a reading after each rare character:
# 團(tuán)隊(duì). We remove a parenthesised *single* syllable that directly follows a letter and
# carries a tone (mark or digit), so (VIP), (AI), (如技術) and (3) are left alone. The letter
# is usually CJK, but mis-decoded pages turn the annotated character into Latin debris
# ("头F(tuán)"), and a toned syllable in brackets is never content on its own.
_PINYIN_RE = re.compile(
    r"(?<=[^\W\d_])\s?[(（]\s*([a-zA-ZāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüÜêÊ]{1,7}[1-5]?)\s*[)）]"
)
_SYLLABLE_RE = re.compile(
    r"^(?:(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?"
    r"(?:iang|iong|uang|ang|eng|ing|ong|ian|iao|uai|uan|van|ai|an|ao|ei|en|er|ia|ie|in|iu|ou"
    r"|ua|ue|ui|un|uo|ve|vn|a|e|i|o|u|v)|ng|hng|hm|m|n|ê)$"
)
_TONE_MARKS = "\u0304\u0301\u030c\u0300"


def _syllable(word: str) -> tuple[bool, bool]:
    """Whether ``word`` is a pinyin syllable, and whether it carries a tone."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    toned = any(m in decomposed for m in _TONE_MARKS) or word[-1:] in tuple("12345")
    base = "".join(c for c in decomposed if c not in _TONE_MARKS).rstrip("12345")
    base = unicodedata.normalize("NFC", base).replace("ü", "v")
    return bool(base and _SYLLABLE_RE.match(base)), toned


def is_pinyin_syllable(word: str) -> bool:
    """True for one toned pinyin syllable: ``tuán``, ``duì``, ``lǜ``, ``tuan2``."""
    syllable, toned = _syllable(word)
    return syllable and toned


def is_pinyin_line(text: str) -> bool:
    """A line of readings printed over a title (``zài xiàn kè fú``): syllables, most toned."""
    words = [w for w in (w.strip(".,;:!?'\"()") for w in text.split()) if w]
    if len(words) < 2:
        return False
    toned = 0
    for word in words:  # most lines fail on their first word: stop there
        syllable, has_tone = _syllable(word)
        if not syllable:
            return False
        toned += has_tone
    return toned * 2 >= len(words)


def strip_pinyin(text: str) -> str:
    """Remove pinyin readings after characters: ``團(tuán)隊(duì)`` → ``團隊``."""
    return _PINYIN_RE.sub(lambda m: "" if is_pinyin_syllable(m.group(1)) else m.group(0), text)


# --- broken line wraps --------------------------------------------------------------------

# A line holding only an enumerator ("1.", "一、", "（二）") lost its title to a line break.
_MARKER_ONLY_RE = re.compile(
    r"^(?:\d{1,2}(?:\.\d{1,2})+|\d{1,2}[.、．]|[一二三四五六七八九十]+、|[（(][一二三四五六七八九十\d]{1,3}[)）]"
    r"|第[0-9一二三四五六七八九十]+[章节部分篇])$"
)
_STARTS_LIKE_HEADING_RE = re.compile(
    r"^(?:\d{1,2}(?:\.\d{1,2})*[.、．\s]|[一二三四五六七八九十]+、|[（(][一二三四五六七八九十\d]{1,3}[)）]"
    r"|第[0-9一二三四五六七八九十]+[章节部分篇]|[-•·*▪●]\s)"
)
_CONTINUES_RE = re.compile(r"[，,、（(“‘\"—-]$")
_CLOSED_RE = re.compile(rf"[{re.escape(SENTENCE_END)}:：.…」』”\"')）】]$")


def _joiner(left: str, right: str) -> str:
    # Chinese is written without spaces; a wrap inside Latin text was a space.
    if _CJK_RE.match(left[-1]) or _CJK_RE.match(right[0]):
        return ""
    return " "


def _wrap_width(blocks: list[Block]) -> int | None:
    """The fixed width a text was hard-wrapped at, if many lines share one length."""
    lengths = [len(b.text) for b in blocks if b.kind == "paragraph" and len(b.text) >= 20]
    if len(lengths) < 3:
        return None
    width, count = Counter(lengths).most_common(1)[0]
    near = sum(1 for n in lengths if width - 2 <= n <= width + 2)
    return width if count >= 3 and near * 4 >= len(lengths) else None


def join_broken_lines(blocks: list[Block]) -> list[Block]:
    """Rejoin paragraphs split by hard line breaks, and enumerators split from their titles."""
    width = _wrap_width(blocks)
    out: list[Block] = []
    for b in blocks:
        prev = out[-1] if out else None
        if (
            prev is not None
            and prev.kind == "paragraph"
            and b.kind == "paragraph"
            and _is_wrapped(prev.text, b.text, width)
        ):
            out[-1] = replace(prev, text=prev.text + _joiner(prev.text, b.text) + b.text)
        else:
            out.append(b)
    return out


def _is_wrapped(left: str, right: str, width: int | None) -> bool:
    if _STARTS_LIKE_HEADING_RE.match(right) or _CLOSED_RE.search(left):
        return False
    if _CONTINUES_RE.search(left):
        return True  # a line never legitimately ends on a comma
    # No punctuation at the end: a wrap only when the line filled the wrap width; a short
    # unpunctuated line is a heading or label ("简历筛选") and must stay on its own.
    return width is not None and len(left) >= width - 2 and not _STARTS_LIKE_HEADING_RE.match(left)


# --- repeated blocks ----------------------------------------------------------------------

_NEAR_LONG = 80
_NEAR_JACCARD = 0.8


def _is_long(text: str, key: str) -> bool:
    """Long enough that a second copy is a copy: a sentence, not a recurring heading."""
    return len(key) >= 60 or (len(key) >= 24 and any(c in SENTENCE_END for c in text))


def dedup_key(text: str) -> str:
    """Text reduced to letters and digits, for spotting the same block copied twice."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(c for c in text if c.isalnum())


def _shingles(key: str) -> set[int]:
    # crc32 rather than hash(): str hashes are salted per process and results must be stable.
    return {zlib.crc32(key[i : i + 4].encode()) for i in range(max(1, len(key) - 3))}


def drop_repeats(blocks: list[Block]) -> list[Block]:
    """Keep the first of blocks repeated within a document.

    Long blocks go when an exact (normalised) or near copy was seen before. Short blocks —
    headings such as "结论与展望" recur in every article of a collection — go only inside a run
    of repeated blocks that copies an earlier run (a page pasted twice).
    """
    keys = [dedup_key(b.text) for b in blocks]
    first: dict[str, int] = {}
    repeat_of: list[int | None] = []
    for i, k in enumerate(keys):
        repeat_of.append(first.get(k) if k else None)
        first.setdefault(k, i)
    drop = [False] * len(blocks)
    for i, src in enumerate(repeat_of):
        if src is None:
            continue
        if _is_long(blocks[i].text, keys[i]) or _in_copied_run(i, src, repeat_of, keys):
            drop[i] = True
    _drop_near_repeats(blocks, keys, drop)
    return [b for b, d in zip(blocks, drop, strict=True) if not d]


def _in_copied_run(i: int, src: int, repeat_of: list[int | None], keys: list[str]) -> bool:
    """Block ``i`` copies ``src`` and a neighbouring long block copies ``src``'s neighbour."""
    for step in (1, -1, 2, -2, 3, -3):
        j, s = i + step, src + step
        if not (0 <= j < len(keys) and 0 <= s < len(keys)) or s == i:
            continue
        if keys[j] == keys[s] and repeat_of[j] is not None and len(keys[j]) >= 24:
            return True
    return False


def _drop_near_repeats(blocks: list[Block], keys: list[str], drop: list[bool]) -> None:
    """Drop a long block that is a near copy of a kept one.

    A near copy shares a shingle of the kept block's bottom-8 sketch and reaches a Jaccard of
    0.8 over all shingles. Which kept blocks are worth that test comes from MinHash bands (see
    ``near_candidates``), so the cost grows with the document, not with its pairs.
    """
    eligible = [
        i
        for i, k in enumerate(keys)
        if not drop[i] and len(k) >= _NEAR_LONG and blocks[i].kind not in _NOT_NEAR
    ]
    shingles = [_shingles(keys[i]) for i in eligible]
    kept: dict[int, tuple[set[int], set[int]]] = {}
    buckets = NearBuckets()
    for n, (i, bands) in enumerate(zip(eligible, band_keys(shingles), strict=True)):
        sh = shingles[n]
        sketch = set(sorted(sh)[:8])
        if any(_near_copy(sh, sketch, *kept[j]) for j in buckets.candidates(bands)):
            drop[i] = True
            continue
        kept[i] = (sh, sketch)
        buckets.add(i, bands)


_NOT_NEAR = ("heading", "faq", "passage")


def _near_copy(sh: set[int], sketch: set[int], other: set[int], other_sketch: set[int]) -> bool:
    if not sketch & other_sketch:
        return False
    small, large = sorted((len(sh), len(other)))
    if small < _NEAR_JACCARD * large - 1:  # cannot reach the threshold: skip the set algebra
        return False
    return len(sh & other) / len(sh | other) >= _NEAR_JACCARD


# --- everything ---------------------------------------------------------------------------


def clean_blocks(blocks: list[Block]) -> list[Block]:
    """Full cleaning for documents copied from the web or office files (not FAQ/corpus).

    Per block: entity debris, garbled runs, pinyin, whitespace; then boilerplate, wraps, repeats.
    """
    web = {
        i: decode_entities(remove_never_text(b.text))
        for i, b in enumerate(blocks)
        if b.kind not in ("faq", "passage")
    }
    # Probable garbage is removed only from a page that shows certain garbage somewhere.
    weak = garbage_evidence(list(web.values()))
    out = []
    for i, b in enumerate(blocks):
        if i not in web:
            out.extend(clean_whitespace([b]))
            continue
        text = normalize_whitespace(strip_garbage(normalize_whitespace(web[i]), weak=weak))
        text = normalize_whitespace(strip_pinyin(text))
        if any(c.isalnum() for c in text) and not is_pinyin_line(text):
            out.append(replace(b, text=text))
    out = join_marker_lines(out)
    out = remove_boilerplate(out)
    out = join_broken_lines(out)
    return drop_repeats(out)


def join_marker_lines(blocks: list[Block]) -> list[Block]:
    """Join an enumerator left alone on a line ("1.") with the title on the next line."""
    out: list[Block] = []
    for b in blocks:
        prev = out[-1] if out else None
        if (
            prev is not None
            and prev.kind == "paragraph"
            and b.kind == "paragraph"
            and _MARKER_ONLY_RE.match(prev.text)
        ):
            out[-1] = replace(prev, text=prev.text + _joiner(prev.text, b.text) + b.text)
        else:
            out.append(b)
    return out
