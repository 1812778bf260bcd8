"""Personal data redaction for logs: phone, ID and bank-card numbers and e-mail addresses."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

PHONE, ID, CARD, EMAIL = "[PHONE]", "[ID]", "[CARD]", "[EMAIL]"

# Matching runs on a copy with full-width ASCII (１３８…, ＋８６, ＠, （）) folded to half-width, as
# Chinese input methods often type it. The fold is one character for one, so a span found in the
# copy is the same span in the original.
_HALF_WIDTH = {0xFF01 + i: 0x21 + i for i in range(0x5E)} | {0x3000: 0x20}
_MASK = "\x00"

_B = r"(?<![0-9A-Za-z])"  # not inside a longer run of letters or digits
_E = r"(?![0-9A-Za-z])"
_SEP = r"[ \-]?"


def _rx(pattern: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(pattern, flags | re.ASCII)


_EMAIL = _rx(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")

# Mainland resident ID: 6-digit region, birth date, 3-digit sequence, check character; the
# 15-digit form issued before 1999 has a 2-digit year and no check character.
_CN_ID_18 = _rx(_B + r"\d{17}[\dXx]" + _E)
_CN_ID_15 = _rx(_B + r"\d{15}" + _E)
_CN_PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46}
    | {50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83, 91}
)
_CN_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)

# Taiwan national ID / resident certificate: letter, sex or holder digit, 8 digits.
_TW_ID = _rx(_B + r"[A-Za-z][1289]\d{8}" + _E)
_TW_LETTERS = dict(zip("ABCDEFGHJKLMNPQRSTUVXYWZIO", range(10, 36), strict=True))

# Hong Kong identity card: one or two letters, six digits, check digit often in brackets.
_HK_ID = _rx(_B + r"([A-Za-z]{1,2})(\d{6})(?:\(([\dA])\)|([\dA]))" + _E)

# Bank cards as people write them: one run of 13-19 digits, groups of four (UnionPay's 19 digits
# as 4-4-4-4-3), or American Express's 4-6-5.
_CARD = _rx(
    _B
    + r"(?:\d{13,19}|\d{4}([ \-])\d{4}\1\d{4}\1\d{4}(?:\1?\d{1,3})?|\d{4}([ \-])\d{6}\2\d{5})"
    + _E
)
# An order or tracking number may pass Luhn by chance (one in ten); right after such a word a
# long digit run is an order number, not a card.
_ORDER_CONTEXT = re.compile(
    r"(?:订单|訂單|单号|單號|运单|運單|物流|快递|快遞|order|tracking|invoice|发票|發票)"
    r"[\s#:：号號no.]{0,6}$",
    re.IGNORECASE,
)

_PHONES = (
    # Mainland mobile: 1[3-9]x xxxx xxxx, optionally +86 / 0086 / (+86), spaces or dashes.
    _rx(
        _B + r"(?:(?:\+|00)86[ \-]?|\(\+?86\) ?)?1[3-9]\d" + _SEP + r"\d{4}" + _SEP + r"\d{4}" + _E
    ),
    # Taiwan mobile: 09xx-xxx-xxx, or +886 9xx xxx xxx.
    _rx(_B + r"(?:(?:\+|00)886[ \-]?9\d{2}|09\d{2})" + _SEP + r"\d{3}" + _SEP + r"\d{3}" + _E),
    # Hong Kong: 8 digits, only with the +852 prefix (a bare 8-digit run is usually an order).
    _rx(r"(?:(?:\+|00)852 ?|\(\+?852\) ?)[2-9]\d{3}" + _SEP + r"\d{4}" + _E),
    # Landlines with a trunk 0: 010-12345678, (0755) 1234567, 02-2345-6789, 021 6123 4567 转 801.
    # 400/800 numbers never match (no trunk 0), on purpose: they are company hotlines, registered
    # to businesses and never to a person, and agents need them in the logs to see which line a
    # customer was given.
    _rx(
        _B
        + r"(?:\(0\d{1,3}\) ?|0\d{1,3}[ \-])\d{3,4}"
        + _SEP
        + r"\d{4}(?:\s*(?:转|轉|ext\.?|x)\s*\d{1,5})?"
        + _E,
        re.IGNORECASE,
    ),
    _rx(_B + r"0[1-9]\d{8,10}" + _E),
    # Any other international number in E.164 form: +, country code, 7-14 more digits.
    _rx(r"\+[1-9](?:[ \-]?\(?\d\)?){7,14}" + _E),
)


def redact(text: str) -> str:
    """Replace personal numbers and e-mail addresses in ``text`` with placeholder tokens."""
    work = text.translate(_HALF_WIDTH)
    spans: list[tuple[int, int, str]] = []

    def claim(pattern: re.Pattern[str], token: str, valid: Callable[[re.Match[str]], bool]) -> None:
        nonlocal work

        def mask(m: re.Match[str]) -> str:
            if not valid(m):
                return m.group()
            spans.append((m.start(), m.end(), token))
            return _MASK * (m.end() - m.start())

        # Masking what is claimed keeps the looser patterns that follow from re-reading its digits.
        work = pattern.sub(mask, work)

    # Most specific first: an ID or a card contains digit runs that a phone pattern would take.
    claim(_EMAIL, EMAIL, _always)
    claim(_CN_ID_18, ID, _valid_cn_id)
    claim(_TW_ID, ID, _valid_tw_id)
    claim(_HK_ID, ID, _valid_hk_id)
    claim(_CARD, CARD, _valid_card)
    claim(_CN_ID_15, ID, _valid_cn_id_15)
    for pattern in _PHONES:
        claim(pattern, PHONE, _always)

    out: list[str] = []
    pos = 0
    for start, end, token in sorted(spans):
        out += [text[pos:start], token]
        pos = end
    out.append(text[pos:])
    return "".join(out)


def redact_obj(obj: Any) -> Any:
    """Redact every string inside JSON-like data (dicts, lists, tuples); keys are kept as they are.

    Integers that read as personal numbers (a phone number sent as a JSON number) become the
    placeholder string: a log line must never carry them, whatever their type.
    """
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {key: redact_obj(value) for key, value in obj.items()}
    if isinstance(obj, list):
        return [redact_obj(item) for item in obj]
    if isinstance(obj, tuple):
        return tuple(redact_obj(item) for item in obj)
    if isinstance(obj, int) and not isinstance(obj, bool):
        as_text = str(obj)
        redacted = redact(as_text)
        return obj if redacted == as_text else redacted
    return obj


def _always(m: re.Match[str]) -> bool:
    return True


def _after_order_word(m: re.Match[str]) -> bool:
    return _ORDER_CONTEXT.search(m.string[max(0, m.start() - 20) : m.start()]) is not None


def _digits(value: str) -> list[int]:
    return [int(c) for c in value if c.isdigit()]


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        born = date(year, month, day)
    except ValueError:
        return False
    return date(1900, 1, 1) <= born <= date.today()


def _valid_cn_id(m: re.Match[str]) -> bool:
    """Region, real birth date and the ISO 7064 MOD 11-2 check character."""
    value = m.group()
    d = _digits(value[:17])
    if d[0] * 10 + d[1] not in _CN_PROVINCES:
        return False
    if not _valid_date(int(value[6:10]), int(value[10:12]), int(value[12:14])):
        return False
    check = (12 - sum(x * w for x, w in zip(d, _CN_ID_WEIGHTS, strict=True)) % 11) % 11
    return value[17].upper() == ("X" if check == 10 else str(check))


def _valid_cn_id_15(m: re.Match[str]) -> bool:
    """Pre-1999 IDs have no check digit: require a region and a real 19xx birth date."""
    value = m.group()
    d = _digits(value)
    if _after_order_word(m) or d[0] * 10 + d[1] not in _CN_PROVINCES:
        return False
    return _valid_date(1900 + int(value[6:8]), int(value[8:10]), int(value[10:12]))


def _valid_tw_id(m: re.Match[str]) -> bool:
    """Letter as two digits, weights 1 9 8 7 6 5 4 3 2 1 1, sum divisible by 10."""
    value = m.group()
    code = _TW_LETTERS[value[0].upper()]
    d = [code // 10, code % 10, *_digits(value[1:])]
    weights = (1, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1)
    return sum(x * w for x, w in zip(d, weights, strict=True)) % 10 == 0


def _valid_hk_id(m: re.Match[str]) -> bool:
    """With the check digit in brackets the shape alone is unmistakable; bare, it must verify."""
    letters, digits = m.group(1).upper(), m.group(2)
    if m.group(3):
        return True
    check = m.group(4)
    values = [36] * (2 - len(letters)) + [ord(c) - 55 for c in letters] + _digits(digits)
    total = sum(v * w for v, w in zip(values, range(9, 1, -1), strict=True))
    expected = (11 - total % 11) % 11
    return check.upper() == ("A" if expected == 10 else str(expected))


def _valid_card(m: re.Match[str]) -> bool:
    """Luhn, a plausible issuer prefix, and not right after "order"/"订单"."""
    digits = _digits(m.group())
    if not 13 <= len(digits) <= 19 or _after_order_word(m):
        return False
    prefix = int("".join(map(str, digits[:4])))
    # Issuers: Amex/JCB/Diners 3, Visa 4, Mastercard 51-55 and 2221-2720, UnionPay/Discover 6;
    # 9 only for the 16-19 digit domestic debit cards some Chinese banks still issue (so a
    # 13-digit ISBN starting 978 is never taken for a card). Timestamps and order numbers
    # starting 1, 7 or 8 are left alone.
    plausible = (
        digits[0] in (3, 4, 5, 6)
        or 2221 <= prefix <= 2720
        or (digits[0] == 9 and len(digits) >= 16)
    )
    if not plausible:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0
