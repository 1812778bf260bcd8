"""Contradictions between two answers worded alike: who bears a cost, whether something is
allowed, whether it is free, and in which unit a duration is counted. Pure functions.

Each answer is read into *claims*: a slot (the cost's bearer; what follows "可以"/"can"; a
number's unit) and the values the answer gives it. Two answers contradict each other when they
fill one slot with values that do not overlap ("由您承担" against "由云舟承担", "可以退款" against
"不可以，退款…", "7 天" against "7 个工作日"). An answer that gives both values ("质量问题由云舟
承担，其他由您承担") disagrees with neither side, so a longer answer that adds a case is not a
conflict. The text is compared folded (NFKC, lower case, Traditional → Simplified) and without
whitespace or punctuation, so two answers that differ only in those or in script never
contradict; each claim remembers the phrase as the answer words it, for the side-by-side view.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from search.normalize import aligned_fold

DifferenceKind = Literal["numbers", "payer", "permission", "charge", "unit"]
_ORDER: tuple[DifferenceKind, ...] = ("payer", "permission", "charge", "unit")

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_IS_HAN = re.compile(f"[{_HAN}]")
_WORD_CHAR = re.compile(r"[^\W_]")
_TWO_CHARS = re.compile(r"[^\W_]{2}")
_TWO_WORDS = re.compile(r" ([^\W_]+(?: [^\W_]+)?)")

# Who bears a cost. In "由 X 承担" anyone who is not the customer is the company's side
# (its name, 云舟, is not known here); elsewhere the subject must be one of these words.
_CUSTOMER = r"您|你|客户|顾客|买家|买方|用户|消费者|寄件人|自己|自行"
_COMPANY = r"我们|我司|本公司|公司|商家|卖家|本店|店铺|平台|官方"
_BEAR = r"承担|负担|支付|承付|买单|负责(?=\w{0,3}费)"
_YOU_PAY = (
    r"\b(?:you|the customer|customers?|the buyer|buyers?)"
    r"(?: (?:will|would|must|need to|needs to|have to|has to|should|also)){0,3} "
    r"(?:pay|pays|cover|covers|bear|bears)\b"
    r"|\bat your (?:own )?(?:expense|cost)\b"
    r"|\b(?:paid|covered|borne) by (?:you|the customer)\b"
)
_WE_PAY = (
    r"\b(?:we|the company|our company|the seller|the store)(?: (?:will|would|also)){0,3} "
    r"(?:pay|cover|bear)\b|\bat our (?:own )?(?:expense|cost)\b|\b(?:paid|covered|borne) by us\b"
)
_MUST = r"需要|需|须|要|得|应|来|将|会|自行|自己"
_NOT_NEEDED = re.compile(r"(?:无需|无须|不需要?|不用|不必|免)$")
_PAYER_PATTERNS: tuple[tuple[str | None, re.Pattern[str]], ...] = (
    (None, re.compile(rf"由(?!于)(?P<who>[^由]{{1,8}}?)(?:来|全额|全部|自行|自己)?(?:{_BEAR})")),
    (None, re.compile(rf"由(?P<who>{_CUSTOMER}|{_COMPANY})来?出(?![货库发现售具])")),
    ("customer", re.compile(rf"(?:{_CUSTOMER})(?:{_MUST}){{0,3}}(?:{_BEAR})")),
    ("customer", re.compile(r"自行(?:承担|支付|负担)|自费|自付|自理")),
    ("company", re.compile(rf"(?:{_COMPANY})(?:会|将|来|全额|负责){{0,3}}(?:{_BEAR}|报销)")),
    ("customer", re.compile(_YOU_PAY)),
    ("company", re.compile(_WE_PAY)),
)

# Allowed or not: the modal with what follows it. Longest first, so 不可以 is not read as 可以;
# 可 and 能 only where they are the modal, not part of 可能, 认可, 功能 …
_NEGATIVE = (
    r"恕不|不可以|不能够|不能|不可|无法|没法|没有办法|不允许|不支持|不接受|不予|不提供|不会|不得"
)
_POSITIVE = (
    r"可以|能够|允许|支持|接受|提供|"
    r"(?<![机社开大约协工聚学体理])会(?![员议场计话儿])|"
    r"(?<![认许宁])可(?![能是惜靠口爱见乐观怕])|"
    r"(?<![功智性技才本体效动节电热职产可])能(?![力源量耗效])"
)
_MODAL = re.compile(rf"(?P<neg>{_NEGATIVE})|(?P<pos>{_POSITIVE})")
_FILLER = re.compile(r"(?:为您|给您|帮您|向您|您|再|直接|正常)")
_GENERIC_VERB = {"申请", "办理", "进行", "享受", "提供", "使用", "选择", "安排", "获得", "得到"}
_MODAL_EN = re.compile(
    r"\b(?:(?P<neg>cannot|can t|can not|won t|will not|isn t|is not|aren t|are not|doesn t"
    r"|does not|don t|do not|may not|must not)|(?P<pos>can|will|is|are|does|do|may))\b"
)

# Free of charge or not (longest first: 不收费 is free).
_CHARGE = re.compile(
    r"(?P<free>免费|包邮|免运费|免邮|不收费|不收取|无需付费|不用付费|不另收费|零费用"
    r"|\bfree of charge\b|\bno (?:extra )?(?:charge|fee)s?\b|\bat no (?:extra )?(?:cost|charge)\b"
    r"|(?<!feel )\bfree\b)"
    r"|(?P<charged>收费|付费|另付|另收|有偿|收取(?=\w{0,4}费)"
    r"|\bcharged\b|\b(?:a|an extra|extra) (?:fee|charge)\b|\bcosts extra\b|\bnot free\b)"
)

# A number's unit of time (digits or Chinese numerals, compared as written); a range (3–5 个工作日)
# gives its unit to each of its numbers.
_UNITS: dict[str, str] = {
    "个工作日": "business_day", "工作日": "business_day", "个工作天": "business_day",
    "工作天": "business_day", "business days": "business_day", "business day": "business_day",
    "working days": "business_day", "working day": "business_day",
    "个自然日": "day", "自然日": "day", "天": "day", "日": "day", "calendar days": "day",
    "days": "day", "day": "day",
    "个小时": "hour", "小时": "hour", "hours": "hour", "hour": "hour",
    "个星期": "week", "星期": "week", "周": "week", "weeks": "week", "week": "week",
    "个月": "month", "月": "month", "months": "month", "month": "month",
    "年": "year", "years": "year", "year": "year",
    "分钟": "minute", "minutes": "minute",
}  # fmt: skip
_NUMERALS = "零一二两三四五六七八九十百"  # 七天, 十五个工作日
_NUM = rf"(?:\d+(?:\.\d+)?|[{_NUMERALS}]+)"
_UNIT = re.compile(
    # Numbers of a range are apart by a word or one space, never nothing: optional both, a long
    # run of digits could be split in exponentially many ways (found by the properties); and a
    # range has a few numbers, so a long list of them is read in linear time.
    rf"(?<![\d.{_NUMERALS}])(?P<numbers>{_NUM}(?:(?: ?(?:至|到|或|to|or) ?| ){_NUM}){{0,3}}) ?"
    r"(?P<unit>" + "|".join(sorted(map(re.escape, _UNITS), key=len, reverse=True)) + r")"
    r"(?![a-z])"
)
_NUMBER = re.compile(_NUM)


@dataclass(frozen=True)
class Difference:
    """What two answers disagree on, each side's phrase as that answer words it."""

    kind: DifferenceKind
    first: str
    second: str


