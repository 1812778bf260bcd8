"""Decode text bytes of unknown encoding: UTF-8/16 (BOM or not), GB18030/GBK, Big5."""

from __future__ import annotations

import codecs
import contextlib
import re
from functools import lru_cache

import charset_normalizer

# Chinese full-width punctuation that a correct decode produces and a wrong one rarely does.
_CJK_PUNCT = frozenset("，。、；：？！「」『』（）《》〈〉“”‘’…—·【】〔〕～　")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")
_BIG5_CODECS = ("big5", "cp950", "big5hkscs")
_SCORED_CHARS = 50_000  # enough to tell encodings apart; scoring all of a huge file is slow


class DecodeError(ValueError):
    """The bytes are not text in any encoding we support."""


@lru_cache(maxsize=1)
def _gb2312_level1() -> frozenset[str]:
    """The 3,755 common Simplified hanzi of GB2312 level 1 (B0A1..D7F9)."""
    return _decode_range(0xB0A1, 0xD7FA, "gb2312", trails=((0xA1, 0xFE),))


@lru_cache(maxsize=1)
def _big5_level1() -> frozenset[str]:
    """The 5,401 common Traditional hanzi of Big5 level 1 (A440..C67E); C6A1 on is kana."""
    return _decode_range(0xA440, 0xC67F, "big5", trails=((0x40, 0x7E), (0xA1, 0xFE)))


def _decode_range(
    start: int, stop: int, encoding: str, trails: tuple[tuple[int, int], ...]
) -> frozenset[str]:
    chars: set[str] = set()
    for code in range(start, stop):
        trail = code & 0xFF
        if not any(lo <= trail <= hi for lo, hi in trails):
            continue
        with contextlib.suppress(UnicodeDecodeError):
            chars.add(code.to_bytes(2, "big").decode(encoding))
    return frozenset(chars)


def _frequent_hanzi() -> frozenset[str]:
    return _gb2312_level1() | _big5_level1()


def _cjk_score(text: str, native: frozenset[str]) -> float:
    """Frequent hanzi and CJK punctuation count for, anything else non-ASCII against.

    Hanzi frequent in the candidate encoding's own level 1 count fully, those frequent only
    in the other script count half: a misread Big5 text lands in GBK's Traditional extension.
    """
    other = _frequent_hanzi()
    score = 0.0
    for ch in text:
        if ch < "\x80":
            continue
        if ch in native or ch in _CJK_PUNCT:
            score += 1.0
        elif ch in other:
            score += 0.5
        else:
            score -= 1.0
    return score


def _non_ascii(text: str) -> int:
    return sum(1 for ch in text if ch >= "\x80")


def _normalise(text: str) -> str:
    # Why: Windows and old Mac line endings must not leak into blocks; NULs break storage.
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").lstrip("\ufeff")


def _utf16_without_bom(data: bytes) -> str | None:
    """Guess BOM-less UTF-16 from where the zero bytes of ASCII characters fall."""
    sample = data[:4096]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    even_zero, odd_zero = even.count(0) / len(even), odd.count(0) / len(odd)
    if odd_zero >= 0.1 and even_zero < 0.02:
        return "utf-16-le"
    if even_zero >= 0.1 and odd_zero < 0.02:
        return "utf-16-be"
    return None


def _strict(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def _utf8(data: bytes) -> str | None:
    """Strict UTF-8, forgiving only a multi-byte character cut off at the very end."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(data) - 3 and exc.reason == "unexpected end of data":
            return data[: exc.start].decode("utf-8", errors="strict")
        return None


def _best_cjk(data: bytes) -> tuple[str, str, float] | None:
    """Decode strictly as GB18030, Big5 and BOM-less UTF-16; keep the most plausible reading."""
    candidates: list[tuple[str, str, float]] = []
    gb = _strict(data, "gb18030")
    if gb is not None:
        candidates.append((gb, "gb18030", _cjk_score(gb[:_SCORED_CHARS], _gb2312_level1())))
    for name in _BIG5_CODECS:
        big5 = _strict(data, name)
        if big5 is not None:
            candidates.append((big5, name, _cjk_score(big5[:_SCORED_CHARS], _big5_level1())))
            break
    if len(data) % 2 == 0:
        for name in ("utf-16-le", "utf-16-be"):
            text = _strict(data, name)
            if text is not None and not _looks_binary(text):
                # BOM-less UTF-16 is rare: it must beat the others by a clear margin.
                candidates.append(
                    (text, name, _cjk_score(text[:_SCORED_CHARS], _frequent_hanzi()) - 2.0)
                )
    if not candidates:
        return None
    # Ties go to GB18030, the more common encoding of the two.
    return max(candidates, key=lambda c: c[2])


def _plausible(text: str) -> bool:
    """Mostly printable ASCII, frequent hanzi or CJK punctuation: a real decode, not noise."""
    frequent = _frequent_hanzi()
    good = sum(
        1
        for ch in text
        if ("\x20" <= ch < "\x7f") or ch in "\t\r\n" or ch in frequent or ch in _CJK_PUNCT
    )
    return good >= 0.8 * len(text)


def _looks_binary(text: str) -> bool:
    if not text:
        return False
    return len(_CONTROL.findall(text)) > max(2, len(text) // 50)


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode ``data`` to text with ``\\n`` line endings and no NULs; return (text, encoding)."""
    if not data:
        return "", "utf-8"
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8-sig"),):
        if data.startswith(bom):
            return _normalise(data[len(bom) :].decode("utf-8", errors="replace")), encoding
    for bom, encoding in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            body = data[len(bom) :]
            body = body[: len(body) // 2 * 2]  # a truncated file may end on half a character
            return _normalise(body.decode(encoding, errors="replace")), encoding

    utf16 = _utf16_without_bom(data)
    if utf16 is not None:
        text = _strict(data[: len(data) // 2 * 2], utf16)
        if text is not None and _plausible(text):
            return _normalise(text), utf16

    text = _utf8(data)
    if text is not None:
        if _looks_binary(text.replace("\x00", "")):
            raise DecodeError("the file looks binary, not text")
        return _normalise(text), "utf-8"

    best = _best_cjk(data)
    if best is not None and best[2] >= 0.2 * _non_ascii(best[0][:_SCORED_CHARS]):
        return _normalise(best[0]), best[1]

    # Mostly UTF-8 with a few bad bytes (e.g. files pasted together): keep it, mark the damage.
    lossy = data.decode("utf-8", errors="replace")
    if lossy.count("\ufffd") <= _non_ascii(lossy) // 100:
        return _normalise(lossy), "utf-8"

    match = charset_normalizer.from_bytes(data).best()
    if match is not None and not _looks_binary(str(match)):
        return _normalise(str(match)), match.encoding
    raise DecodeError("the text is not in any supported encoding (UTF-8, UTF-16, GB18030, Big5)")