@dataclass(frozen=True)
class _Text:
    """An answer folded and without separators, with each character's place in the original."""

    original: str
    folded: str
    origin: list[int]

    def phrase(self, start: int, end: int) -> str:
        return self.original[self.origin[start] : self.origin[end - 1] + 1]


Claims = dict[tuple[int, str], dict[str, str]]  # (kind's rank, slot) → value → first phrase


def contradiction(a: str, b: str) -> Difference | None:
    """How answer ``a`` contradicts answer ``b``, or None; symmetric (the phrases swap)."""
    first, second = claims(a), claims(b)
    for key in sorted(first.keys() & second.keys()):
        here, there = first[key], second[key]
        if here.keys().isdisjoint(there.keys()):
            return Difference(_ORDER[key[0]], _first(here), _first(there))
    return None


def claims(text: str) -> Claims:
    """Every slot ``text`` fills, with its values and the phrase that first gave each."""
    folded = _compact(text)
    found: Claims = {}
    for kind, slot, value, start, end in _mentions(folded.folded):
        values = found.setdefault((_ORDER.index(kind), slot), {})
        values.setdefault(value, folded.phrase(start, end))
    return found


def _first(values: dict[str, str]) -> str:
    return min(values.items())[1]  # by value, so the pick does not depend on the other side


def _compact(text: str) -> _Text:
    """Separators (whitespace, punctuation) dropped next to Han characters and made one space
    between words, then folded; ``origin`` maps back to ``text``."""
    kept: list[str] = []
    origin: list[int] = []
    pending = False
    for i, char in enumerate(text):
        if not _WORD_CHAR.match(char):
            pending = True
            continue
        if pending and kept and not (_IS_HAN.match(kept[-1]) or _IS_HAN.match(char)):
            kept.append(" ")
            origin.append(i)
        pending = False
        kept.append(char)
        origin.append(i)
    folded, places = aligned_fold("".join(kept))
    return _Text(text, folded, [origin[p] for p in places])


def _mentions(text: str) -> Iterator[tuple[DifferenceKind, str, str, int, int]]:
    for fixed, pattern in _PAYER_PATTERNS:
        for m in pattern.finditer(text):
            if _NOT_NEEDED.search(text[max(0, m.start() - 3) : m.start()]):
                continue  # 无需您承担: not a statement of who pays
            for who in (fixed,) if fixed else _parties(m.group("who")):
                yield "payer", "", who or "", m.start(), m.end()
    for pattern in (_MODAL, _MODAL_EN):
        for m in pattern.finditer(text):
            what, end = _object(text, m.end(), latin=pattern is _MODAL_EN)
            if what:
                yield "permission", what, "no" if m.group("neg") else "yes", m.start(), end
    for m in _CHARGE.finditer(text):
        yield "charge", "", "free" if m.group("free") else "charged", m.start(), m.end()
    for m in _UNIT.finditer(text):
        for number in _NUMBER.findall(m.group("numbers")):
            yield "unit", number, _UNITS[m.group("unit")], m.start(), m.end()


def _parties(who: str) -> tuple[str, ...]:
    customer = re.search(_CUSTOMER, who) is not None
    company = re.search(_COMPANY, who) is not None or not customer
    return tuple(p for p, present in (("customer", customer), ("company", company)) if present)


def _object(text: str, at: int, *, latin: bool) -> tuple[str, int]:
    """What a modal ending at ``at`` allows or refuses, and where that ends: its next two words
    or characters (four after a generic verb such as 申请, so 可以申请退货 and 无法申请发票 stay
    apart); empty when nothing follows."""
    if latin:
        found = _TWO_WORDS.match(text, at)
        return (found.group(1), found.end()) if found else ("", at)
    start = at + (text[at : at + 1] == " ")
    filler = _FILLER.match(text, start)
    if filler:
        start = filler.end()
    width = 4 if text[start : start + 2] in _GENERIC_VERB else 2
    head = text[start : start + width]
    return (head, start + len(head)) if _TWO_CHARS.match(head) else ("", at)
